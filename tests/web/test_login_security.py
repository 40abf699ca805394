"""Login hardening: throttled failures per account and address, optional TOTP, CSP, Secure cookies on HTTPS."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import resolve
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.servicedesk.factories import AssetFactory

from .urlwalk import walk

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def person(db: Any) -> Any:
    return get_user_model().objects.create_superuser("ops-admin", "", PASSWORD)


def login(client: Client, username: str, password: str, address: str = "10.0.0.1", **extra: Any) -> Any:
    return client.post("/login/", {"username": username, "password": password, **extra}, REMOTE_ADDR=address)


def test_failed_logins_are_throttled_per_account(person: Any) -> None:
    client = Client()
    for attempt in range(4):
        assert login(client, "ops-admin", f"wrong-{attempt}", address=f"10.0.1.{attempt}").status_code == 200
    assert login(client, "ops-admin", "wrong-5", address="10.0.1.5").status_code == 429  # the fifth failure locks
    locked = login(client, "ops-admin", PASSWORD, address="10.0.2.1")  # even the right password, from elsewhere
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    other = get_user_model().objects.create_user("someone-else", password=PASSWORD)
    assert login(Client(), other.username, PASSWORD, address="10.0.3.1").status_code == 302


def test_failed_logins_are_throttled_per_address(person: Any) -> None:
    client = Client()
    for attempt in range(5):
        login(client, f"guess-{attempt}", "nope", address="10.9.9.9")
    assert login(client, "ops-admin", PASSWORD, address="10.9.9.9").status_code == 429
    assert login(Client(), "ops-admin", PASSWORD, address="10.9.9.10").status_code == 302


def _current_code(device: TOTPDevice) -> str:
    return str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)).zfill(device.digits)


def test_an_administrator_enrols_totp_and_then_needs_it_at_login(person: Any) -> None:
    client = Client()
    assert login(client, "ops-admin", PASSWORD).status_code == 302
    page = client.get("/settings/two-factor/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "otpauth://totp/" in html
    assert "<svg" in html  # the QR code, inline (no script, no external image)
    device = TOTPDevice.objects.get(user=person, confirmed=False)
    assert client.post("/settings/two-factor/", {"action": "confirm", "code": "000000" if _current_code(device)
                                                  != "000000" else "111111"}).status_code == 400
    device.refresh_from_db()
    device.throttle_reset()  # a wrong code makes the device wait a moment before the next try
    enrolled = client.post("/settings/two-factor/", {"action": "confirm", "code": _current_code(device)})
    codes = re.search(r'<pre id="recovery-codes">(.*?)</pre>', enrolled.content.decode(), re.S)
    assert codes is not None
    recovery = codes.group(1).split()
    assert len(recovery) == 8
    device.refresh_from_db()
    assert device.confirmed
    client.post("/logout/")

    fresh = Client()
    refused = login(fresh, "ops-admin", PASSWORD)
    assert refused.status_code == 200
    assert "Enter the code of your authenticator app" in refused.content.decode()
    assert "_auth_user_id" not in fresh.session
    wrong = login(fresh, "ops-admin", PASSWORD, otp_token="123")
    assert "authenticator code is wrong" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()
    # the code used to enrol cannot be replayed in the same 30 s step; pretend the next step has come
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    device.refresh_from_db()
    assert login(fresh, "ops-admin", PASSWORD, otp_token=_current_code(device)).status_code == 302
    assert fresh.session.get("otp_device_id")

    by_recovery = Client()
    assert login(by_recovery, "ops-admin", PASSWORD, otp_token=recovery[0]).status_code == 302
    assert login(Client(), "ops-admin", PASSWORD, otp_token=recovery[0]).status_code == 200  # used up


def test_people_without_a_second_factor_log_in_with_the_password(person: Any) -> None:
    assert login(Client(), "ops-admin", PASSWORD).status_code == 302


def test_every_page_has_a_csp_without_inline_script(admin_client: Client) -> None:
    asset = AssetFactory()
    # A script element without src runs inline, unless it is a JSON data block (CSP does not apply to data).
    inline = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
    handler = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)  # onclick= and friends are inline script too
    checked = 0
    for endpoint in walk(extra_values=[str(asset.pk)]):
        if not endpoint.path or resolve(endpoint.path).namespace == "admin":
            continue
        response = admin_client.get(endpoint.path)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        checked += 1
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
        html = response.content.decode()
        assert not inline.search(html), endpoint.name
        assert not handler.search(html), (endpoint.name, handler.search(html))
    assert checked > 20
    assert "frame-ancestors 'none'" in Client().get("/login/")["Content-Security-Policy"]


def test_cookies_are_secure_on_https(person: Any) -> None:
    plain = login(Client(), "ops-admin", PASSWORD)
    assert plain.cookies["sessionid"]["secure"] == ""
    secure = Client().post("/login/", {"username": "ops-admin", "password": PASSWORD}, secure=True,
                           REMOTE_ADDR="10.0.0.2")
    assert secure.status_code == 302
    assert secure.cookies["sessionid"]["secure"] is True
    for morsel in secure.cookies.values():
        assert morsel["secure"] is True
