"""Pure rendering of button templates: encoding of every value, whole-URL placeholders, only http(s) links."""

from __future__ import annotations

import pytest

from rmmbridge.buttons.defaults import web_base_url
from rmmbridge.buttons.render import TemplateError, check_template, placeholders, render_url


def test_values_are_percent_encoded() -> None:
    url = render_url("https://rmm.example.com/find?host={hostname}&sn={serial}",
                     {"hostname": "Büro PC/1 & 2", "serial": "A B#?"})
    assert url == "https://rmm.example.com/find?host=B%C3%BCro%20PC%2F1%20%26%202&sn=A%20B%23%3F"


def test_base_url_and_halo_names() -> None:
    values = {"base_url": "https://automate.example.com/", "rmm_id": "42"}
    assert render_url("{base_url}/automate/computer/{$CAUTOMATEID}", values) == (
        "https://automate.example.com/automate/computer/42")
    assert placeholders("{base_url}/x/{$CAUTOMATEID}") == ["base_url", "rmm_id"]


def test_a_leading_field_holds_a_whole_url_and_must_be_http() -> None:
    assert render_url("{portalUrl}", {"portalUrl": "https://merlot.centrastage.net/csm/search?qs=uid%3A1"}) == (
        "https://merlot.centrastage.net/csm/search?qs=uid%3A1")
    assert render_url("{portalUrl}", {"portalUrl": "javascript:alert(1)"}) is None
    assert render_url("{portalUrl}", {"portalUrl": "//evil.example"}) is None


def test_a_missing_value_hides_the_link() -> None:
    assert render_url("https://x.example/{rmm_id}", {"rmm_id": ""}) is None
    assert render_url("{base_url}/computer/{rmm_id}", {"rmm_id": "1"}) is None


@pytest.mark.parametrize(("template", "says"), [
    ("javascript:alert(document.cookie)", "'javascript:' is not"),
    ("JavaScript:alert(1)//{rmm_id}", "'javascript:' is not"),
    ("data:text/html,<script>x</script>", "'data:' is not"),
    ("ftp://files.example/{rmm_id}", "'ftp:' is not"),
    ("rmm.example.com/{rmm_id}", "without a scheme"),
    ("https:///{rmm_id}", "needs a host"),
    ("https://rmm.example.com/{nope}", "Unknown placeholder {nope}"),
    ("https://rmm.example.com/ {rmm_id}", "spaces"),
    ("", "Enter a URL template"),
])
def test_bad_templates_are_refused_with_what_to_fix(template: str, says: str) -> None:
    with pytest.raises(TemplateError, match=says.replace("{", r"\{").replace("(", r"\(")):
        check_template(template)


def test_good_templates_pass() -> None:
    assert check_template("  https://rmm.example.com/device/{rmm_id}?sn={serial} ") == (
        "https://rmm.example.com/device/{rmm_id}?sn={serial}")
    assert check_template("{portalUrl}", known=["portalUrl"]) == "{portalUrl}"
    assert check_template("{base_url}/automate/computer/{$CAUTOMATEID}")


def test_web_base_url_per_vendor() -> None:
    assert web_base_url("datto_rmm", {"api_url": "https://pinotage-api.centrastage.net"}) == (
        "https://pinotage.centrastage.net")
    assert web_base_url("cw_automate", {"server_url": "https://automate.example.com/"}) == (
        "https://automate.example.com")
    assert web_base_url("ninjaone", {"instance_url": "https://eu.ninjarmm.com"}) == "https://eu.ninjarmm.com"
    assert web_base_url("atera", {"api_key": "k"}) == ""
