"""ConnectWise Automate's research samples through its own parsers (computers, chassis, clients, locations, contacts,
network devices, retired assets, alerts, token answers, errors)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from tests.connectors.samples import Sample, load_sample, sample_tests

from rmmbridge.connectors.cw_automate.client import automate_message
from rmmbridge.connectors.cw_automate.normalize import (
    parse_item,
    parse_time,
    to_alert,
    to_computer,
    to_customer,
    to_network_device,
    to_retired,
    to_site,
    to_user,
)
from rmmbridge.connectors.cw_automate.schemas import (
    Alert,
    Client,
    Computer,
    ComputerChassis,
    Contact,
    Location,
    NetworkDevice,
    RetiredAsset,
    TokenResult,
)
from rmmbridge.connectors.records import AlertState, DeviceType

FOLDER = "connectwise-automate"


def check_computer(raw: Any) -> None:
    chassis_raw = load_sample(FOLDER, "chassis_spec_types.json")
    device = to_computer(parse_item(Computer, raw, "computer"), raw,
                         parse_item(ComputerChassis, chassis_raw, "chassis"), chassis_raw)
    assert device.external_id == "123"
    assert device.hostname == "ACME-WS01"
    assert device.device_type is DeviceType.LAPTOP  # a workstation in a notebook chassis
    assert (device.customer_external_id, device.site_external_id) == ("5", "7")
    assert device.serial_number == "5CD1234XYZ"
    assert device.fields["asset_tag"] == "5CD1234XYZ"  # Halo: the serial is the asset tag
    assert (device.manufacturer, device.model) == ("HP", "HP EliteBook 840 G8 Notebook PC")
    assert device.last_logged_in_user == "ACME\\jane"
    assert device.last_seen == datetime(2024, 2, 15, 10, 30, tzinfo=UTC)  # no offset: the server zone, UTC here
    assert device.online is True
    assert device.fields["WarrantyEndDate"] is None  # 0001-01-01T00:00:00 is no date
    assert device.fields["AssetDate"] == "2020-06-01T00:00:00"
    in_ny = to_computer(parse_item(Computer, raw, "computer"), raw, tz=ZoneInfo("America/New_York"))
    assert in_ny.last_seen == datetime(2024, 2, 15, 15, 30, tzinfo=UTC)


def check_computer_nulls(raw: Any) -> None:
    device = to_computer(parse_item(Computer, raw, "computer"), raw)  # LoggedInUsers null: the computer is kept
    assert device.external_id == "124"
    assert device.device_type is DeviceType.SERVER  # a virtual server stays a server
    assert device.serial_number is None
    assert device.ip_addresses == ()
    assert device.mac_addresses == ()
    assert device.last_logged_in_user is None
    assert device.online is False
    assert device.last_seen == datetime(2024, 2, 10, 8, 0, tzinfo=UTC)


def check_chassis(raw: Any) -> None:
    chassis = parse_item(ComputerChassis, raw, "chassis")
    assert (str(chassis.ComputerId), chassis.ChassisType, chassis.SerialNumber) == ("123", "Notebook", "5CD1234XYZ")


def check_client(raw: Any) -> None:
    customer = to_customer(parse_item(Client, raw, "client"), raw)
    assert (customer.external_id, customer.name) == ("5", "Acme Dental")


def check_location(raw: Any) -> None:
    site = to_site(parse_item(Location, raw, "location"), raw)
    assert (site.external_id, site.name, site.customer_external_id) == ("7", "Head Office", "5")


def check_contact(raw: Any) -> None:
    user = to_user(parse_item(Contact, raw, "contact"), raw)
    assert (user.external_id, user.name, user.email) == ("31", "Jane Doe", "jane@acme.example")
    assert (user.customer_external_id, user.site_external_id) == ("5", "7")


def check_network_device(raw: Any) -> None:
    device = to_network_device(parse_item(NetworkDevice, raw, "network device"), raw)
    assert device.external_id == "nd-501"
    assert device.device_type is DeviceType.PRINTER
    assert (device.customer_external_id, device.site_external_id) == ("5", "7")  # client under Location
    assert device.parent_external_id == "123"  # the probe computer
    assert device.fields["AssetDate"] is None  # no date
    assert device.last_seen == datetime(2024, 2, 15, 10, 0, tzinfo=UTC)


def check_retired(raw: Any) -> None:
    device = to_retired(parse_item(RetiredAsset, raw, "retired asset"), raw)
    assert (device.external_id, device.deleted, device.hostname) == ("88", True, "ACME-OLD01")
    assert device.last_seen == datetime(2023, 11, 30, 16, 0, tzinfo=UTC)


def check_alert(raw: Any) -> None:
    alert = to_alert(parse_item(Alert, raw, "alert"), raw)
    assert alert.external_id == "7001"
    assert alert.device_external_id == "123"
    assert alert.hostname == "ACME-WS01"
    assert alert.severity == "Critical"
    assert alert.state is AlertState.OPEN
    assert alert.message == "Application Error 1000"
    assert alert.raised_at == datetime(2024, 2, 15, 10, 12, tzinfo=UTC)


def check_token(raw: Any) -> None:
    token = TokenResult.model_validate(raw)
    assert token.AccessToken
    assert token.TokenType == "Bearer"
    assert parse_time(token.ExpirationDate) == datetime(2021, 4, 13, 13, 11, 3, tzinfo=UTC)


def check_token_2fa(raw: Any) -> None:
    token = TokenResult.model_validate(raw)
    assert token.AccessToken is None
    assert token.IsTwoFactorRequired is True


def check_error_401(raw: Any) -> None:
    response = httpx.Response(401, json=raw, request=httpx.Request("GET", "https://a.example/cwa/api/v1/Clients"))
    assert automate_message(response) == "Authorization has been denied for this request."


INDEX: dict[str, Sample] = {
    "alert_spec_types.json": Sample(check_alert),
    "chassis_spec_types.json": Sample(check_chassis),
    "client_int_id.json": Sample(check_client),
    "client_spec_types.json": Sample(check_client),
    "computer_int_ids_null_strings.json": Sample(check_computer_nulls),
    "computer_spec_types.json": Sample(check_computer),
    "contact_spec_types.json": Sample(check_contact),
    "error_401.json": Sample(check_error_401),
    "location_spec_types.json": Sample(check_location),
    "network_device_spec_types.json": Sample(check_network_device),
    "retired_asset_spec_types.json": Sample(check_retired),
    "token_result_2fa.json": Sample(check_token_2fa),
    "token_result_spec.json": Sample(check_token),
}

test_every_sample_has_an_index_entry, test_sample_parses = sample_tests(FOLDER, INDEX)
