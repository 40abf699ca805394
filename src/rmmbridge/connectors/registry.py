"""The registry of RMM connectors: one manifest per vendor; a new vendor adds one entry to MANIFESTS."""

from __future__ import annotations

from rmmbridge.connectors.addigy.connector import AddigyConnector
from rmmbridge.connectors.atera.connector import AteraConnector
from rmmbridge.connectors.base import Connector
from rmmbridge.connectors.cw_automate.connector import CwAutomateConnector
from rmmbridge.connectors.datto_rmm.connector import DattoRmmConnector
from rmmbridge.connectors.manifest import VendorManifest
from rmmbridge.connectors.ncentral.connector import NcentralConnector
from rmmbridge.connectors.ninjaone.connector import NinjaOneConnector

MANIFESTS: tuple[VendorManifest, ...] = (
    VendorManifest(
        slug="addigy", name="Addigy", connector=AddigyConnector,
        emulator="rmmbridge.connectors.addigy.emulator:AddigyEmulatorState",
        alerts="rmmbridge.connectors.addigy.alerts",
        notes="Polling of Addigy's v2 alert list, or Addigy's Event Webhooks (the validation challenge is answered "
              "automatically; system events that are not alerts are recorded as ignored). Closing a ticket does "
              "not resolve the alert in Addigy: the API's resolve action could not be verified, so closure is "
              "one-way — resolve it in Addigy, or let it clear when the condition does.",
    ),
    VendorManifest(
        slug="atera", name="Atera", connector=AteraConnector,
        emulator="rmmbridge.connectors.atera.emulator:AteraEmulatorState",
        notes="Polling only (every 5 minutes when scheduled), as Halo's Atera integrator does. Closing a ticket "
              "resolves the alert in Atera.",
    ),
    VendorManifest(
        slug="cw_automate", name="ConnectWise Automate", connector=CwAutomateConnector,
        emulator="rmmbridge.connectors.cw_automate.emulator:CwAutomateEmulatorState",
        alerts="rmmbridge.connectors.cw_automate.alerts",
        notes="Alert e-mails from the monitors (FAILED opens, SUCCESS closes) — set the rule's from address to "
              "your Automate server's sender; polling also reads open alerts. Closure is one-way: Halo closes "
              "Automate alerts through Automate's ticket API, but Automate's API document offers tickets read-only "
              "(no update), so closing a ticket here changes nothing in Automate; the monitor's SUCCESS mail closes "
              "the ticket.",
    ),
    VendorManifest(
        slug="datto_rmm", name="Datto RMM", connector=DattoRmmConnector,
        emulator="rmmbridge.connectors.datto_rmm.emulator:DattoRmmEmulatorState",
        alerts="rmmbridge.connectors.datto_rmm.alerts",
        email_sender="noreply@centrastage.net",
        notes="Alert e-mails (subject token Alert{uid}) or the webhook with the JSON template shown below; "
              "polling is the backstop. Closing a ticket resolves the alert in Datto RMM (paced to 100 a minute).",
    ),
    VendorManifest(
        slug="ncentral", name="N-central", connector=NcentralConnector,
        emulator="rmmbridge.connectors.ncentral.emulator:NcentralEmulatorState",
        alerts="rmmbridge.connectors.ncentral.alerts",
        notes="Polling (the active issues of every customer and site), or N-central's Custom PSA notifications "
              "posted to the webhook URL. N-central's API cannot resolve alerts: they clear in N-central when the "
              "condition does.",
    ),
    VendorManifest(
        slug="ninjaone", name="NinjaOne", connector=NinjaOneConnector,
        emulator="rmmbridge.connectors.ninjaone.emulator:NinjaOneEmulatorState",
        alerts="rmmbridge.connectors.ninjaone.alerts",
        notes="NinjaOne's webhook (activities) or polling. Closing a ticket resets the alert in NinjaOne (the API "
              "client needs the 'management' scope for that; reads need only 'monitoring').",
    ),
)

BY_SLUG: dict[str, VendorManifest] = {m.slug: m for m in MANIFESTS}
REGISTRY: dict[str, type[Connector]] = {m.slug: m.connector for m in MANIFESTS}


def manifest(slug: str) -> VendorManifest | None:
    """The vendor's manifest, or None for a slug no vendor has."""
    return BY_SLUG.get(slug)
