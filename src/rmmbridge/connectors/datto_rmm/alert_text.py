"""Readable one-line summaries of Datto RMM alert contexts (`alertContext` by its `@class`), never a dict repr."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Context = Mapping[str, Any]

#: Readable label per `@class` (the classes of the samples, aaronengels/DattoRMM and the spec's context schemas).
LABELS: dict[str, str] = {
    "antivirus_ctx": "Antivirus",
    "backup_management_ctx": "Backup",
    "comp_script_ctx": "Component",
    "custom_snmp_ctx": "SNMP",
    "disk_health_ctx": "Disk health",
    "endpoint_security_threat_ctx": "Endpoint security",
    "endpoint_security_windows_defender_ctx": "Windows Defender",
    "eventlog_ctx": "Event log",
    "fan_ctx": "Fan",
    "fs_object_ctx": "File/folder size",
    "network_monitor_ctx": "Network monitor",
    "online_offline_status_ctx": "Online status",
    "patch_ctx": "Patch",
    "perf_disk_usage_ctx": "Disk usage",
    "perf_mon_ctx": "Performance counter",
    "perf_resource_usage_ctx": "Resource usage",
    "ping_ctx": "Ping",
    "printer_ctx": "Printer",
    "process_resource_usage_ctx": "Process",
    "process_status_ctx": "Process",
    "psu_ctx": "Power supply",
    "ransomware_ctx": "Ransomware",
    "sec_center_ctx": "Security centre",
    "sec_management_ctx": "Security management",
    "snmp_probe_ctx": "SNMP probe",
    "srvc_resource_usage_ctx": "Service",
    "srvc_status_ctx": "Service",
    "sw_action_ctx": "Software",
    "temperature_ctx": "Temperature",
    "wmi_ctx": "WMI",
}


def text(value: Any) -> str:
    """A value as a person reads it: numbers without a trailing .0, lists joined, mappings as `key: value`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, Mapping):
        return "; ".join(f"{humanize(str(k))}: {text(v)}" for k, v in value.items() if text(v))
    if isinstance(value, list | tuple):
        return ", ".join(t for t in (text(v) for v in value) if t)
    return " ".join(str(value).split())


def humanize(key: str) -> str:
    """`offlineDurationMinutes` → `Offline duration minutes`, `exit_code` → `Exit code`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key.lstrip("@")).replace("_", " ").strip().lower()
    return spaced[:1].upper() + spaced[1:]


def _get(ctx: Context, *keys: str) -> str:
    for key in keys:
        value = text(ctx.get(key))
        if value:
            return value
    return ""


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _percent(value: Any) -> str:
    shown = text(value)
    return f"{shown}%" if shown else ""


def _antivirus(ctx: Context, device: str) -> str:
    product = _get(ctx, "productName", "product")
    status = _get(ctx, "status", "antivirusStatus")
    threat = _get(ctx, "threatName", "virusName")
    action = _get(ctx, "action")
    head = _join("Antivirus", product, status)
    if threat:
        head += f": threat {threat}" + (f" ({action})" if action else "")
    elif action:
        head += f": {action}"
    return head


def _eventlog(ctx: Context, device: str) -> str:
    description = _get(ctx, "description", "message")
    details = ", ".join(p for p in (
        f"event {_get(ctx, 'code', 'eventId')}" if _get(ctx, "code", "eventId") else "",
        _get(ctx, "type"),
        f"source {_get(ctx, 'source', 'eventSource')}" if _get(ctx, "source", "eventSource") else "",
        f"log {_get(ctx, 'logName', 'eventLogName')}" if _get(ctx, "logName", "eventLogName") else "",
    ) if p)
    return _join(description or "Event log entry", f"({details})" if details else "")


def _script(ctx: Context, device: str) -> str:
    samples = ctx.get("samples")
    if isinstance(samples, Mapping) and samples:
        values = [text(v) for v in samples.values() if text(v)]
        if len(values) == 1:
            return values[0]
        return text(samples)
    name = _get(ctx, "componentName", "name")
    exit_code = _get(ctx, "exitCode")
    output = _get(ctx, "stdOut", "stdErr", "output")
    head = _join("Component", name, f"exit code {exit_code}" if exit_code else "")
    return f"{head}: {output}" if output else head


def _fs_object(ctx: Context, device: str) -> str:
    kind = "Folder" if _get(ctx, "objectType").upper() == "DIRECTORY" else "File/folder"
    threshold = _get(ctx, "threshold")
    return _join(kind, _get(ctx, "path"), _get(ctx, "condition").lower().replace("_", " "), _get(ctx, "sample"),
                 f"(threshold {threshold})" if threshold else "")


def _online(ctx: Context, device: str) -> str:
    status = _get(ctx, "status", "currentStatus").lower()
    minutes = _get(ctx, "offlineDurationMinutes")
    return _join("Device", device, status or "changed status",
                 f"for {minutes} min" if minutes and status == "offline" else "")


def _patch(ctx: Context, device: str) -> str:
    what = _get(ctx, "info", "patchTitle", "patchUid")
    result = _get(ctx, "result", "patchStatus")
    severity = _get(ctx, "severity")
    return _join("Patch", what, result, f"({severity})" if severity else "")


def _disk_usage(ctx: Context, device: str) -> str:
    disk = _get(ctx, "diskName", "diskNameDesignation")
    free, total = ctx.get("freeSpace"), ctx.get("totalVolume")
    unit = _get(ctx, "unitOfMeasure").upper()
    if isinstance(free, int | float) and isinstance(total, int | float) and total > 0 and unit != "PERCENT":
        return _join("Disk", disk, f"has {round(free / total * 100)}% free space left")
    if free is not None:
        return _join("Disk", disk, "free space", text(free) + ("%" if unit == "PERCENT" else ""))
    return _join("Disk", disk, "usage alert")


def _resource(ctx: Context, device: str) -> str:
    kind = _get(ctx, "type", "metric")
    kind = {"cpu": "CPU", "memory": "Memory", "snmp_throughput": "SNMP throughput"}.get(kind.lower(), kind)
    value = _percent(ctx.get("percentage") if ctx.get("percentage") is not None else ctx.get("observedPercent"))
    threshold = _percent(ctx.get("thresholdPercent"))
    return _join(kind or "Resource", "usage", f"reached {value}" if value else "",
                 f"(threshold {threshold})" if threshold else "")


def _named_usage(noun: str, *name_keys: str) -> Callable[[Context, str], str]:
    def render(ctx: Context, device: str) -> str:
        kind = _get(ctx, "type")
        kind = {"CPU": "CPU", "MEMORY": "memory"}.get(kind.upper(), kind.lower())
        return _join(noun, _get(ctx, *name_keys), kind, f"reached {_percent(ctx.get('sample'))}"
                     if ctx.get("sample") is not None else "")

    return render


def _named_status(noun: str, *name_keys: str) -> Callable[[Context, str], str]:
    def render(ctx: Context, device: str) -> str:
        return _join(noun, _get(ctx, *name_keys), _get(ctx, "status").lower() or "changed status")

    return render


def _ping(ctx: Context, device: str) -> str:
    rtt = _get(ctx, "roundtripTime")
    reasons = _get(ctx, "reasons")
    head = _join("Ping", _get(ctx, "instanceName"), f"roundtrip {rtt} ms" if rtt else "failed")
    return f"{head}: {reasons}" if reasons else head


def _security_management(ctx: Context, device: str) -> str:
    parts = [_join(_get(ctx, "productName") or "Security product", f"status {_get(ctx, 'status')}"
                   if _get(ctx, "status") else "")]
    if _get(ctx, "virusName"):
        parts.append(f"found {_get(ctx, 'virusName')}")
    files = ctx.get("infectedFiles")
    if isinstance(files, list) and files:
        parts.append(f"{len(files)} infected file(s)")
    for key, unit in (("productNotUpdatedForDays", "not updated for {} day(s)"),
                      ("systemRemainsInfectedForHours", "infected for {} hour(s)"),
                      ("expiryLicenseForDays", "licence expired {} day(s) ago")):
        if _get(ctx, key):
            parts.append(unit.format(_get(ctx, key)))
    return ", ".join(parts)


def _sec_center(ctx: Context, device: str) -> str:
    state = {"DISABLED": "disabled", "NOT_UPTODATE": "not up to date"}.get(_get(ctx, "alertType"),
                                                                           _get(ctx, "alertType").lower())
    return _join("Security centre:", _get(ctx, "productName") or "security product", state)


def _software(ctx: Context, device: str) -> str:
    action = {"INSTALLED": "installed", "UNINSTALLED": "uninstalled",
              "VERSION_CHANGED": "version changed"}.get(_get(ctx, "actionType"), _get(ctx, "actionType").lower())
    previous = _get(ctx, "prevVersion")
    return _join("Software", _get(ctx, "packageName"), _get(ctx, "version"), action,
                 f"(was {previous})" if previous else "")


def _snmp_probe(ctx: Context, device: str) -> str:
    name = _get(ctx, "monitorName", "ruleName")
    where = _get(ctx, "deviceName", "ipAddress")
    oid = _get(ctx, "oid", "OID")
    value = _get(ctx, "responseValue")
    return _join("SNMP", name, f"on {where}" if where else "", f"{oid} = {value}" if oid else value)


def _custom_snmp(ctx: Context, device: str) -> str:
    instance = _get(ctx, "monitorInstance")
    value = _get(ctx, "currentValue")
    return _join("SNMP", _get(ctx, "displayName"), f"({instance})" if instance else "",
                 f"value {value}" if value else "")


def _ransomware(ctx: Context, device: str) -> str:
    confidence = _percent(ctx.get("confidenceFactor"))
    where = _get(ctx, "affectedDirectories")
    return _join("Ransomware activity detected", f"(confidence {confidence})" if confidence else "",
                 f"in {where}" if where else "")


def _hardware(noun: str) -> Callable[[Context, str], str]:
    def render(ctx: Context, device: str) -> str:
        reason = _get(ctx, "reason")
        return f"{noun}: {reason}" if reason else f"{noun} alert"

    return render


def _temperature(ctx: Context, device: str) -> str:
    degree = _get(ctx, "degree")
    return f"Temperature {degree} °C" if degree else "Temperature alert"


def _printer(ctx: Context, device: str) -> str:
    level = _percent(ctx.get("currentLevel"))
    supply = _get(ctx, "markerSupplyIndex")
    return _join("Printer", _get(ctx, "ipAddress"), f"supply {supply}" if supply else "",
                 f"at {level}" if level else "")


def _described(noun: str) -> Callable[[Context, str], str]:
    def render(ctx: Context, device: str) -> str:
        detail = _get(ctx, "description", "errorMessage")
        return f"{noun}: {detail}" if detail else f"{noun} alert"

    return render


RENDERERS: dict[str, Callable[[Context, str], str]] = {
    "antivirus_ctx": _antivirus,
    "backup_management_ctx": _described("Backup"),
    "comp_script_ctx": _script,
    "custom_snmp_ctx": _custom_snmp,
    "disk_health_ctx": _hardware("Disk health"),
    "endpoint_security_threat_ctx": _described("Endpoint security threat"),
    "endpoint_security_windows_defender_ctx": _described("Windows Defender"),
    "eventlog_ctx": _eventlog,
    "fan_ctx": _hardware("Fan"),
    "fs_object_ctx": _fs_object,
    "network_monitor_ctx": _described("Network monitor"),
    "online_offline_status_ctx": _online,
    "patch_ctx": _patch,
    "perf_disk_usage_ctx": _disk_usage,
    "perf_mon_ctx": lambda ctx, device: _join("Performance counter returned", _get(ctx, "value") or "a value"),
    "perf_resource_usage_ctx": _resource,
    "ping_ctx": _ping,
    "printer_ctx": _printer,
    "process_resource_usage_ctx": _named_usage("Process", "processName"),
    "process_status_ctx": _named_status("Process", "processName"),
    "psu_ctx": _hardware("Power supply"),
    "ransomware_ctx": _ransomware,
    "sec_center_ctx": _sec_center,
    "sec_management_ctx": _security_management,
    "snmp_probe_ctx": _snmp_probe,
    "srvc_resource_usage_ctx": _named_usage("Service", "serviceName", "processName"),
    "srvc_status_ctx": _named_status("Service", "serviceName", "processName"),
    "sw_action_ctx": _software,
    "temperature_ctx": _temperature,
    "wmi_ctx": lambda ctx, device: _join("WMI query returned", _get(ctx, "value") or "a value"),
}


def label(context_class: str) -> str:
    """The readable name of a context class (`perf_disk_usage_ctx` → `Disk usage`; unknown ones humanized)."""
    known = LABELS.get(context_class)
    if known:
        return known
    return humanize(context_class.removesuffix("_ctx")) or "Alert"


def generic(context: Context) -> str:
    """`Label: Key value, Key value` from every non-empty field (an unknown class still reads as text)."""
    details = ", ".join(f"{humanize(str(k))} {text(v)}" for k, v in context.items()
                        if str(k) != "@class" and text(v))
    name = label(str(context.get("@class") or ""))
    return f"{name}: {details}" if details else name


def summarize(context: Context | None, device_name: str = "") -> str:
    """A readable summary of one alert context; '' when there is no context at all."""
    if not context:
        return ""
    context_class = str(context.get("@class") or "")
    render = RENDERERS.get(context_class)
    if render is not None:
        try:
            summary = " ".join(render(context, device_name).split())
        except (TypeError, ValueError, AttributeError):
            summary = ""
        if summary:
            return summary
    return generic(context)
