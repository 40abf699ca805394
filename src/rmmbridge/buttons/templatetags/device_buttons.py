"""{% device_buttons asset %}: the custom buttons of every integration the asset is linked to."""

from __future__ import annotations

from typing import Any

from django import template

from rmmbridge.buttons.links import device_links
from rmmbridge.servicedesk.models import Asset

register = template.Library()


@register.inclusion_tag("buttons/_device_buttons.html")
def device_buttons(asset: Asset) -> dict[str, Any]:
    """Render the asset's buttons (links open in a new tab, rel=noopener; unbuildable ones are listed, not linked)."""
    links = device_links(asset) if asset is not None and asset.pk else []
    return {"links": links, "asset": asset}
