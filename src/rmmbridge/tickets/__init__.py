"""Tickets: ticket types, tickets, their actions and history."""
