"""A custom button of an integration: a label and a URL template rendered for each linked device."""

from __future__ import annotations

from django.db import models

from rmmbridge.integrations.models import Integration


class DeviceButton(models.Model):
    """One button shown on an asset (and its alert tickets) for a device linked to `integration`."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="device_buttons")
    label = models.CharField(max_length=100)
    url_template = models.CharField(max_length=1000, help_text="http(s) URL with placeholders such as {rmm_id}.")
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["integration", "position", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.integration_id})"
