"""The e-mail rule constants in cw_automate.const read the emulator's Automate alert mail with the alerts app's
rule engine: matched, keyed by computer + field, FAILED opens and SUCCESS recovers."""

from __future__ import annotations

from email.message import EmailMessage

from rmmbridge.alerts.intake.email import parse_email
from rmmbridge.alerts.intake.rules import match_rules
from rmmbridge.alerts.models import EmailRule, FromMatch
from rmmbridge.connectors.cw_automate import const
from rmmbridge.connectors.cw_automate.emulator.state import CwAutomateEmulatorState


def mail_bytes(sender: str, subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "alerts@desk.example", subject
    message["Message-ID"] = "<1@automate.example>"
    message.set_content(body)
    return bytes(message)


def test_the_rule_reads_the_emulated_alert_mail() -> None:
    state = CwAutomateEmulatorState(seed=5, customers=2, devices=20, alerts=2)
    rule = EmailRule(
        name=const.EMAIL_RULE_NAME,
        from_match=FromMatch.EXACT,
        from_address=state.alert_sender,
        subject_pattern=const.EMAIL_SUBJECT_PATTERN,
        recovery_pattern=const.EMAIL_RECOVERY_PATTERN,
        markers=[{"start": a, "end": b, "field": c} for a, b, c in const.EMAIL_MARKERS],
    )
    alert = state.open_alerts()[0]
    device = state.get_device(alert.device_id)
    assert device is not None
    opened = match_rules(parse_email(mail_bytes(*state.alert_email(alert))), [rule])
    state.resolve_alert(alert.id)
    cleared = match_rules(parse_email(mail_bytes(*state.alert_email(alert))), [rule])
    assert (opened.status, opened.recovery, opened.alert_id) == ("matched", False, "")
    assert (cleared.status, cleared.recovery) == ("matched", True)
    assert opened.fields["hostname"] == device.hostname
    assert opened.fields["condition"] == cleared.fields["condition"] != ""
    other = match_rules(parse_email(mail_bytes(state.alert_sender, "Weekly report", "Nothing to see")), [rule])
    assert other.status == "unmatched"
