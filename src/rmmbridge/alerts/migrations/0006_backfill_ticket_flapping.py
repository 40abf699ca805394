"""Tickets of conditions flapping before tickets had a flapping mark get the mark (nothing else changes)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def mark_flapping(apps: Any, schema_editor: Any) -> None:
    flap_track = apps.get_model("alerts", "FlapTrack")
    ticket = apps.get_model("tickets", "Ticket")
    ids = list(flap_track.objects.filter(flapping=True, ticket__isnull=False).values_list("ticket_id", flat=True))
    ticket.objects.filter(pk__in=ids).update(flapping=True)


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0005_event_rule_assignee"),
        ("tickets", "0003_ticket_flapping"),
    ]

    operations = [migrations.RunPython(mark_flapping, migrations.RunPython.noop)]
