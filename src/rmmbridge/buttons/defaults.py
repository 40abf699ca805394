"""Default device buttons per vendor (label, URL template), each editable and removable once added."""

from __future__ import annotations

#: Automate's: seed 002 ("Custom Buttons"); the Control extension id is the one that guide gives.
#: Datto RMM's: the device record's own portalUrl / webRemoteUrl (they show once those fields are mapped).
#: NinjaOne's: the device dashboard of the web app (see connectors/ninjaone/README.md: not verified live).
DEFAULT_BUTTONS: dict[str, list[tuple[str, str]]] = {
    "cw_automate": [
        ("Device in Automate", "{base_url}/automate/computer/{$CAUTOMATEID}"),
        ("Control", "{base_url}/extensions/4da1ae45-1be1-4683-b71e-fed1bfc01788/launchproxy.html?i={$CAUTOMATEID}"),
    ],
    "datto_rmm": [
        ("Device in Datto RMM", "{portalUrl}"),
        ("Web remote", "{webRemoteUrl}"),
    ],
    "ninjaone": [
        ("Device in NinjaOne", "{base_url}/#/deviceDashboard/{rmm_id}/overview"),
    ],
}

#: The credential key holding the URL people open in a browser, per vendor (others: the first *_url key).
BASE_URL_KEYS = {"cw_automate": "server_url", "ninjaone": "instance_url", "datto_rmm": "api_url"}


def web_base_url(vendor: str, credentials: dict[str, object]) -> str:
    """The integration's base URL for buttons: the web app's address derived from its credentials."""
    key = BASE_URL_KEYS.get(vendor) or next((k for k in credentials if k.endswith("url")), "")
    value = str(credentials.get(key) or "").strip().rstrip("/")
    if vendor == "datto_rmm":  # https://pinotage-api.centrastage.net → https://pinotage.centrastage.net
        value = value.replace("-api.", ".", 1)
    return value
