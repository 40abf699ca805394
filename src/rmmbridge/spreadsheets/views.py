"""Pages of the spreadsheet asset import: upload, preview (filterable), apply, sample download."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rmmbridge.servicedesk.actions import Actor
from rmmbridge.spreadsheets.models import SpreadsheetImport
from rmmbridge.spreadsheets.reader import MAX_BYTES, SpreadsheetError
from rmmbridge.spreadsheets.sample import sample_workbook
from rmmbridge.spreadsheets.services import apply_import, create_preview, default_decimal_separator

ACTIONS = ("create", "update", "unchanged", "error")
ROWS_SHOWN = 500


class UploadForm(forms.Form):
    file = forms.FileField(help_text="A .csv, .xlsx, .xls or .ods file; the first row names the columns.")
    decimal_separator = forms.ChoiceField(
        choices=[(".", "Point: 1,234.5"), (",", "Comma: 1.234,5")], required=False,
        help_text="How numbers written as text are read (cells typed as numbers are always exact).",
    )


def upload(request: HttpRequest) -> HttpResponse:
    """Upload a spreadsheet; the next page previews it without writing anything."""
    form = UploadForm(request.POST or None, request.FILES or None,
                      initial={"decimal_separator": default_decimal_separator()})
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        if uploaded.size > MAX_BYTES:
            form.add_error("file", f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
        else:
            record = create_preview(uploaded.name, uploaded.read(), request.user,
                                    form.cleaned_data.get("decimal_separator") or None)
            return redirect("spreadsheets:preview", pk=record.pk)
    recent = SpreadsheetImport.objects.defer("content", "preview")[:10]
    return render(request, "spreadsheets/upload.html", {"form": form, "recent": recent})


def preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Counts first, then the rows (filterable by action) with their changes, reasons and errors."""
    record = get_object_or_404(SpreadsheetImport.objects.defer("content"), pk=pk)
    action = request.GET.get("action", "")
    rows = record.preview.get("rows", [])
    if action in ACTIONS:
        rows = [r for r in rows if r["action"] == action]
    context = {"record": record, "rows": rows[:ROWS_SHOWN], "hidden": max(0, len(rows) - ROWS_SHOWN),
               "action": action, "actions": ACTIONS}
    template = "spreadsheets/_rows.html" if request.headers.get("HX-Request") else "spreadsheets/preview.html"
    return render(request, template, context)


@require_POST
def apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Write the previewed rows (planned again against current data)."""
    record = get_object_or_404(SpreadsheetImport, pk=pk)
    try:
        result = apply_import(record, Actor.ui(request.user))
    except SpreadsheetError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Imported: {result['created']} created, {result['updated']} updated, "
                                  f"{result['unchanged']} unchanged, {len(result['errors'])} rows with errors.")
    return redirect("spreadsheets:preview", pk=pk)


def sample(request: HttpRequest) -> HttpResponse:
    """Download the sample spreadsheet with every asset field and custom field as a column."""
    response = HttpResponse(
        sample_workbook(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="rmmbridge-assets-sample.xlsx"'
    return response
