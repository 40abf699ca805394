"""Alerts: intake from e-mail, webhooks and polling, turned into tickets; resolve outbox."""
