"""`rmmbridge mailgate` as the MTA runs it (a real process per mail) against a live server and a real spool folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from rmmbridge.alerts.intake.spool import FILE_HEADER, drain
from rmmbridge.alerts.models import AlertEvent, EventStatus
from rmmbridge.api.tokens import do_create_token
from rmmbridge.common import spool
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets.models import Ticket

from .conftest import Desk, datto_mail

pytestmark = pytest.mark.django_db(transaction=True)


def mailgate(*args: str, stdin: bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """One mailgate process, as Postfix's pipe(8) starts it: the message on stdin, nothing else shared."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RMMBRIDGE_MAILGATE")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "rmmbridge", "mailgate", *args], input=stdin, env=environment,
                          capture_output=True, timeout=60, check=False)


def write_token(tmp_path: Path, desk: Desk, scope: str = "write") -> Path:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("mailer", "mailer@example.com", "pw-unused-123")
    _token, raw = do_create_token(Actor.cli("test"), user, scope=scope, name="postfix")
    path = tmp_path / "mailgate.token"
    path.write_text(raw + "\n")
    path.chmod(0o600)
    return path


def settled(check: Any, timeout: float = 30.0) -> None:
    """Wait until `check()` holds: the intake answers 202 once the mail is stored; processing follows."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the stored mail was not processed in time"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_mailgate_over_http_opens_a_ticket(desk: Desk, live_server: Any, tmp_path: Path) -> None:
    token = write_token(tmp_path, desk)
    message = datto_mail("mg-1")
    done = mailgate("--url", live_server.url, "--token-file", str(token), stdin=message)
    assert done.returncode == 0, done.stderr
    assert b"stored as alert event #" in done.stderr
    assert b"(pending)" in done.stderr
    event = AlertEvent.objects.get()
    settled(lambda: AlertEvent.objects.get().status != EventStatus.PENDING)
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED, event.reason
    assert bytes(event.raw) == message  # stored byte for byte
    ticket = Ticket.objects.get(pk=event.ticket_id)
    assert list(ticket.assets.all()) == [desk.asset]


def test_token_from_the_environment_and_the_full_intake_url(desk: Desk, live_server: Any, tmp_path: Path) -> None:
    raw = write_token(tmp_path, desk).read_text().strip()
    done = mailgate("--url", f"{live_server.url}/intake/mail/", stdin=datto_mail("mg-env"),
                    env={"RMMBRIDGE_MAILGATE_TOKEN": raw})
    assert done.returncode == 0, done.stderr
    settled(lambda: Ticket.objects.count() == 1)


def test_service_down_exits_75_and_the_mta_retry_delivers(desk: Desk, live_server: Any, tmp_path: Path) -> None:
    token = write_token(tmp_path, desk)
    message = datto_mail("mg-retry")
    down = mailgate("--url", f"http://127.0.0.1:{free_port()}", "--token-file", str(token), "--timeout", "5",
                    stdin=message)
    assert down.returncode == 75, down.stderr
    assert b"cannot reach the service" in down.stderr
    assert b"tries again" in down.stderr
    assert AlertEvent.objects.count() == 0
    # The MTA keeps the deferred message and runs the pipe again later with the same bytes.
    again = mailgate("--url", live_server.url, "--token-file", str(token), stdin=message)
    assert again.returncode == 0, again.stderr
    settled(lambda: Ticket.objects.count() == 1)
    # A retry the MTA makes after the service had already stored it (answer lost) opens no second ticket.
    twice = mailgate("--url", live_server.url, "--token-file", str(token), stdin=message)
    assert twice.returncode == 0, twice.stderr
    settled(lambda: not AlertEvent.objects.filter(status=EventStatus.PENDING).exists())
    assert AlertEvent.objects.count() == 2
    assert Ticket.objects.count() == 1
    assert AlertEvent.objects.order_by("id").last().status == EventStatus.DUPLICATE


def test_a_service_that_never_answers_exits_75(tmp_path: Path) -> None:
    """A hung service (it accepts the connection, then says nothing): mailgate gives up after --timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        started = time.monotonic()
        done = mailgate("--url", f"http://127.0.0.1:{port}", "--timeout", "1", stdin=datto_mail("mg-hung"),
                        env={"RMMBRIDGE_MAILGATE_TOKEN": "rmb_" + "h" * 40})
    assert done.returncode == 75, done.stderr
    assert b"did not answer within 1 s" in done.stderr
    assert time.monotonic() - started < 30


def test_missing_wrong_and_read_only_tokens_defer_the_mail(desk: Desk, live_server: Any, tmp_path: Path) -> None:
    message = datto_mail("mg-token")
    missing = mailgate("--url", live_server.url, stdin=message)
    assert missing.returncode == 75
    assert b"no API token" in missing.stderr
    assert b"--token-file" in missing.stderr
    wrong = tmp_path / "wrong.token"
    wrong.write_text("rmb_" + "x" * 40)
    refused = mailgate("--url", live_server.url, "--token-file", str(wrong), stdin=message)
    assert refused.returncode == 75
    assert b"refused the API token (401)" in refused.stderr
    assert b"not valid" in refused.stderr
    read_only = write_token(tmp_path, desk, scope="read")
    limited = mailgate("--url", live_server.url, "--token-file", str(read_only), stdin=message)
    assert limited.returncode == 75
    assert b"(403)" in limited.stderr
    assert b"scope write" in limited.stderr
    on_command_line = mailgate("--url", live_server.url, "--token", "rmb_secret", stdin=message)
    assert on_command_line.returncode == 64
    assert b"never given on the command line" in on_command_line.stderr
    assert AlertEvent.objects.count() == 0


def test_the_endpoint_refuses_requests_without_a_token(desk: Desk, live_server: Any) -> None:
    import httpx

    answer = httpx.post(f"{live_server.url}/intake/mail/", content=datto_mail("mg-anon"))
    assert answer.status_code == 401
    assert "Authorization: Bearer" in answer.json()["error"]
    assert httpx.get(f"{live_server.url}/intake/mail/").status_code == 405
    assert AlertEvent.objects.count() == 0


@pytest.mark.parametrize(("body", "says"), [
    (b"", b"the message is empty"),
    (b"   \n\n", b"the message is empty"),
    (b"\x00\x01\x02 binary garbage \xff\xfe", b"not an e-mail message"),
    (b"just a line of text\nand another\n", b"not an e-mail message"),
])
def test_garbage_input_exits_65_and_stores_nothing(desk: Desk, live_server: Any, tmp_path: Path, body: bytes,
                                                   says: bytes) -> None:
    token = write_token(tmp_path, desk)
    done = mailgate("--url", live_server.url, "--token-file", str(token), stdin=body)
    assert done.returncode == 65, done.stderr
    assert says in done.stderr
    spooled = mailgate("--spool", str(tmp_path / "spool"), stdin=body)
    assert spooled.returncode == 65
    assert AlertEvent.objects.count() == 0
    assert spool.pending_names(tmp_path / "spool", 10) == []


def test_oversized_input_exits_65(desk: Desk, live_server: Any, tmp_path: Path) -> None:
    token = write_token(tmp_path, desk)
    big = datto_mail("mg-big") + b"x" * 5000
    done = mailgate("--url", live_server.url, "--token-file", str(token), "--max-bytes", "4096", stdin=big)
    assert done.returncode == 65
    assert b"larger than 4096 bytes" in done.stderr
    assert AlertEvent.objects.count() == 0


def test_the_service_refuses_a_message_over_its_limit_with_413(desk: Desk, live_server: Any, tmp_path: Path) -> None:
    """mailgate allowed more than the service takes: the service's 413 becomes 65 (the MTA bounces it)."""
    token = write_token(tmp_path, desk)
    big = datto_mail("mg-huge") + b"y" * (spool.MAX_MESSAGE_BYTES + 10)
    done = mailgate("--url", live_server.url, "--token-file", str(token), "--max-bytes",
                    str(spool.MAX_MESSAGE_BYTES * 2), stdin=big)
    assert done.returncode == 65, done.stderr
    assert b"(413)" in done.stderr
    assert AlertEvent.objects.count() == 0


def test_spool_then_drain_opens_a_ticket_and_empties_the_spool(desk: Desk, tmp_path: Path) -> None:
    root = tmp_path / "spool"
    done = mailgate("--spool", str(root), stdin=datto_mail("sp-1"))
    assert done.returncode == 0, done.stderr
    names = spool.pending_names(root, 10)
    assert len(names) == 1
    assert b"spooled as" in done.stderr
    assert os.listdir(root / "tmp") == []
    result = drain(str(root))
    assert len(result.stored) == 1
    assert not result.failed
    event = AlertEvent.objects.get()
    assert event.headers[FILE_HEADER] == names[0]
    assert Ticket.objects.get(pk=event.ticket_id).assets.get() == desk.asset
    assert os.listdir(root / "new") == []
    assert os.listdir(root / "cur") == []


def test_spool_is_the_default_under_the_home(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --url, mailgate spools into $RMMBRIDGE_HOME/spool/mail; `alerts process-pending` drains it."""
    home = tmp_path / "home"
    done = mailgate(stdin=datto_mail("sp-home"), env={"RMMBRIDGE_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    root = spool.spool_root(home)
    assert len(spool.pending_names(root, 10)) == 1
    monkeypatch.setenv("RMMBRIDGE_MAIL_SPOOL", root)
    from io import StringIO

    out = StringIO()
    call_command("alerts", "process-pending", stdout=out)
    assert "1 message(s) stored" in out.getvalue()
    assert Ticket.objects.count() == 1
    assert spool.pending_names(root, 10) == []


def test_a_file_that_cannot_be_stored_moves_to_failed_with_a_reason(desk: Desk, tmp_path: Path) -> None:
    root = spool.ensure(tmp_path / "spool")
    (Path(root) / "new" / "1.garbage").write_bytes(b"\xff\xfe not mail")
    good = mailgate("--spool", root, stdin=datto_mail("sp-ok"))
    assert good.returncode == 0
    result = drain(root)
    assert result.failed == ["1.garbage"]
    assert len(result.stored) == 1
    failed = Path(root) / "failed"
    assert (failed / "1.garbage").read_bytes() == b"\xff\xfe not mail"  # kept byte for byte
    assert "not an e-mail message" in (failed / "1.garbage.reason").read_text()
    assert "moved to failed/" in result.message


def test_a_dead_drainers_claim_goes_back_and_is_stored(desk: Desk, tmp_path: Path) -> None:
    root = spool.ensure(tmp_path / "spool")
    mailgate("--spool", root, stdin=datto_mail("sp-dead"))
    name = spool.pending_names(root, 1)[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    os.rename(Path(root) / "new" / name, Path(root) / "cur" / f"{name}{spool.CLAIM_MARK}{dead.stdout.strip()}")
    result = drain(root)
    assert len(result.stored) == 1
    assert Ticket.objects.count() == 1


def test_concurrent_drains_store_each_file_once(desk: Desk, tmp_path: Path) -> None:
    root = spool.ensure(tmp_path / "spool")
    count = 40
    for n in range(count):
        spool.write_message(root, datto_mail(f"sp-many-{n}", host="HD-WS01"))
    barrier = threading.Barrier(3)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        from django.db import connection

        try:
            barrier.wait()
            results.append(drain(root, process=False))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    stored = [pk for result in results for pk in result.stored]
    assert len(stored) == count == len(set(stored))
    files = [event.headers[FILE_HEADER] for event in AlertEvent.objects.all()]
    assert len(files) == count == len(set(files))
    assert os.listdir(Path(root) / "new") == []
    assert os.listdir(Path(root) / "cur") == []


def test_concurrent_drain_processes_store_each_file_once(desk: Desk, tmp_path: Path) -> None:
    """Two real drainer processes racing over one spool (the embedded service and `alerts process-pending`)."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the child processes find the test database by its SQLite file")
    root = spool.ensure(tmp_path / "spool")
    count = 30
    for n in range(count):
        spool.write_message(root, datto_mail(f"sp-proc-{n}"))
    code = ("import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'rmmbridge.settings'; django.setup();"
            "from django.db import connection; connection.settings_dict['NAME'] = sys.argv[2];"
            "from rmmbridge.alerts.intake.spool import drain; r = drain(sys.argv[1], process=False);"
            "print(len(r.stored))")
    name = str(connection.settings_dict["NAME"])
    procs = [subprocess.Popen([sys.executable, "-c", code, root, name], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    counts = [int(p.communicate(timeout=120)[0].strip() or -1) for p in procs]
    assert sum(counts) == count, counts
    files = [event.headers[FILE_HEADER] for event in AlertEvent.objects.all()]
    assert len(files) == count == len(set(files))


@pytest.mark.parametrize("mode", ["spool", "http"])
def test_mailgate_imports_no_django(tmp_path: Path, mode: str) -> None:
    """The MTA starts one process per mail: mailgate runs before Django (or pathlib, or cryptography) loads."""
    code = ("import sys\nimport rmmbridge.__main__ as entry\ntry:\n    entry.main(sys.argv[1:])\n"
            "except SystemExit as exc:\n    status = exc.code\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'cryptography', 'pathlib', "
            "'typing', 'dataclasses', 'json', 'urllib', 'socket', 'encodings.idna'))\n"
            "ours = sorted(m for m in sys.modules if m.startswith('rmmbridge'))\nprint(status, heavy, ours)")
    args = (["mailgate", "--spool", str(tmp_path / "spool"), "-q"] if mode == "spool"
            else ["mailgate", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "5"])
    env = {**os.environ, "RMMBRIDGE_MAILGATE_TOKEN": "rmb_" + "t" * 40}
    done = subprocess.run([sys.executable, "-c", code, *args], input=datto_mail("imports"), env=env,
                          capture_output=True, timeout=60, check=False)
    status, heavy, ours = done.stdout.decode().strip().split(" ", 2)
    assert status == ("0" if mode == "spool" else "75"), done.stderr
    assert heavy == "[]"
    assert ours == str(["rmmbridge", "rmmbridge.__main__", "rmmbridge.common", "rmmbridge.common.mailgate",
                        "rmmbridge.common.spool"])
