"""`rmmbridge mailgate`: a stdlib-only mail pipe for MTAs; posts one message to the service or spools it."""

from __future__ import annotations

import os
import sys

from rmmbridge.common.spool import MAX_MESSAGE_BYTES, ensure, mail_problem, spool_root, write_message

TYPE_CHECKING = False  # not typing's: importing typing costs this short-lived process ~5 ms
if TYPE_CHECKING:
    from typing import Any, BinaryIO

# Exit codes (sysexits.h): the MTA defers the message on 75 and retries it; on the others it bounces.
EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_TEMPFAIL = 75

TOKEN_ENV = "RMMBRIDGE_MAILGATE_TOKEN"
URL_ENV = "RMMBRIDGE_MAILGATE_URL"
INTAKE_PATH = "/intake/mail/"
DEFAULT_TIMEOUT = 30.0

USAGE = f"""usage: rmmbridge mailgate [--url URL | --spool DIR] [--token-file FILE] [--max-bytes N] [--timeout S]

Reads one e-mail message on standard input and hands it to rmmbridge, for mail servers that pipe each
message to a program (Postfix pipe(8), Exim's pipe transport, an aliases entry).

  --url URL          POST the message to the running service (its base URL, or the full {INTAKE_PATH}
                     URL; default ${URL_ENV}). The API token (scope write) comes from --token-file or
                     ${TOKEN_ENV}, never from the command line.
  --spool DIR        write the message into the spool folder DIR instead (tmp/ → fsync → new/), which the
                     service drains. Without --url this is the default: $RMMBRIDGE_HOME/spool/mail.
  --token-file FILE  file holding the API token (one line).
  --max-bytes N      refuse larger messages (default {MAX_MESSAGE_BYTES}).
  --timeout S        seconds to wait for the service (default {DEFAULT_TIMEOUT:g}).
  -q, --quiet        print nothing on success (default: one line on standard error).

Exit status: 0 delivered; 64 wrong usage; 65 the input is not an acceptable message (empty, garbage,
too large: the MTA bounces it); 75 temporary failure (service down or busy, database locked, token
missing or refused, spool not writable: the MTA keeps the message and tries again).
"""


class GateError(Exception):
    """Why the message was not delivered, with the exit code the MTA acts on."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Options:
    """The command line (a plain class: importing dataclasses costs this short-lived process ~10 ms)."""

    def __init__(self) -> None:
        self.url = ""
        self.spool = ""
        self.token_file = ""
        self.max_bytes = MAX_MESSAGE_BYTES
        self.timeout = DEFAULT_TIMEOUT
        self.quiet = False


def parse_args(argv: list[str]) -> Options:
    """The options (a small hand parser: argparse alone costs this short-lived process more than its work)."""
    options = Options()
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, inline = arg.partition("=")
        if arg in ("-h", "--help"):
            raise GateError(EX_OK, USAGE)
        if arg in ("-q", "--quiet"):
            options.quiet = True
            continue
        if name in ("--token", "-t"):
            raise GateError(EX_USAGE, "mailgate: the token is never given on the command line (other users see it "
                                      f"in the process list); use --token-file FILE or ${TOKEN_ENV}.")
        if name not in ("--url", "--spool", "--token-file", "--max-bytes", "--timeout"):
            raise GateError(EX_USAGE, f"mailgate: unknown option {arg!r}.\n{USAGE}")
        if eq:
            value = inline
        elif args:
            value = args.pop(0)
        else:
            raise GateError(EX_USAGE, f"mailgate: {name} needs a value.")
        try:
            if name == "--max-bytes":
                options.max_bytes = int(value)
            elif name == "--timeout":
                options.timeout = float(value)
            else:
                setattr(options, name[2:].replace("-", "_"), value)
        except ValueError:
            raise GateError(EX_USAGE, f"mailgate: {name} expects a number; got {value!r}.") from None
    if options.url and options.spool:
        raise GateError(EX_USAGE, "mailgate: give either --url or --spool, not both.")
    if options.max_bytes <= 0 or options.timeout <= 0:
        raise GateError(EX_USAGE, "mailgate: --max-bytes and --timeout must be positive.")
    return options


def read_message(stream: BinaryIO, limit: int) -> bytes:
    """Standard input up to `limit` bytes; a clear EX_DATAERR when it is empty, larger or not a message."""
    read = stream.read
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = read(min(1 << 20, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    if len(data) > limit:
        raise GateError(EX_DATAERR, f"mailgate: the message is larger than {limit} bytes; not delivered.")
    problem = mail_problem(data, limit)
    if problem:
        raise GateError(EX_DATAERR, f"mailgate: {problem}.")
    return data


def read_token(options: Options) -> str:
    """The API token from --token-file, else the environment; EX_TEMPFAIL when there is none (mail is kept)."""
    if options.token_file:
        try:
            with open(options.token_file, encoding="utf-8") as handle:
                text = handle.read().strip()
        except OSError as exc:
            raise GateError(EX_TEMPFAIL, f"mailgate: cannot read the token file {options.token_file}: "
                                         f"{exc.strerror or exc}; the mail server will try again.") from None
        if not text:
            raise GateError(EX_TEMPFAIL, f"mailgate: the token file {options.token_file} is empty; put an API "
                                         "token with scope write in it (rmmbridge token create).")
        return text.splitlines()[0].strip()
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise GateError(EX_TEMPFAIL, f"mailgate: no API token: give --token-file FILE or set ${TOKEN_ENV} (an API "
                                     "token with scope write, from rmmbridge token create); the mail server will "
                                     "try again.")
    return token


def _target(url: str) -> tuple[str, str, int, str]:
    """scheme, host, port and the intake path of --url (parsed by hand: urllib.parse costs this process ~5 ms)."""
    scheme, sep, rest = url.strip().partition("://")
    scheme = scheme.lower()
    authority, slash, path = rest.partition("/")
    authority = authority.rpartition("@")[2]
    if authority.startswith("["):  # an IPv6 literal: [::1]:8000
        host, _, port_text = authority[1:].partition("]")
        port_text = port_text.lstrip(":")
    else:
        host, _, port_text = authority.partition(":")
    if not sep or scheme not in ("http", "https") or not host or (port_text and not port_text.isdigit()):
        raise GateError(EX_USAGE, f"mailgate: --url must be an http(s) URL such as http://127.0.0.1:8000; got {url!r}.")
    path = "/" + path.split("?", 1)[0].strip("/") if slash else ""
    if not path.rstrip("/").endswith(INTAKE_PATH.rstrip("/")):
        path = path.rstrip("/") + INTAKE_PATH.rstrip("/")
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    return scheme, host, port, path.rstrip("/") + "/"


def _read_response(sock: Any) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the answer: read until its Content-Length is complete, or until close."""
    data = b""
    expected: int | None = None
    while expected is None or len(data) < expected:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if expected is None and b"\r\n\r\n" in data:
            head = data.partition(b"\r\n\r\n")[0].lower()
            for line in head.split(b"\r\n")[1:]:
                if line.startswith(b"content-length:") and line[15:].strip().isdigit():
                    expected = len(head) + 4 + int(line[15:].strip())
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_parts = lines[0].split(" ", 2)
    if not status_parts[0].startswith("HTTP/") or len(status_parts) < 2 or not status_parts[1].isdigit():
        raise GateError(EX_TEMPFAIL, "mailgate: the service sent no HTTP answer; the mail server will try again.")
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(status_parts[1]), headers, body


def _connect(module: Any, host: str, port: int, timeout: float) -> Any:
    """A connected TCP socket (each address getaddrinfo gives, in order), as socket.create_connection does."""
    last: OSError | None = None
    # An ASCII host goes as bytes: a str is encoded with the idna codec, whose import costs ~10 ms here.
    name: str | bytes = host.encode("ascii") if host.isascii() else host
    for family, kind, proto, _name, address in module.getaddrinfo(name, port, 0, module.SOCK_STREAM):
        sock = module.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise last or OSError(f"no address for {host}")


def post(options: Options, data: bytes, token: str) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 POST over a plain socket (TLS for https), Connection: close; returns status, headers, body."""
    import _socket  # the C module: `socket` itself imports enum and selectors (~15 ms for this process)

    scheme, host, port, path = _target(options.url)
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request = (f"POST {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n"
               f"Content-Type: message/rfc822\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
               "User-Agent: rmmbridge-mailgate\r\n\r\n").encode("latin-1")
    try:
        sock = _connect(_socket, host, port, options.timeout)
    except OSError as exc:
        raise GateError(EX_TEMPFAIL, f"mailgate: cannot reach the service at {options.url} ({exc.strerror or exc}); "
                                     "the mail server keeps the message and tries again.") from None
    try:
        if scheme == "https":
            import socket
            import ssl

            plain = socket.socket(fileno=sock.detach())
            plain.settimeout(options.timeout)
            sock = ssl.create_default_context().wrap_socket(plain, server_hostname=host)
        try:
            sock.sendall(request + data)
        except (BrokenPipeError, ConnectionResetError) as exc:
            sent_error: OSError | None = exc  # the service answered early (e.g. 413) and closed: read its answer
        else:
            sent_error = None
        try:
            return _read_response(sock)
        except TimeoutError:
            raise
        except OSError:
            raise sent_error or GateError(EX_TEMPFAIL, "mailgate: the service closed the connection without an "
                                                       "answer; the mail server will try again.") from None
    except TimeoutError:
        raise GateError(EX_TEMPFAIL, f"mailgate: the service did not answer within {options.timeout:g} s; the mail "
                                     "server will try again.") from None
    except OSError as exc:
        raise GateError(EX_TEMPFAIL, f"mailgate: the connection to {options.url} failed ({exc}); the mail server "
                                     "will try again.") from None
    finally:
        sock.close()


def _answer_text(body: bytes) -> str:
    import json  # only when there is something to print (json imports re: ~5 ms)

    try:
        answer = json.loads(body.decode("utf-8", errors="replace"))
    except ValueError:
        return body.decode("utf-8", errors="replace").strip()[:300]
    if isinstance(answer, dict):
        if answer.get("event_id"):
            ticket = f", ticket #{answer['ticket_id']}" if answer.get("ticket_id") else ""
            reason = f": {str(answer['reason'])[:200]}" if answer.get("reason") else ""
            return f"stored as alert event #{answer['event_id']} ({answer.get('status', 'pending')}{ticket}){reason}"
        for key in ("error", "detail"):
            if answer.get(key):
                return str(answer[key])[:300]
    return str(answer)[:300]


def deliver_http(options: Options, data: bytes) -> str:
    """POST the message; what happened on success, else GateError with the exit code for the MTA."""
    token = read_token(options)
    status, headers, body = post(options, data, token)
    if 200 <= status < 300:
        if options.quiet:
            return ""
        text = _answer_text(body)
        return f"mailgate: {text}" if text else "mailgate: delivered."
    text = _answer_text(body)
    if status in (400, 413, 415, 422):
        raise GateError(EX_DATAERR, f"mailgate: the service refused the message ({status}): {text}")
    if status in (401, 403):
        raise GateError(EX_TEMPFAIL, f"mailgate: the service refused the API token ({status}): {text} Fix the "
                                     "token; the mail server keeps the message and tries again.")
    retry = f" (Retry-After {headers['retry-after']} s)" if headers.get("retry-after") else ""
    raise GateError(EX_TEMPFAIL, f"mailgate: the service answered {status}{retry}: {text or 'no details'}; the "
                                 "mail server will try again.")


def deliver_spool(options: Options, data: bytes) -> str:
    """Write the message into the spool folder (atomically); EX_TEMPFAIL when it cannot be written."""
    if options.spool:
        root = os.path.expanduser(options.spool)
    else:
        from rmmbridge.common.homepath import locate_home

        root = spool_root(locate_home())
    try:
        path = write_message(ensure(root), data)
    except OSError as exc:
        raise GateError(EX_TEMPFAIL, f"mailgate: cannot write into the spool folder {root}: {exc.strerror or exc} "
                                     "(check that it exists and this user may write to it); the mail server "
                                     "will try again.") from None
    return f"mailgate: spooled as {os.path.basename(path)}"


def run(argv: list[str]) -> int:
    """Parse, read, deliver; prints one line on standard error and returns the exit status."""
    try:
        options = parse_args(argv)
        if not options.url:
            options.url = os.environ.get(URL_ENV, "").strip() if not options.spool else ""
        data = read_message(sys.stdin.buffer, options.max_bytes)
        message = deliver_http(options, data) if options.url else deliver_spool(options, data)
    except GateError as exc:
        print(exc.message.rstrip(), file=sys.stdout if exc.code == EX_OK else sys.stderr)
        return exc.code
    if not options.quiet:
        print(message, file=sys.stderr)
    return EX_OK


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(list(sys.argv[1:] if argv is None else argv)))
