"""The embedded SQLite database runs with the pragmas the settings promise, and keeps sub-journals off the disk."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from rmmbridge.servicedesk.models import AssetGroup

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite pragmas")]


def _pragma(name: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


def test_the_connection_has_the_pragmas_of_the_settings() -> None:
    assert str(_pragma("journal_mode")).lower() == "wal"
    assert _pragma("synchronous") == 1  # NORMAL
    assert _pragma("temp_store") == 2  # MEMORY: statement and savepoint journals never become files
    assert _pragma("wal_autocheckpoint") == 16000


def test_a_transaction_of_many_savepoints_writes_the_same_rows() -> None:
    """A transaction whose savepoints change far more than 64 KiB of pages (the point where the sub-journal
    used to become a temporary file) still commits, and a rolled-back savepoint still undoes its rows only."""
    with transaction.atomic():
        for n in range(300):
            try:
                with transaction.atomic():
                    AssetGroup.objects.create(name=f"Group {n:04d} " + "x" * 200)
                    if n % 3 == 0:
                        raise ValueError("roll this one back")
            except ValueError:
                pass
    names = set(AssetGroup.objects.filter(name__startswith="Group ").values_list("name", flat=True))
    assert len(names) == 200
    assert all(int(name.split()[1]) % 3 for name in names)
