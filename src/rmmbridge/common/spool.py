"""The mail spool folder (Maildir-like tmp/, new/, cur/, failed/): atomic writes, exclusive claims, failures kept.

Stdlib `os` only, with str paths: `rmmbridge mailgate` runs once per mail and imports this on its spool path.
"""

from __future__ import annotations

import os
import time

#: Under RMMBRIDGE_HOME: where `rmmbridge mailgate` spools messages and the service drains them.
SPOOL_PARTS = ("spool", "mail")
FOLDERS = ("tmp", "new", "cur", "failed")
#: A claimed file (in cur/) whose drainer died, or that is older than this, goes back to new/.
STALE_CLAIM_SECONDS = 300.0
#: Largest message accepted by the mail pipe (same as the SMTP receiver's limit).
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
CLAIM_MARK = ".claimed-"
REASON_SUFFIX = ".reason"
#: Bytes allowed in a header field name (RFC 5322: printable ASCII except ':').
_FIELD_NAME = frozenset(range(0x21, 0x7F)) - {0x3A}


def spool_root(home: str | os.PathLike[str]) -> str:
    """The spool folder of a home: `<home>/spool/mail`."""
    return os.path.join(os.fspath(home), *SPOOL_PARTS)


def ensure(root: str | os.PathLike[str]) -> str:
    """Create the spool's folders (mode 0770: the mail server's user and the service's may share a group)."""
    path = os.fspath(root)
    for folder in FOLDERS:
        os.makedirs(os.path.join(path, folder), mode=0o770, exist_ok=True)
    return path


def mail_problem(data: bytes, limit: int = MAX_MESSAGE_BYTES) -> str | None:
    """Why `data` is not a message the pipe takes (empty, too large, no header at its start); None when it is."""
    if not data.strip():
        return "the message is empty; pipe the whole message (headers and body) to standard input"
    if len(data) > limit:
        return f"the message has {len(data)} bytes; at most {limit} are accepted"
    head = data.lstrip(b"\r\n")
    if head.startswith(b"From "):  # an mbox envelope line (Postfix's pipe flag F) is allowed before the headers
        head = head.partition(b"\n")[2]
    name, colon, _rest = head[:101].partition(b":")
    if not colon or not name or any(byte not in _FIELD_NAME for byte in name):
        return "standard input is not an e-mail message (it must start with header lines such as 'From: …')"
    return None


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unique_name() -> str:
    """A file name no other writer picks: time, process, random part and host (as Maildir does)."""
    host = os.uname().nodename.replace("/", "_").replace(".", "_")[:64] or "host"
    return f"{time.time_ns()}.P{os.getpid()}R{os.urandom(6).hex()}.{host}"


def write_message(root: str | os.PathLike[str], data: bytes) -> str:
    """Write one message into tmp/, fsync it, rename it into new/ and fsync new/; returns its path in new/.

    A reader never sees a half-written file: it appears in new/ whole or not at all.
    """
    base = os.fspath(root)
    name = unique_name()
    tmp = os.path.join(base, "tmp", name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o660)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    final = os.path.join(base, "new", name)
    os.rename(tmp, final)
    _fsync_dir(os.path.join(base, "new"))
    return final


def pending_names(root: str | os.PathLike[str], limit: int) -> list[str]:
    """Names waiting in new/, oldest first (names start with the time they were written)."""
    try:
        names = [n for n in os.listdir(os.path.join(os.fspath(root), "new")) if not n.startswith(".")]
    except FileNotFoundError:
        return []
    names.sort()
    return names[:limit]


def claim(root: str | os.PathLike[str], name: str) -> str | None:
    """Move new/<name> into cur/ for this process; None when another drainer took it first (rename is atomic)."""
    base = os.fspath(root)
    target = os.path.join(base, "cur", f"{name}{CLAIM_MARK}{os.getpid()}")
    try:
        os.rename(os.path.join(base, "new", name), target)
    except FileNotFoundError:
        return None
    return target


def _split_claim(file_name: str) -> tuple[str, int | None]:
    name, mark, pid = file_name.rpartition(CLAIM_MARK)
    if not mark or not pid.isdigit():
        return file_name, None
    return name, int(pid)


def original_name(claimed: str) -> str:
    return _split_claim(os.path.basename(claimed))[0]


def release(root: str | os.PathLike[str], claimed: str) -> None:
    """Put a claimed file back into new/ (it could not be stored now; a later drain tries again)."""
    os.rename(claimed, os.path.join(os.fspath(root), "new", original_name(claimed)))


def fail(root: str | os.PathLike[str], claimed: str, reason: str) -> str:
    """Move a claimed file to failed/ with `<name>.reason` beside it; nothing is deleted."""
    base = os.fspath(root)
    name = original_name(claimed)
    target = os.path.join(base, "failed", name)
    os.rename(claimed, target)
    with open(os.path.join(base, "failed", name + REASON_SUFFIX), "w", encoding="utf-8") as handle:
        handle.write(reason.strip() + "\n")
    return target


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_stale(root: str | os.PathLike[str], older_than: float = STALE_CLAIM_SECONDS) -> int:
    """Return claimed files of dead drainers (or claims older than `older_than` seconds) to new/."""
    base = os.fspath(root)
    try:
        entries = list(os.scandir(os.path.join(base, "cur")))
    except FileNotFoundError:
        return 0
    now = time.time()
    moved = 0
    for entry in entries:
        name, pid = _split_claim(entry.name)
        if pid is None:
            continue
        try:
            if _alive(pid) and now - entry.stat().st_ctime < older_than:
                continue
            os.rename(entry.path, os.path.join(base, "new", name))
        except FileNotFoundError:
            continue
        moved += 1
    return moved
