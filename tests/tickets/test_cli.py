"""The `rmmbridge ticket` command through the console entry point, against the real database."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rmmbridge.__main__ import main
from rmmbridge.tickets.actions import do_close_ticket
from rmmbridge.tickets.choices import TicketSource, TicketStatus
from rmmbridge.tickets.models import Ticket

from .conftest import SYSTEM, Desk


def run(capsys: Any, *args: str) -> tuple[int, str, str]:
    """Run `rmmbridge <args>` in-process; return (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.django_db(transaction=True)
def test_list_json_and_table(capsys: Any, desk: Desk) -> None:
    disk = desk.open("Disk C: almost full", source=TicketSource.EMAIL, alert_key="datto:7:disk")
    cpu = desk.open("CPU high", assets=[])
    do_close_ticket(SYSTEM, cpu)

    code, out, _ = run(capsys, "ticket", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [cpu.pk, disk.pk]
    assert rows[1] | {"created_at": None, "updated_at": None} == {
        "id": disk.pk, "summary": "Disk C: almost full", "status": "new", "priority": 2, "type": "RMM Alert",
        "customer": "Acme Ltd", "site": "Main", "asset": "ACME-PC-01", "assets": ["ACME-PC-01"],
        "alert_key": "datto:7:disk", "source": "email", "occurrences": 1, "closed_at": None,
        "created_at": None, "updated_at": None,
    }
    assert rows[0]["status"] == "closed"
    assert rows[0]["closed_at"]

    code, out, _ = run(capsys, "ticket", "list", "--status", "closed", "--json")
    assert [r["id"] for r in json.loads(out)] == [cpu.pk]
    code, out, _ = run(capsys, "ticket", "list", "--status", "active", "--limit", "5", "--json")
    assert [r["id"] for r in json.loads(out)] == [disk.pk]
    code, out, _ = run(capsys, "ticket", "list", "--limit", "1", "--json")
    assert [r["id"] for r in json.loads(out)] == [cpu.pk]

    code, out, _ = run(capsys, "ticket", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "SUMMARY", "STATUS", "CUSTOMER", "ASSET", "ALERT_KEY"]
    assert lines[2].split()[0] == str(disk.pk)
    assert "ACME-PC-01" in lines[2]
    assert "datto:7:disk" in lines[2]


@pytest.mark.django_db(transaction=True)
def test_list_rejects_bad_options(capsys: Any, desk: Desk) -> None:
    code, _, err = run(capsys, "ticket", "list", "--limit", "0")
    assert code == 2
    assert "--limit" in err
    code, _, err = run(capsys, "ticket", "list", "--status", "resolved")
    assert code == 2
    assert "invalid choice: 'resolved'" in err


@pytest.mark.django_db(transaction=True)
def test_close_with_note(capsys: Any, desk: Desk) -> None:
    ticket = desk.open()
    code, out, _ = run(capsys, "ticket", "close", str(ticket.pk), "--note", "Freed space")
    assert code == 0
    assert f"Closed ticket #{ticket.pk}: Disk C: almost full" in out
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    action = ticket.actions.get(kind="closed")
    assert action.text == "Freed space"
    assert action.source == "cli"
    assert action.actor_label.startswith("cli")


@pytest.mark.django_db(transaction=True)
def test_close_errors_exit_non_zero(capsys: Any, desk: Desk) -> None:
    ticket = desk.open()
    code, _, err = run(capsys, "ticket", "close", "98765")
    assert code == 1
    assert "Ticket #98765 does not exist" in err
    code, _, err = run(capsys, "ticket", "close", "abc")
    assert code == 1
    assert "'abc' is not a ticket number" in err
    do_close_ticket(SYSTEM, ticket)
    code, _, err = run(capsys, "ticket", "close", str(ticket.pk), "--note", "again")
    assert code == 1
    assert f"Ticket #{ticket.pk} is already closed." in err
    assert Ticket.objects.get(pk=ticket.pk).actions.filter(kind="closed").count() == 1
