"""An uploaded asset spreadsheet, its preview and the result of applying it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", "Previewed"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"


class SpreadsheetImport(models.Model):
    """One uploaded spreadsheet: kept with its preview so the admin can review before applying."""

    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED)
    error = models.TextField(blank=True, help_text="Why the file could not be read.")
    preview = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"
