"""Upload, preview and apply of asset spreadsheets, shared by the pages and the CLI."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from rmmbridge.common.clock import utcnow
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.spreadsheets.apply import apply_sheet
from rmmbridge.spreadsheets.models import ImportStatus, SpreadsheetImport
from rmmbridge.spreadsheets.plan import build_plan
from rmmbridge.spreadsheets.reader import SpreadsheetError, read_sheet


def default_decimal_separator() -> str:
    """The decimal separator of numbers written as text, from the locale setting (RMMBRIDGE_DECIMAL_SEPARATOR)."""
    separator = str(getattr(settings, "DECIMAL_SEPARATOR", "."))
    return separator if separator in (".", ",") else "."


def create_preview(filename: str, content: bytes, user: Any = None,
                   decimal_separator: str | None = None) -> SpreadsheetImport:
    """Store the upload and its preview; a file that cannot be read is kept as rejected with the reason."""
    upload = SpreadsheetImport(filename=filename[:255], content=content,
                               uploaded_by=user if getattr(user, "is_authenticated", False) else None)
    try:
        sheet = read_sheet(filename, content, decimal_separator or default_decimal_separator())
    except SpreadsheetError as exc:
        upload.status, upload.error = ImportStatus.REJECTED, str(exc)
    else:
        upload.preview = build_plan(sheet).as_json()
    upload.save()
    return upload


@transaction.atomic
def apply_import(upload: SpreadsheetImport, actor: Actor) -> dict[str, Any]:
    """Apply a previewed upload (planned again against current data); refuses one already applied."""
    upload = SpreadsheetImport.objects.select_for_update().get(pk=upload.pk)
    if upload.status != ImportStatus.PREVIEWED:
        raise SpreadsheetError(f"This upload is {upload.get_status_display().lower()}; upload the file again.")
    separator = upload.preview.get("decimal_separator") or default_decimal_separator()
    plan, result = apply_sheet(read_sheet(upload.filename, bytes(upload.content), separator), actor)
    upload.preview = plan.as_json()
    upload.result = result.as_json()
    upload.status = ImportStatus.APPLIED
    upload.applied_at = utcnow()
    upload.save()
    return upload.result
