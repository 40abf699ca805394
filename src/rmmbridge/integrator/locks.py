"""Named locks with a token, an expiry and background renewal: Redis (distributed) or a database row (embedded)."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction

from rmmbridge.common.clock import utcnow

logger = logging.getLogger(__name__)

def key_prefix() -> str:
    """Prefix of lock keys in Redis (RMMBRIDGE_REDIS_PREFIX, default rmmbridge), for deployments sharing a Redis."""
    return os.environ.get("RMMBRIDGE_REDIS_PREFIX", "rmmbridge") + ":lock:"


_RENEW_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class LockBusy(Exception):
    """Someone else holds the lock."""


def default_ttl() -> float:
    """Lock lifetime in seconds without renewal (RMMBRIDGE_LOCK_TTL, default 60)."""
    return float(os.environ.get("RMMBRIDGE_LOCK_TTL", "60"))


def holder_name() -> str:
    """host:pid:thread of the current holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def integration_lock_name(integration_id: int) -> str:
    """The one lock every job of an integration takes."""
    return f"integration:{integration_id}"


class Lock(Protocol):
    """What both backends offer."""

    name: str
    token: str

    def acquire(self) -> bool: ...
    def renew(self) -> bool: ...
    def release(self) -> None: ...
    def is_held_by_anyone(self) -> bool: ...


class RedisLock:
    """SET NX PX with a random token; renew and release only while the token still matches."""

    def __init__(self, name: str, *, ttl: float | None = None, url: str | None = None) -> None:
        import redis

        self.name = name
        self.key = key_prefix() + name
        self.ttl_ms = int((ttl or default_ttl()) * 1000)
        self.token = secrets.token_hex(16)
        self.client: Any = redis.Redis.from_url(url or settings.REDIS_URL, socket_timeout=5)

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        return bool(self.client.eval(_RENEW_SCRIPT, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> None:
        self.client.eval(_RELEASE_SCRIPT, 1, self.key, self.token)

    def is_held_by_anyone(self) -> bool:
        return bool(self.client.exists(self.key))


class DatabaseLock:
    """A row in IntegratorLock: insert to take it, take over only once expired, delete by token to release."""

    def __init__(self, name: str, *, ttl: float | None = None) -> None:
        self.name = name
        self.ttl = timedelta(seconds=ttl or default_ttl())
        self.token = secrets.token_hex(16)

    def acquire(self) -> bool:
        from rmmbridge.integrator.models import IntegratorLock

        now = utcnow()
        try:
            with transaction.atomic():
                IntegratorLock.objects.create(
                    name=self.name, token=self.token, holder=holder_name(), expires_at=now + self.ttl
                )
            return True
        except IntegrityError:
            taken = IntegratorLock.objects.filter(name=self.name, expires_at__lt=now).update(
                token=self.token, holder=holder_name(), expires_at=now + self.ttl
            )
            return taken == 1

    def renew(self) -> bool:
        from rmmbridge.integrator.models import IntegratorLock

        return (
            IntegratorLock.objects.filter(name=self.name, token=self.token).update(expires_at=utcnow() + self.ttl)
            == 1
        )

    def release(self) -> None:
        from rmmbridge.integrator.models import IntegratorLock

        IntegratorLock.objects.filter(name=self.name, token=self.token).delete()

    def is_held_by_anyone(self) -> bool:
        from rmmbridge.integrator.models import IntegratorLock

        return IntegratorLock.objects.filter(name=self.name, expires_at__gte=utcnow()).exists()


def backend() -> str:
    """redis in distributed mode, db in embedded mode; RMMBRIDGE_LOCK_BACKEND overrides."""
    chosen = os.environ.get("RMMBRIDGE_LOCK_BACKEND", "").strip().lower()
    if chosen in {"redis", "db"}:
        return chosen
    return "redis" if settings.RUN_MODE == "distributed" else "db"


def make_lock(name: str, *, ttl: float | None = None) -> Lock:
    """A lock object of the configured backend (not yet acquired)."""
    if backend() == "redis":
        return RedisLock(name, ttl=ttl)
    return DatabaseLock(name, ttl=ttl)


class HeldLock:
    """A lock being held, renewed by a daemon thread every third of its lifetime; `lost` turns True if renewal fails."""

    def __init__(self, lock: Lock, ttl: float) -> None:
        self.lock = lock
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, args=(ttl / 3,), daemon=True, name=f"lock-{lock.name}")

    def _renew_loop(self, every: float) -> None:
        try:
            while not self._stop.wait(every):
                try:
                    if not self.lock.renew():
                        self.lost = True
                        logger.warning("Lock %s was lost (expired and taken over)", self.lock.name)
                        return
                except Exception:
                    logger.exception("Renewing lock %s failed; will try again", self.lock.name)
        finally:
            if isinstance(self.lock, DatabaseLock):
                close_old_connections()
                connection.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@contextmanager
def hold(name: str, *, ttl: float | None = None) -> Iterator[HeldLock]:
    """Hold lock `name` for the duration of the block, renewing it; raise LockBusy when someone else holds it."""
    lifetime = ttl or default_ttl()
    lock = make_lock(name, ttl=lifetime)
    if not lock.acquire():
        raise LockBusy(f"{name} is held by another worker")
    held = HeldLock(lock, lifetime)
    held.start()
    try:
        yield held
    finally:
        held.stop()
        lock.release()
