"""{% device_buttons asset %}: the custom buttons of every integration the asset is linked to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

from rmmbridge.buttons.links import device_links
from rmmbridge.integrations.models import ExternalRef
from rmmbridge.servicedesk.models import Asset

register = template.Library()


@register.inclusion_tag("buttons/_device_buttons.html")
def device_buttons(asset: Asset, refs: Iterable[ExternalRef] | None = None) -> dict[str, Any]:
    """Render the asset's buttons (links open in a new tab, rel=noopener; unbuildable ones are listed, not linked).

    Pass the page's external refs (with their integration) when it has them, to save a query.
    """
    links = device_links(asset, refs) if asset is not None and asset.pk else []
    return {"links": links, "asset": asset}
