"""Capabilities in words for the pages: what a vendor's connector can do, as a person reads it."""

from __future__ import annotations

from collections.abc import Iterable

from rmmbridge.connectors.base import Capability

CAPABILITY_WORDS: dict[Capability, str] = {
    Capability.CUSTOMERS: "imports customers",
    Capability.SITES: "imports sites",
    Capability.USERS: "imports users",
    Capability.DEVICES: "imports devices as assets",
    Capability.ALERTS_POLL: "fetches alerts on a schedule",
    Capability.ALERT_RESOLVE: "resolves alerts in the RMM when the ticket closes",
    Capability.WEBHOOKS: "receives alerts by webhook",
    Capability.ALERT_EMAIL: "reads alert e-mails",
}
ORDER = list(CAPABILITY_WORDS)


def capability_words(capabilities: Iterable[Capability]) -> list[str]:
    """The capabilities in a fixed, readable order: ['imports customers', …, 'reads alert e-mails']."""
    have = set(capabilities)
    return [CAPABILITY_WORDS[c] for c in ORDER if c in have]
