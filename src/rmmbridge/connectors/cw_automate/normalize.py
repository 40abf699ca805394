"""Pure mapping of Automate payloads to normalized records (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from rmmbridge.connectors.cw_automate.const import (
    COMPUTER_TYPES,
    LAPTOP_CHASSIS_WORDS,
    PRINTER_TYPE_WORDS,
)
from rmmbridge.connectors.cw_automate.schemas import (
    Alert,
    Client,
    Computer,
    ComputerChassis,
    ComputerPrinter,
    Contact,
    Location,
    LocationRouter,
    NetworkDevice,
    Ref,
    RetiredAsset,
)
from rmmbridge.connectors.items import ItemParser
from rmmbridge.connectors.records import (
    AlertState,
    DeviceType,
    FieldValue,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    RemoteSite,
    RemoteUser,
    flatten,
)
from rmmbridge.connectors.timestamps import from_epoch, from_iso

#: Network devices live in their own table (ids overlap with computers'), so their external ids carry a prefix;
#: so do locations' routers and computers' printers.
NETWORK_DEVICE_PREFIX = "nd-"
ROUTER_PREFIX = "router-"
PRINTER_PREFIX = "printer-"
#: The field holding the asset tag Halo gives Automate assets (Automate's own AssetTag is not unique): the serial
#: number for servers and workstations, the router's GUID for routers.
ASSET_TAG_FIELD = "asset_tag"
#: Keys never kept in `fields` (credentials the API returns beside the device).
SECRET_KEYS = frozenset({"Password", "Username", "SNMPCommunityGet", "SNMPCommunitySet", "ExternalSystemCredentials"})
#: .NET's "no date" (DateTime.MinValue), as Automate serialises it.
NO_DATE = re.compile(r"^0001-01-01([T ]00:00:00(\.0+)?)?(Z|[+-]00:?00)?$")
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_MIN_YEAR = 1971  # .NET serialises "no date" as 0001-01-01T00:00:00; treat anything that early as unset


#: Validates one Automate item; raises SkippableRecordError naming the item and what is wrong.
parse_item = ItemParser("Automate", ("Id", "AlertId", "ComputerId"))


def parse_time(value: Any, tz: tzinfo = UTC) -> datetime | None:
    """An Automate timestamp as an aware UTC datetime.

    The API sends ISO 8601, usually without an offset (`2021-04-13T13:11:03`): servers write their own local time,
    so an offset-less value is read in `tz` (the integration's server time zone, UTC by default); values with an
    offset or `Z` keep theirs; older servers may send `/Date(ms)/`. `0001-01-01T00:00:00` (never) and unreadable
    values give None.
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_epoch(float(value))
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        return from_epoch(int(match.group(1)), ms_from=0)
    parsed = from_iso(text, tz=tz)
    if parsed is None or parsed.year < _MIN_YEAR:
        return None
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def is_no_date(value: Any) -> bool:
    """True for Automate's "no date" value (`0001-01-01T00:00:00`), which must never fill a date field."""
    return isinstance(value, str) and NO_DATE.match(value.strip()) is not None


def vendor_fields(raw: Any, prefix: str = "", out: dict[str, FieldValue] | None = None) -> dict[str, FieldValue]:
    """`flatten`, then "no date" values emptied and credentials (SECRET_KEYS) left out."""
    result: dict[str, FieldValue] = {} if out is None else out
    flat = flatten(raw, prefix)
    for key, value in flat.items():
        if any(part in SECRET_KEYS for part in key.split(".")):
            continue
        result[key] = None if is_no_date(value) else value
    return result


def ident(value: Any) -> str | None:
    """An id as a string (the spec types some ids as int32, others as strings); None/0/'' for 'no reference'."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return None if text in ("", "0", "-1") else text


def _ref_id(ref: Ref | None) -> str | None:
    return None if ref is None else ident(ref.Id)


def _first(*values: str | None) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def computer_device_type(
    computer_type: str | None, os_name: str | None, is_virtual: bool | None, chassis_type: str | None
) -> DeviceType:
    """Map Computer.Type (Server/Workstation), the OS, IsVirtualMachine and the chassis type to a DeviceType.

    Servers stay servers (physical or virtual, as Halo imports them); a virtual workstation is a virtual machine;
    a workstation in a portable chassis is a laptop. Without a Type, a server OS means a server.
    """
    kind = COMPUTER_TYPES.get((computer_type or "").strip().lower())
    if kind is None:
        kind = DeviceType.SERVER if "server" in (os_name or "").lower() else DeviceType.WORKSTATION
    if kind is DeviceType.WORKSTATION:
        if is_virtual:
            return DeviceType.VIRTUAL_MACHINE
        lowered = (chassis_type or "").lower()
        if any(word in lowered for word in LAPTOP_CHASSIS_WORDS):
            return DeviceType.LAPTOP
    return kind


def network_device_type(type_name: str | None, low_on_toner: bool | None = None) -> DeviceType:
    """NetworkDevice `DeviceType.Name` → PRINTER for printers (or anything reporting toner), else NETWORK_DEVICE."""
    lowered = (type_name or "").lower()
    if low_on_toner or any(word in lowered for word in PRINTER_TYPE_WORDS):
        return DeviceType.PRINTER
    return DeviceType.NETWORK_DEVICE


def to_customer(client: Client, raw: Mapping[str, Any]) -> RemoteCustomer:
    return RemoteCustomer(external_id=str(ident(client.Id) or client.Id), name=client.Name.strip(),
                          fields=vendor_fields(raw))


def to_site(location: Location, raw: Mapping[str, Any]) -> RemoteSite:
    return RemoteSite(
        external_id=str(ident(location.Id) or location.Id),
        name=location.Name.strip(),
        customer_external_id=_ref_id(location.Client),
        fields=vendor_fields(raw),
    )


def to_user(contact: Contact, raw: Mapping[str, Any]) -> RemoteUser:
    name = " ".join(p.strip() for p in (contact.FirstName, contact.LastName) if p and p.strip())
    email = _first(contact.Email)
    return RemoteUser(
        external_id=str(ident(contact.Id) or contact.Id),
        name=name or email or f"Contact {contact.Id}",
        email=email,
        customer_external_id=_ref_id(contact.Client),
        site_external_id=_ref_id(contact.Location),
        fields=vendor_fields(raw),
    )


def _latest(tz: tzinfo, *values: str | None) -> datetime | None:
    stamps = [t for t in (parse_time(v, tz) for v in values) if t is not None]
    return max(stamps) if stamps else None


def to_computer(
    computer: Computer,
    raw: Mapping[str, Any],
    chassis: ComputerChassis | None = None,
    chassis_raw: Mapping[str, Any] | None = None,
    tz: tzinfo = UTC,
) -> RemoteDevice:
    """A Computer (plus its chassis row when known) as a RemoteDevice; the chassis is flattened under `Chassis.`.

    Its serial number is also its asset tag (`fields["asset_tag"]`), as Halo saves it for servers and workstations.
    """
    fields: dict[str, FieldValue] = vendor_fields(raw)
    if chassis_raw is not None:
        vendor_fields(chassis_raw, "Chassis", fields)
    users = [u.LoggedInUserName for u in computer.LoggedInUsers if u.LoggedInUserName]
    kind = computer_device_type(
        computer.Type,
        computer.OperatingSystemName,
        computer.IsVirtualMachine,
        chassis.ChassisType if chassis else None,
    )
    vendor_type = (computer.Type or kind.value.title()) + (" (virtual)" if computer.IsVirtualMachine else "")
    serial = _first(computer.SerialNumber, chassis.SerialNumber if chassis else None)
    fields[ASSET_TAG_FIELD] = serial
    return RemoteDevice(
        external_id=str(ident(computer.Id) or computer.Id),
        hostname=computer.ComputerName.strip(),
        site_external_id=_ref_id(computer.Location),
        customer_external_id=_ref_id(computer.Client),
        device_type=kind,
        vendor_type=vendor_type,
        serial_number=serial,
        os_name=_first(computer.OperatingSystemName),
        manufacturer=_first(chassis.Manufacturer if chassis else None, computer.BiosManufacturer),
        model=_first(chassis.ProductName if chassis else None),
        ip_addresses=tuple(ip.strip() for ip in (computer.LocalIPAddress or "").split(",") if ip.strip()),
        mac_addresses=tuple(m.strip() for m in (computer.MACAddress or "").split(",") if m.strip()),
        last_logged_in_user=_first(computer.LastUserName, *users),
        last_seen=_latest(tz, computer.RemoteAgentLastContact, computer.LastHeartbeat),
        online=None if not computer.Status else computer.Status.strip().lower() == "online",
        fields=fields,
    )


def to_retired(asset: RetiredAsset, raw: Mapping[str, Any], tz: tzinfo = UTC) -> RemoteDevice:
    """A retired computer: the same external id as while it was live (its ComputerId), marked deleted."""
    os_name = _first(asset.OperatingSystemName)
    return RemoteDevice(
        external_id=str(ident(asset.ComputerId) or asset.ComputerId),
        hostname=asset.ComputerName.strip(),
        site_external_id=_ref_id(asset.Location),
        customer_external_id=_ref_id(asset.Client),
        device_type=computer_device_type(None, os_name, None, None),
        vendor_type="Retired computer",
        os_name=os_name,
        ip_addresses=tuple(ip.strip() for ip in (asset.LocalIPAddress or "").split(",") if ip.strip()),
        last_seen=parse_time(asset.RetiredDate, tz),
        online=False,
        deleted=True,
        fields=vendor_fields(raw),
    )


def to_network_device(device: NetworkDevice, raw: Mapping[str, Any], tz: tzinfo = UTC) -> RemoteDevice:
    """A probe-discovered network device or printer; its parent is the location's network probe computer."""
    type_name = device.DeviceType.Name if device.DeviceType else None
    hostname = _first(device.Name, device.FriendlyName, device.LocalIPAddress) or f"network-device-{device.Id}"
    client_id = _ref_id(device.Client)
    if client_id is None and device.Location is not None:
        nested = raw.get("Location", {}).get("Client") if isinstance(raw.get("Location"), Mapping) else None
        client_id = ident(nested.get("Id")) if isinstance(nested, Mapping) else None
    return RemoteDevice(
        external_id=f"{NETWORK_DEVICE_PREFIX}{ident(device.Id) or device.Id}",
        hostname=hostname,
        site_external_id=_ref_id(device.Location),
        customer_external_id=client_id,
        device_type=network_device_type(type_name, device.IsLowOnToner),
        vendor_type=type_name or "Network device",
        manufacturer=_first(device.ManufacturerName),
        model=_first(device.ModelName),
        ip_addresses=tuple(v for v in ((device.LocalIPAddress or "").strip(),) if v),
        mac_addresses=tuple(v for v in ((device.MACAddress or "").strip(),) if v),
        last_seen=_latest(tz, device.LastContact, device.LastUpdated),
        online=None if not device.Status else device.Status.strip().lower() in ("online", "up"),
        parent_external_id=None if not device.ProbeId else str(device.ProbeId),
        fields=vendor_fields(raw),
    )


def alert_age(value: str | None) -> timedelta | None:
    """A .NET TimeSpan string (`1.02:03:04` or `00:13:00`) as a timedelta; None when unreadable."""
    if not value:
        return None
    match = re.match(r"^(?:(\d+)\.)?(\d+):(\d+):(\d+)(?:\.\d+)?$", value.strip())
    if not match:
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def to_alert(alert: Alert, raw: Mapping[str, Any], tz: tzinfo = UTC) -> RemoteAlert:
    """An alert of `GET /Alerts` (always open: Automate lists only the alerts it currently holds)."""
    computer = alert.Computer or {}
    computer_id = ident(computer.get("Id"))
    device_id = ident(alert.Device.Id) if alert.Device else None
    target = computer_id or (f"{NETWORK_DEVICE_PREFIX}{device_id}" if device_id else None)
    hostname = _first(
        computer.get("Name") if isinstance(computer.get("Name"), str) else None,
        alert.Device.Name if alert.Device else None,
    )
    monitor = alert.Monitor.Name if alert.Monitor else None
    return RemoteAlert(
        external_id=str(alert.AlertId),
        device_external_id=target,
        message=_first(alert.Message, monitor) or f"Automate alert {alert.AlertId}",
        severity=(alert.Severity.Name or "") if alert.Severity else "",
        alert_type=_first(monitor, alert.Source) or "",
        state=AlertState.OPEN,
        raised_at=parse_time(alert.AlertDate, tz),
        hostname=hostname,
        raw=dict(raw),
    )


def to_router(location: Location, router: LocationRouter, raw: Mapping[str, Any]) -> RemoteDevice | None:
    """A location's router (`Location.Router`) as a network device whose asset tag is its GUID (Halo's rule, since
    Automate's asset tag is not unique); None when the location has no router (no id and no GUID)."""
    router_id = ident(router.Id)
    guid = _first(router.Guid)
    if router_id is None and guid is None:
        return None
    location_id = str(ident(location.Id) or location.Id)
    fields = vendor_fields(raw)
    fields[ASSET_TAG_FIELD] = guid
    fields["Location.Id"] = location_id
    fields["Location.Name"] = location.Name
    model = _first(router.Model)
    return RemoteDevice(
        external_id=f"{ROUTER_PREFIX}{router_id or guid}",
        hostname=f"{location.Name.strip()} router" + (f" ({model})" if model else ""),
        site_external_id=location_id,
        customer_external_id=_ref_id(location.Client),
        device_type=DeviceType.NETWORK_DEVICE,
        vendor_type="Router",
        manufacturer=_first(router.ManufacturerName),
        model=model,
        fields=fields,
    )


def to_printer(printer: ComputerPrinter, raw: Mapping[str, Any], computer: RemoteDevice) -> RemoteDevice:
    """A printer of `GET /Computers/{id}/Printers` as a child asset of its computer (Halo imports them so)."""
    printer_id = str(ident(printer.Id) or printer.Id)
    fields = vendor_fields(raw)
    fields["ComputerName"] = computer.hostname
    return RemoteDevice(
        external_id=f"{PRINTER_PREFIX}{computer.external_id}-{printer_id}",
        hostname=_first(printer.Name) or f"Printer {printer_id} on {computer.hostname}",
        site_external_id=computer.site_external_id,
        customer_external_id=computer.customer_external_id,
        device_type=DeviceType.PRINTER,
        vendor_type="Printer",
        parent_external_id=computer.external_id,
        fields=fields,
    )
