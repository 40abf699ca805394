"""In a real browser: every page fits 1366×900 and a 390×844 phone without horizontal scrolling."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.integrations import actions
from rmmbridge.integrations.models import Integration, RequestLogEntry
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, Customer
from rmmbridge.sync.runner import run_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: The widest element that is not inside a scrolling box, and how far the page scrolls sideways.
WIDEST = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x === "auto" || x === "scroll" || x === "hidden" || x === "clip") { return true; }
    }
    return false;
  };
  let widest = null, right = 0;
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= right || clipped(el)) { continue; }
    if (el.closest("dialog:not([open])")) { continue; }
    right = box.right;
    widest = el;
  }
  const name = widest ? widest.tagName.toLowerCase() + (widest.id ? "#" + widest.id : "")
    + (widest.className && typeof widest.className === "string" ? "." + widest.className.split(" ").join(".") : "")
    : "";
  return {overflow: document.documentElement.scrollWidth - width, right: Math.round(right), width, widest: name,
          text: widest ? (widest.innerText || "").slice(0, 80) : ""};
}"""


@pytest.fixture
def estate(db: Any) -> Iterator[dict[str, Any]]:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("datto_rmm", seed=5, customers=3, devices=12, alerts=2) as emulator:
        integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto Widths",
                                                    dict(emulator.credentials), test=False)
        run_sync(integration.pk, entities=["customers", "sites", "assets"], trigger="cli")
        preview = run_sync(integration.pk, entities=["customers", "sites", "assets"], trigger="cli", dry_run=True)
        long_url = emulator.url + "/api/v2/account/devices?" + "&".join(f"filter{i}=value-{i}" * 3 for i in range(40))
        entry = RequestLogEntry.objects.filter(integration=integration).first()
        assert entry is not None
        RequestLogEntry.objects.filter(pk=entry.pk).update(url=long_url, status=500,
                                                           error="Server error: the RMM answered 500")
        yield {"integration": integration, "run": preview, "customer": Customer.objects.first(),
               "asset": Asset.objects.first()}


def _pages(estate: dict[str, Any]) -> list[str]:
    integration: Integration = estate["integration"]
    pk, asset, customer = integration.pk, estate["asset"].pk, estate["customer"].pk
    return [
        "/", "/customers/", "/customers/new/", f"/customers/{customer}/", f"/customers/{customer}/edit/",
        "/sites/", "/sites/new/", "/users/", "/users/new/", "/assets/", "/assets/new/", f"/assets/{asset}/",
        f"/assets/{asset}/edit/", "/integrations/", f"/integrations/{pk}/", f"/integrations/{pk}/log/", "/sync/",
        f"/sync/integrations/{pk}/", f"/sync/runs/{estate['run'].pk}/", "/tickets/", "/tickets/new/",
        "/tickets/types/", "/alerts/", "/alerts/rules/", "/alerts/rules/new/", f"/alerts/integration/{pk}/",
        "/ops/", "/ops/health/", f"/ops/integrations/{pk}/", "/settings/", "/imports/spreadsheet/",
    ]


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_every_page_fits_the_screen_width(page: Any, estate: dict[str, Any], width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    too_wide = []
    for path in _pages(estate):
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, f"{path}: {response.status}"
        found = page.evaluate(WIDEST)
        if os.environ.get("RMMBRIDGE_SCREENSHOTS"):
            page.screenshot(path=f"{os.environ['RMMBRIDGE_SCREENSHOTS']}/{width}{path.replace('/', '_')}.png",
                            full_page=True)
        if found["overflow"] > 0 or found["right"] > found["width"] + 1:
            too_wide.append(f"{path}: {found['widest']} reaches {found['right']} px of {found['width']} "
                            f"({found['text']!r})")
    assert not too_wide, "\n".join(too_wide)
