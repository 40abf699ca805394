"""Embedded mode (`rmmbridge serve`): the SMTP receiver (RMMBRIDGE_SMTP_PORT), IMAP polling, the mail spool drainer."""

from __future__ import annotations

import logging
import os
import threading

logger = logging.getLogger(__name__)

_started = threading.Lock()
_stop = threading.Event()


def imap_interval() -> float:
    """Seconds between passes over the enabled IMAP mailboxes (RMMBRIDGE_IMAP_POLL_SECONDS, default 60)."""
    try:
        return max(float(os.environ.get("RMMBRIDGE_IMAP_POLL_SECONDS", "60")), 5.0)
    except ValueError:
        return 60.0


def _imap_loop() -> None:
    from django.db import close_old_connections

    from rmmbridge.alerts.intake.imap import poll_stored
    from rmmbridge.alerts.models import Mailbox

    while not _stop.wait(imap_interval()):
        close_old_connections()
        try:
            for mailbox in Mailbox.objects.filter(enabled=True):
                result = poll_stored(mailbox)
                logger.info("%s", result.message)
        except Exception:
            logger.exception("IMAP polling failed; trying again in %s s", imap_interval())


def spool_interval() -> float:
    """Seconds between passes over the mail spool (RMMBRIDGE_SPOOL_POLL_SECONDS, default 1)."""
    try:
        return max(float(os.environ.get("RMMBRIDGE_SPOOL_POLL_SECONDS", "1")), 0.05)
    except ValueError:
        return 1.0


def _spool_loop() -> None:
    from django.db import close_old_connections

    from rmmbridge.alerts.intake.spool import default_root, drain
    from rmmbridge.common.spool import ensure

    try:
        ensure(default_root())
    except OSError as exc:
        logger.error("mail spool %s cannot be created (%s); `rmmbridge mailgate --spool` mail waits there",
                     default_root(), exc)
    while not _stop.wait(spool_interval()):
        close_old_connections()
        try:
            result = drain()
            if result.stored or result.failed:
                logger.info("%s", result.message)
        except Exception:
            logger.exception("mail spool drain failed; trying again in %s s", spool_interval())


def start() -> None:
    """Start the SMTP receiver (if configured) and the IMAP poller, once per process."""
    if not _started.acquire(blocking=False):
        return
    port = os.environ.get("RMMBRIDGE_SMTP_PORT", "").strip()
    if port:
        from rmmbridge.alerts.intake.smtp import SMTPReceiver

        host = os.environ.get("RMMBRIDGE_SMTP_HOST", "127.0.0.1").strip() or "127.0.0.1"
        try:
            SMTPReceiver(host, int(port)).start()
            logger.info("SMTP receiver for alert e-mail on %s:%s", host, port)
        except (OSError, ValueError) as exc:
            logger.error("SMTP receiver not started on %s:%s: %s", host, port, exc)
    threading.Thread(target=_imap_loop, name="alerts-imap", daemon=True).start()
    threading.Thread(target=_spool_loop, name="alerts-mail-spool", daemon=True).start()
