"""Honest floors for bench/sync.py: a plain httpx page loop, and a raw executemany of the rows a sync wrote."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

#: The tables a first sync of devices fills, in insert order (assets before the refs and audit rows naming them).
TABLES = ("servicedesk_asset", "integrations_externalref", "servicedesk_auditentry")


def _pages(client: httpx.Client, path: str, items_key: str) -> int:
    """GET every page of a Datto RMM list, following pageDetails.nextPageUrl; json.loads only; items counted."""
    url: str | None = f"{path}?max=250&page=0"
    count = 0
    while url:
        response = client.get(url)
        response.raise_for_status()
        page = json.loads(response.content)
        count += len(page[items_key])
        following = (page.get("pageDetails") or {}).get("nextPageUrl")
        if following:
            parts = urlsplit(following)
            url = parts.path + (f"?{parts.query}" if parts.query else "")
        else:
            url = None
    return count


def fetch_floor(credentials: dict[str, Any]) -> tuple[float, int]:
    """(seconds, devices) of a plain loop over the sync's pages: token, sites, devices; nothing parsed further."""
    started = time.perf_counter()
    with httpx.Client(base_url=credentials["api_url"], timeout=60) as client:
        token = client.post("/auth/oauth/token", auth=("public-client", "public"),
                            data={"grant_type": "password", "username": credentials["api_key"],
                                  "password": credentials["api_secret"]})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {json.loads(token.content)['access_token']}"
        _pages(client, "/api/v2/account/sites", "sites")
        devices = _pages(client, "/api/v2/account/devices", "devices")
    return time.perf_counter() - started, devices


class WriteFloor:
    """A copy of the migrated schema taken before the first sync; `measure` re-inserts the sync's rows into it."""

    def __init__(self, vendor: str, settings: dict[str, Any]) -> None:
        self.vendor = vendor
        self.settings = settings
        self.marks: dict[str, int] = {}
        if vendor == "sqlite":
            self.copy = f"{settings['NAME']}.floor"
            source = sqlite3.connect(settings["NAME"])  # the backup API copies a WAL database consistently
            target = sqlite3.connect(self.copy)
            source.backup(target)
            source.close()
            target.close()
        else:
            import psycopg
            from django.db import connection

            connection.close()  # a template database must have no other session
            self.copy = f"{settings['NAME']}_floor"
            with psycopg.connect(**self._pg("postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.copy}"')
                admin.execute(f'CREATE DATABASE "{self.copy}" TEMPLATE "{settings["NAME"]}"')

    def _pg(self, name: str) -> dict[str, Any]:
        s = self.settings
        return {"dbname": name, "user": s.get("USER") or "postgres", "host": s.get("HOST") or "127.0.0.1",
                "port": int(s.get("PORT") or 5432), "password": s.get("PASSWORD") or None}

    def mark(self) -> None:
        """Remember the highest id per table: the rows above it are the ones the sync writes."""
        from django.db import connection

        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
                self.marks[table] = int(cursor.fetchone()[0])

    def _rows(self) -> list[tuple[str, list[str], list[tuple[Any, ...]]]]:
        """The rows written since `mark`, as plain tuples straight from the database driver."""
        found = []
        if self.vendor == "sqlite":
            db = sqlite3.connect(self.settings["NAME"])
            for table in TABLES:
                cursor = db.execute(f"SELECT * FROM {table} WHERE id > ? ORDER BY id", [self.marks[table]])
                found.append((table, [d[0] for d in cursor.description], cursor.fetchall()))
            db.close()
            return found
        import psycopg
        from psycopg.types.json import Jsonb

        with psycopg.connect(**self._pg(self.settings["NAME"])) as db:
            for table in TABLES:
                cursor = db.execute(f"SELECT * FROM {table} WHERE id > %s ORDER BY id", [self.marks[table]])
                rows = [tuple(Jsonb(v) if isinstance(v, dict | list) else v for v in row) for row in cursor]
                found.append((table, [d.name for d in cursor.description or ()], rows))
        return found

    def measure(self) -> tuple[float, dict[str, int]]:
        """(seconds, rows per table) of executemany + commit of the sync's rows into the schema copy."""
        found = self._rows()
        if self.vendor == "sqlite":
            db: Any = sqlite3.connect(self.copy)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            mark = "?"
        else:
            import psycopg

            db = psycopg.connect(**self._pg(self.copy))
            db.execute("SET session_replication_role = replica")  # no foreign key triggers: a lower floor
            db.commit()
            mark = "%s"
        started = time.perf_counter()
        cursor = db.cursor()
        for table, columns, rows in found:
            names = ", ".join(f'"{c}"' for c in columns)
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})", rows)
        db.commit()
        elapsed = time.perf_counter() - started
        db.close()
        return elapsed, {table: len(rows) for table, _, rows in found}

    def drop(self) -> None:
        if self.vendor == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                _unlink(self.copy + suffix)
            return
        import psycopg

        with psycopg.connect(**self._pg("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.copy}"')


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def best_of(runs: int, measure: Callable[[], tuple[float, int]], before: Callable[[], None],
            after: Callable[[], None]) -> tuple[float, int, Sequence[float]]:
    """The best of `runs` timed calls, each wrapped by the rate-limit pacing calls `before` / `after`."""
    times: list[float] = []
    count = 0
    for _ in range(runs):
        before()
        elapsed, count = measure()
        after()
        times.append(elapsed)
    return min(times), count, times
