"""NinjaOneEmulatorState: the shared emulator estate rendered as NinjaOne organizations, locations and devices.

Ids are integers as in NinjaOne (organization, location and device ids count from 1); alert uids are UUIDs.
Every 20th generated device is a VMware host and the two after it are its guest VMs (`parentDeviceId`);
printers and network devices are NMS targets whose parent is the agent that discovered them.

Long because: it is the vendor's data model rendered as one table per NinjaOne list (data shapes, not logic);
splitting it would scatter one vendor's JSON shapes over files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from rmmbridge.connectors.testing.estate import (
    FIRST_NAMES,
    LAST_NAMES,
    OS_BY_KIND,
    EmulatedAlert,
    EmulatedDevice,
    device_hostname,
    rng_for,
    stable_uuid,
)
from rmmbridge.connectors.testing.numbered import NumberedIds

#: Seeded alert types of the shared estate → NinjaOne alert `sourceType`.
SOURCE_TYPES: dict[str, str] = {
    "online_offline_status": "AGENT_OFFLINE",
    "perf_resource_usage": "CONDITION_AGENT_CPU",
    "eventlog": "CONDITION_WINDOWS_EVENT_LOG_TRIGGERED",
    "antivirus": "AV_QUARANTINE_THREAT",
    "patch": "CONDITION_AGENT_PATCH_LAST_INSTALLED",
    "comp_script": "CONDITION_SCRIPT_RESULT",
}
#: sourceType → the `data.message.code` a condition of that kind carries (codes as captured where known).
CONDITION_CODES: dict[str, str] = {
    "AGENT_OFFLINE": "agent_cond_offline",
    "CONDITION_AGENT_CPU": "agent_cond_cpu_usage_ge",
    "CONDITION_WINDOWS_EVENT_LOG_TRIGGERED": "agent_cond_eventlog2",
    "AV_QUARANTINE_THREAT": "agent_cond_av_threat",
    "CONDITION_AGENT_PATCH_LAST_INSTALLED": "agent_cond_patch_last_installed",
    "CONDITION_SCRIPT_RESULT": "agent_cond_script_result",
}
SOURCE_NAMES: dict[str, str] = {
    "AGENT_OFFLINE": "Device offline",
    "CONDITION_AGENT_CPU": "CPU utilisation",
    "CONDITION_WINDOWS_EVENT_LOG_TRIGGERED": "Windows event log",
    "AV_QUARANTINE_THREAT": "Antivirus threat",
    "CONDITION_AGENT_PATCH_LAST_INSTALLED": "Patch installation",
    "CONDITION_SCRIPT_RESULT": "Script result",
}
#: Shared-estate priority → (NinjaOne severity, NinjaOne priority).
SEVERITIES: dict[str, tuple[str, str]] = {
    "critical": ("CRITICAL", "HIGH"),
    "high": ("MAJOR", "HIGH"),
    "moderate": ("MODERATE", "MEDIUM"),
    "low": ("MINOR", "LOW"),
    "information": ("NONE", "NONE"),
}
NETWORK_NODE_CLASSES: dict[str, str] = {"Cisco": "NMS_SWITCH", "Ubiquiti": "NMS_SWITCH", "Fortinet": "NMS_FIREWALL"}
HOST_EVERY = 20
#: Every NULL_LISTS_EVERY-th device sends null ipAddresses/macAddresses/tags (at NULL_LISTS_AT) or none at all.
NULL_LISTS_EVERY = 11
NULL_LISTS_AT = 5
ABSENT_LISTS_AT = 8
#: Every SEVERITYLESS_EVERY-th alert's activities carry no severity or priority (as the captured webhook).
SEVERITYLESS_EVERY = 3
GUESTS_PER_HOST = 2


def _os_family(os_name: str) -> str:
    lowered = os_name.lower()
    if "windows" in lowered:
        return "windows"
    if "mac" in lowered:
        return "mac"
    return "linux"


def node_class_of(device: EmulatedDevice) -> str:
    """The nodeClass the real API would report for a vendor-neutral emulated device."""
    override = device.extra.get("nodeClass")
    if isinstance(override, str) and override:
        return override
    family = _os_family(device.os_name)
    if device.kind in ("workstation", "laptop"):
        return {"windows": "WINDOWS_WORKSTATION", "mac": "MAC", "linux": "LINUX_WORKSTATION"}[family]
    if device.kind == "server":
        if device.extra.get("hypervisor"):
            return "VMWARE_VM_HOST"
        return {"windows": "WINDOWS_SERVER", "mac": "MAC_SERVER", "linux": "LINUX_SERVER"}[family]
    if device.kind == "virtual_machine":
        return "VMWARE_VM_GUEST"
    if device.kind == "printer":
        return "NMS_PRINTER"
    if device.kind == "network_device":
        return NETWORK_NODE_CLASSES.get(device.manufacturer, "NMS_ROUTER")
    if device.kind == "mobile":
        return "ANDROID"
    return "UNMANAGED_DEVICE"


class NinjaOneEmulatorState(NumberedIds):
    """Emulated NinjaOne instance: OAuth2 client credentials, organizations → locations, keyset paging."""

    slug: ClassVar[str] = "ninjaone"
    url_key: ClassVar[str] = "instance_url"
    sites_per_customer: ClassVar[int] = 2
    #: Without `pageSize` NinjaOne answers a large page; the emulator caps at 1000.
    default_page_size: ClassVar[int] = 1000
    max_page_size: ClassVar[int] = 1000
    rate_limit_per_minute: ClassVar[int | None] = None
    token_lifetime: ClassVar[float] = 3600.0
    scopes: ClassVar[frozenset[str]] = frozenset({"monitoring", "management", "control"})

    def __init__(self, **kwargs: Any) -> None:
        self.activities: list[dict[str, Any]] = []
        self.webhook_config: dict[str, Any] | None = None
        self.token_requests = 0
        super().__init__(**kwargs)
        self.users = self._make_users()

    # --- ids: integers as in NinjaOne ---------------------------------------------------------------------------
    def default_credentials(self) -> dict[str, str]:
        return {
            "client_id": f"emu-ninjaone-{self.seed}",
            "client_secret": "emu-" + stable_uuid(self.seed, "ninjaone-client-secret", 0).replace("-", ""),
        }

    def issue_token(self) -> str:
        with self.lock:
            self.token_requests += 1
        return super().issue_token()

    # --- estate -------------------------------------------------------------------------------------------------
    def _generate_device(self, index: int) -> EmulatedDevice:
        device = super()._generate_device(index)
        slot = index % HOST_EVERY
        host_index = index - slot
        if slot == 0 and index + 1 < self.generated_devices:
            self._make_hypervisor(device)
        elif 1 <= slot <= GUESTS_PER_HOST and host_index + 1 < self.generated_devices:
            host = super()._generate_device(host_index)
            device.kind = "virtual_machine"
            device.parent_id = self.device_id(host_index)
            device.site_id, device.customer_id = host.site_id, host.customer_id
            device.manufacturer, device.model, device.serial_number = "VMware, Inc.", "VMware Virtual Platform", ""
            device.os_name = rng_for(self.seed, "ninjaone-guest-os", index).choice(OS_BY_KIND["virtual_machine"])
            self._rename(device)
        elif device.kind == "virtual_machine":
            device.kind = "server"  # stand-alone VMs run an agent: NinjaOne reports them as servers
            self._rename(device)
        return device

    def _make_hypervisor(self, device: EmulatedDevice) -> None:
        device.kind = "server"
        device.extra["hypervisor"] = True
        device.parent_id = None
        device.manufacturer, device.model = "Dell Inc.", "PowerEdge R750"
        device.os_name = "VMware ESXi 8.0.2"
        device.last_user = ""
        self._rename(device)

    def _rename(self, device: EmulatedDevice) -> None:
        customer = self.customer_by_id(device.customer_id)
        device.hostname = device_hostname(customer.name if customer else "", device.kind, device.index)

    def _make_users(self) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        for customer in self.customers:
            for nth in range(2):
                rng = rng_for(self.seed, "ninjaone-user", customer.index * 2 + nth)
                first, last = rng.choice(FIRST_NAMES).title(), rng.choice(LAST_NAMES).title()
                domain = "".join(ch for ch in customer.name.lower() if ch.isalnum())[:24] + ".example"
                user_id = len(users) + 1
                users.append(
                    {
                        "id": user_id,
                        "uid": stable_uuid(self.seed, "ninjaone-user", user_id),
                        "firstName": first,
                        "lastName": last,
                        "email": f"{first.lower()}.{last.lower()}@{domain}",
                        "phone": f"+1 555 01{user_id % 100:02d}",
                        "enabled": True,
                        "administrator": False,
                        "permitAllClients": False,
                        "notifyAllClients": False,
                        "mustChangePw": False,
                        "mfaConfigured": rng.random() < 0.5,
                        "userType": "END_USER",
                        "invitationStatus": "REGISTERED",
                        "organizationId": int(customer.id),
                        "deviceIds": [],
                    }
                )
        users.append(
            {
                "id": len(users) + 1,
                "uid": stable_uuid(self.seed, "ninjaone-user", len(users) + 1),
                "firstName": "Sam",
                "lastName": "Taylor",
                "email": "sam.taylor@msp.example",
                "enabled": True,
                "administrator": True,
                "userType": "TECHNICIAN",
                "invitationStatus": "REGISTERED",
            }
        )
        return users

    # --- rendering in the API's JSON ----------------------------------------------------------------------------
    def organization_json(self, index: int) -> dict[str, Any]:
        customer = self.customers[index]
        return {
            "id": int(customer.id),
            "name": customer.name,
            "description": "",
            "userData": {},
            "nodeApprovalMode": "AUTOMATIC",
        }

    def location_json(self, index: int, *, with_organization: bool = True) -> dict[str, Any]:
        site = self.sites[index]
        _, _, short = site.name.rpartition(" – ")
        rng = rng_for(self.seed, "ninjaone-location", index)
        body: dict[str, Any] = {
            "id": int(site.id),
            "name": short or site.name,
            "address": f"{1 + rng.randrange(250)} Market Street",
            "description": "",
            "userData": {},
        }
        if with_organization:
            body["organizationId"] = int(site.customer_id)
        return body

    def device_json(self, device: EmulatedDevice, *, detailed: bool = True) -> dict[str, Any]:
        """A device as `GET /v2/devices-detailed` (or, with detailed=False, `/v2/devices`) returns it."""
        node_class = node_class_of(device)
        last_contact = device.last_seen.timestamp() + (device.index % 1000) / 1000
        body: dict[str, Any] = {
            "id": int(device.id),
            "uid": stable_uuid(self.seed, "ninjaone-device-uid", device.index),
            "organizationId": int(device.customer_id),
            "locationId": int(device.site_id),
            "nodeClass": node_class,
            "nodeRoleId": 0,
            "rolePolicyId": 0,
            "approvalStatus": "DECOMMISSIONED" if device.deleted else "APPROVED",
            "offline": not device.online,
            "displayName": device.hostname,
            "systemName": device.hostname,
            "dnsName": f"{device.hostname.lower()}.corp.local",
            "created": round(device.created_at.timestamp(), 3),
            "lastContact": round(last_contact, 3),
            "lastUpdate": round(last_contact + 12.5, 3),
            "tags": [],
        }
        quirk = device.index % NULL_LISTS_EVERY
        if device.parent_id is not None:
            body["parentDeviceId"] = int(device.parent_id)
        if not detailed:  # `NodeWithDetailedReferences`: organization and location expanded
            customer = self.customer_by_id(device.customer_id)
            site = self.site_by_id(device.site_id)
            references: dict[str, Any] = {}
            if customer is not None:
                references["organization"] = self.organization_json(customer.index)
            if site is not None:
                references["location"] = self.location_json(site.index, with_organization=False)
            body["references"] = references
            return body
        body["userData"] = {k: v for k, v in device.udf.items()}
        body["ipAddresses"] = [device.ip_address] if device.ip_address else []
        body["macAddresses"] = [device.mac_address] if device.mac_address else []
        body["publicIP"] = device.external_ip
        if quirk == NULL_LISTS_AT:  # the real API sends null for these lists on some devices
            body.update(ipAddresses=None, macAddresses=None, tags=None)
        elif quirk == ABSENT_LISTS_AT:  # … and leaves them out on others (the captured device list item)
            for key in ("ipAddresses", "macAddresses", "tags"):
                del body[key]
        if node_class in (
            "WINDOWS_WORKSTATION",
            "WINDOWS_SERVER",
            "MAC",
            "MAC_SERVER",
            "LINUX_WORKSTATION",
            "LINUX_SERVER",
        ):
            body["netbiosName"] = device.hostname[:15]
            family = _os_family(device.os_name)
            body["os"] = {
                "manufacturer": {"windows": "Microsoft Corporation", "mac": "Apple Inc.", "linux": ""}[family],
                "name": device.os_name,
                "architecture": "64-bit",
                "lastBootTime": round(last_contact - 86400 * (1 + device.index % 9), 3),
                "buildNumber": "10.0.22631" if family == "windows" else "",
                "releaseId": "23H2" if family == "windows" else "",
                "servicePackMajorVersion": 0,
                "servicePackMinorVersion": 0,
                "locale": "en-US",
                "language": "English",
                "needsReboot": device.index % 7 == 3,
            }
            body["system"] = {
                "name": device.hostname,
                "manufacturer": device.manufacturer,
                "model": device.model,
                "biosSerialNumber": device.serial_number,
                "serialNumber": device.serial_number,
                "domain": "corp.local",
                "domainRole": "MEMBER_SERVER" if "SERVER" in node_class else "MEMBER_WORKSTATION",
                "numberOfProcessors": 1,
                "totalPhysicalMemory": (64 if "SERVER" in node_class else 16) * 1024**3,
                "virtualMachine": False,
                "chassisType": "LAPTOP"
                if device.kind == "laptop"
                else ("DESKTOP" if "WORK" in node_class or node_class == "MAC" else "UNKNOWN"),
            }
            body["lastLoggedInUser"] = (
                f"CORP\\{device.last_user}" if device.last_user and "WINDOWS" in node_class else device.last_user
            )
        elif node_class == "VMWARE_VM_HOST":
            body.update(
                name=device.hostname,
                vendor=device.manufacturer,
                model=device.model,
                serviceTag=device.serial_number,
                cpuModel="Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
                cpuCores=32,
                cpuPackages=2,
                cpuThreads=64,
                memorySize=512 * 1024**3,
                releaseName="VMware ESXi 8.0.2",
                version="8.0.2",
                buildNumber="22380479",
                lastBootTime=round(last_contact - 86400 * 30, 3),
            )
        elif node_class == "VMWARE_VM_GUEST":
            body.update(
                fullName=device.hostname,
                guestOSFullName=device.os_name,
                guestOSFamily="windowsGuest" if _os_family(device.os_name) == "windows" else "linuxGuest",
                powerState="poweredOn" if device.online else "poweredOff",
                toolStatus="toolsOk",
                cpuCores=4,
                memorySize=16 * 1024**3,
                snapshotCount=device.index % 3,
            )
        extra = {k: v for k, v in device.extra.items() if k not in ("hypervisor", "nodeClass")}
        body.update(extra)
        return body

    def severity_of(self, alert: EmulatedAlert) -> tuple[str, str]:
        return SEVERITIES.get(alert.priority.lower(), ("MODERATE", "MEDIUM"))

    def source_type_of(self, alert: EmulatedAlert) -> str:
        if alert.alert_type.isupper():
            return alert.alert_type
        return SOURCE_TYPES.get(alert.alert_type, "CONDITION_CUSTOM_FIELD")

    def device_ref(self, device_id: str) -> dict[str, Any] | None:
        device = self.get_device(device_id)
        return None if device is None else self.device_json(device, detailed=False)

    def alert_json(self, alert: EmulatedAlert) -> dict[str, Any]:
        """An active alert as `GET /v2/alerts` returns it: the captured shape, without severity, priority or device.

        The spec's `Alert` also lists severity, priority, device and conditionName, but a real instance's answer
        carries none of them (see the connector README); the condition's severity is on its activities.
        """
        source_type = self.source_type_of(alert)
        source_name = SOURCE_NAMES.get(source_type, alert.alert_type)
        created = alert.raised_at.timestamp()
        return {
            "uid": alert.id,
            "deviceId": int(alert.device_id),
            "message": alert.message,
            "createTime": created,
            "updateTime": created,
            "sourceType": source_type,
            "sourceConfigUid": stable_uuid(self.seed, "ninjaone-condition", len(source_type)),
            "sourceName": source_name,
            "subject": "",
            "data": {"message": {"code": CONDITION_CODES.get(source_type, "agent_cond_custom"),
                                 "params": dict(alert.context)}},
        }

    def activity_json(self, alert: EmulatedAlert, status_code: str, activity_id: int, at: datetime) -> dict[str, Any]:
        """A CONDITION activity (also the webhook payload) for a trigger or reset of an alert.

        Shaped as the captured webhook (`type: "Condition"`); every SEVERITYLESS_EVERY-th alert's activities carry
        no severity or priority, as in that capture, the others carry them as the documented example does.
        """
        base = self.alert_json(alert)
        body: dict[str, Any] = {
            "id": activity_id,
            "activityTime": at.timestamp(),
            "deviceId": base["deviceId"],
            "seriesUid": alert.id,
            "activityType": "CONDITION",
            "statusCode": status_code,
            "status": "Triggered" if status_code == "TRIGGERED" else "Reset",
            "activityResult": "SUCCESS",
            "sourceConfigUid": base["sourceConfigUid"],
            "sourceName": base["sourceName"],
            "subject": base["subject"],
            "userId": 0,
            "message": base["message"],
            "type": "Condition",
            "data": base["data"],
        }
        if self.alert_number(alert) % SEVERITYLESS_EVERY != SEVERITYLESS_EVERY - 1:
            body["severity"], body["priority"] = self.severity_of(alert)
        device = self.get_device(alert.device_id)
        if device is not None:
            body["device"] = self.device_json(device, detailed=False)
        return body

    def alert_number(self, alert: EmulatedAlert) -> int:
        """A stable small number per alert (its position among the alerts raised)."""
        with self.lock:
            for number, alert_id in enumerate(self.alerts):
                if alert_id == alert.id:
                    return number
        return len(self.alerts)

    # --- alerts and their activities ------------------------------------------------------------------------------
    def _record_activity(self, alert: EmulatedAlert, status_code: str, at: datetime) -> dict[str, Any]:
        with self.lock:
            activity_id = 100_000 + len(self.activities) + 1
            activity = self.activity_json(alert, status_code, activity_id, at)
            self.activities.append(activity)
        return activity

    def _store_alert(
        self,
        device_id: str,
        message: str,
        priority: str,
        alert_type: str,
        raised_at: datetime,
        context: dict[str, Any] | None = None,
    ) -> EmulatedAlert:
        alert = super()._store_alert(device_id, message, priority, alert_type, raised_at, context)
        self._record_activity(alert, "TRIGGERED", raised_at)
        return alert

    def resolve_alert(self, alert_id: str, *, by: str = "emulator") -> EmulatedAlert:
        with self.lock:
            was_open = alert_id in self.alerts and not self.alerts[alert_id].resolved
            alert = super().resolve_alert(alert_id, by=by)
            if was_open:
                self._record_activity(alert, "RESET", alert.resolved_at or datetime.now(UTC))
        return alert

    # --- vendor hooks ---------------------------------------------------------------------------------------------
    def error_body(self, status: int, message: str, path: str) -> Any:
        """NinjaOne's error shapes: OAuth-style for 401, resultCode/errorMessage/incidentId otherwise."""
        if status == 401:
            return {"error": "not_authenticated", "error_description": "Invalid credentials", "error_code": 10}
        code = {403: "FORBIDDEN", 404: "NOT_FOUND", 429: "TOO_MANY_REQUESTS"}.get(status, "FAILURE")
        return {"resultCode": code, "errorMessage": message, "incidentId": stable_uuid(self.seed, path, status)}

    def webhook_payload(self, alert: EmulatedAlert) -> dict[str, Any]:
        """The activity NinjaOne POSTs for the alert's latest state (TRIGGERED, or RESET once resolved)."""
        wanted = "RESET" if alert.resolved else "TRIGGERED"
        with self.lock:
            for activity in reversed(self.activities):
                if activity["seriesUid"] == alert.id and activity["statusCode"] == wanted:
                    return dict(activity)
        return self.activity_json(alert, wanted, 100_000 + len(self.activities) + 1, datetime.now(UTC))

    def webhook_headers(self, body: bytes, secret: str | None) -> dict[str, str]:
        """NinjaOne sends the custom headers configured with `PUT /v2/webhook` (e.g. a shared secret)."""
        if not secret:
            return {}
        return {"X-Webhook-Secret": secret}

    def summary(self) -> dict[str, Any]:
        data = super().summary()
        with self.lock:
            data["token_requests"] = self.token_requests
            data["webhook"] = self.webhook_config
            data["users"] = len(self.users)
        return data


def _index_end(state: NinjaOneEmulatorState) -> int:
    """One past the highest device index ever issued (generated or added)."""
    with state.lock:
        return state._next_added
