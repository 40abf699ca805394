"""Signals of the tickets app; `ticket_closed` is sent inside the closing transaction."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with sender=Ticket and keyword arguments `ticket` (already saved as closed) and `actor` (an Actor),
# inside the same database transaction as the close: a receiver's writes commit or roll back with it.
ticket_closed = Signal()
