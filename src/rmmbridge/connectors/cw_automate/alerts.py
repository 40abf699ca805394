"""Automate alert e-mails → RemoteAlert. The REST API has no push and no resolve: Automate e-mails its alerts.

Automate's monitors e-mail an alert built from the monitor's alert template; the default internal-monitor message
(subject and body) is::

    %NAME% %STATUS% on %CLIENTNAME%\\%COMPUTERNAME% at %LOCATIONNAME% for %FIELDNAME% result %RESULT%.

with STATUS `FAILED` when the monitor trips and `SUCCESS` when it recovers. The sender is whatever the Automate
server's mail settings say (Halo's e-mail rule matches on that From address). The subject carries no alert id, so
e-mail alerts have an empty external id and the alerts pipeline keys them by computer + monitor name.
"""

from __future__ import annotations

from dataclasses import dataclass

from rmmbridge.connectors.cw_automate.const import ALERT_SUBJECT_RE, RESOLVED_STATUSES
from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.records import AlertState, RemoteAlert


@dataclass(frozen=True, slots=True)
class AutomateAlertMail:
    """The parts of Automate's default alert message."""

    monitor: str
    status: str
    client: str
    computer: str
    location: str
    field: str
    result: str


def parse_alert_line(text: str) -> AutomateAlertMail | None:
    """Parse one `%NAME% %STATUS% on %CLIENTNAME%\\%COMPUTERNAME% at …` line; None when it is not one."""
    for line in (text or "").splitlines() or [""]:
        match = ALERT_SUBJECT_RE.match(" ".join(line.split()))
        if match:
            parts = {k: (v or "").strip() for k, v in match.groupdict().items()}
            return AutomateAlertMail(
                monitor=parts["name"],
                status=parts["status"].upper(),
                client=parts["client"],
                computer=parts["computer"],
                location=parts["location"],
                field=parts["field"],
                result=parts["result"].rstrip("."),
            )
    return None


def parse_alert_email(subject: str, body: str = "") -> RemoteAlert:
    """An Automate alert e-mail as a RemoteAlert (FAILED → open, SUCCESS → resolved).

    The subject is tried first, then each body line (templates often put the message only in the body). Raises
    ConnectorFatalError saying what was expected when neither is an Automate alert message.
    """
    mail = parse_alert_line(subject) or parse_alert_line(body)
    if mail is None:
        raise ConnectorFatalError(
            f"Not an Automate alert e-mail: {subject[:120]!r}. Expected the monitor alert message "
            "'<monitor> FAILED on <client>\\<computer> at <location> for <field> result <result>.'"
        )
    resolved = mail.status in RESOLVED_STATUSES
    message = f"{mail.monitor} {mail.status}" + (f": {mail.field} result {mail.result}" if mail.field else "")
    return RemoteAlert(
        external_id="",
        device_external_id=None,
        message=message,
        severity="",
        alert_type=mail.monitor,
        state=AlertState.RESOLVED if resolved else AlertState.OPEN,
        hostname=mail.computer,
        raw={
            "subject": subject,
            "monitor": mail.monitor,
            "status": mail.status,
            "client": mail.client,
            "computer": mail.computer,
            "location": mail.location,
            "field": mail.field,
            "result": mail.result,
        },
    )
