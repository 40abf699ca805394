"""A tiny IMAP4rev1 server for tests: one INBOX, LOGIN, SELECT, UID SEARCH/FETCH/STORE, IDLE; loopback only."""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Mailbox:
    """Messages by UID with their flags; `stored` lists the STORE commands received."""

    messages: dict[int, bytes] = field(default_factory=dict)
    flags: dict[int, set[str]] = field(default_factory=dict)
    user: str = "alerts"
    password: str = "secret"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes) -> int:
        with self.lock:
            uid = max(self.messages, default=0) + 1
            self.messages[uid] = raw
            self.flags[uid] = set()
            return uid

    def seen(self, uid: int) -> bool:
        return "\\Seen" in self.flags.get(uid, set())


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def send(self, line: str | bytes) -> None:
        self.wfile.write(line if isinstance(line, bytes) else line.encode())
        self.wfile.flush()

    def handle(self) -> None:
        box = self.server.mailbox
        self.send("* OK tiny IMAP ready\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            text = line.decode().rstrip("\r\n")
            tag, _, rest = text.partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "UID":
                sub, _, args = args.partition(" ")
                command = "UID " + sub.upper()
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 IDLE\r\n" + f"{tag} OK done\r\n")
            elif command == "LOGIN":
                user, password = [p.strip('"') for p in args.split(" ", 1)]
                ok = (user, password) == (box.user, box.password)
                self.send(f"{tag} OK logged in\r\n" if ok else f"{tag} NO bad credentials\r\n")
            elif command in {"SELECT", "EXAMINE"}:
                with box.lock:
                    count = len(box.messages)
                self.send(f"* {count} EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen)\r\n"
                          f"* OK [UIDVALIDITY 1]\r\n{tag} OK [READ-WRITE] selected\r\n")
            elif command == "UID SEARCH":
                with box.lock:
                    uids = [u for u in sorted(box.messages) if "UNSEEN" not in args.upper() or not box.seen(u)]
                self.send(f"* SEARCH {' '.join(map(str, uids))}\r\n".replace("SEARCH \r", "SEARCH\r")
                          + f"{tag} OK search done\r\n")
            elif command == "UID FETCH":
                uid = int(args.split(" ", 1)[0])
                raw = box.messages[uid]
                seq = sorted(box.messages).index(uid) + 1
                self.send(f"* {seq} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
                self.send(f"{tag} OK fetch done\r\n")
            elif command == "UID STORE":
                uid = int(args.split(" ", 1)[0])
                found = re.findall(r"\\\\?\w+", args.split("(", 1)[1]) if "(" in args else []
                with box.lock:
                    box.flags[uid].update(f if f.startswith("\\") else "\\" + f for f in found)
                seq = sorted(box.messages).index(uid) + 1
                self.send(f"* {seq} FETCH (UID {uid} FLAGS ({' '.join(sorted(box.flags[uid]))}))\r\n"
                          f"{tag} OK store done\r\n")
            elif command == "IDLE":
                self.send("+ idling\r\n")
                self.rfile.readline()  # DONE
                self.send(f"{tag} OK idle done\r\n")
            elif command == "NOOP":
                self.send(f"{tag} OK\r\n")
            elif command == "LOGOUT":
                self.send(f"* BYE\r\n{tag} OK bye\r\n")
                return
            else:
                self.send(f"{tag} BAD unknown command {command}\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mailbox: Mailbox


@contextmanager
def serve_imap(mailbox: Mailbox) -> Iterator[int]:
    """Serve `mailbox` on 127.0.0.1 at a free port; yields the port."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.mailbox = mailbox
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
