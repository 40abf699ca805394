"""Extension point: other apps add HTML panels to the ticket detail page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from rmmbridge.tickets.models import Ticket

# Functions taking a ticket and returning rendered HTML (or None when they have nothing to show).
# Apps append to this list in their AppConfig.ready(); the detail page renders them in order.
TICKET_PANELS: list[Callable[[Ticket], str | None]] = []


def render_panels(ticket: Ticket) -> list[SafeString]:
    """The HTML of every registered panel that has something to show for `ticket`."""
    rendered: list[SafeString] = []
    for panel in TICKET_PANELS:
        html = panel(ticket)
        if html:
            rendered.append(mark_safe(html))  # noqa: S308 - panels return HTML rendered from templates
    return rendered
