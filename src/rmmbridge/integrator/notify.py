"""Health notifications to admins: e-mail through Django's SMTP backend and/or a webhook (JSON, Slack, Teams)."""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from rmmbridge.common.redact import redact_text
from rmmbridge.integrator.health_rules import NoticeKind
from rmmbridge.integrator.models import HealthProblem

WEBHOOK_FORMATS = ("json", "slack", "teams")


class NotifyFailed(Exception):
    """No configured notification channel took the message: check the SMTP or webhook settings."""


def _link(path: str) -> str:
    if not path:
        return ""
    return f"{settings.PUBLIC_URL}{path}" if settings.PUBLIC_URL else path


def subject(kind: NoticeKind, problem: HealthProblem) -> str:
    word = {NoticeKind.PROBLEM: "Problem", NoticeKind.REMINDER: "Still a problem", NoticeKind.RECOVERY: "Recovered"}
    return f"[rmmbridge] {word[kind]}: {problem.title}"


def body(kind: NoticeKind, problem: HealthProblem) -> str:
    lines = [subject(kind, problem).removeprefix("[rmmbridge] "), ""]
    if kind is NoticeKind.RECOVERY:
        lines.append(f"This problem has cleared (it opened {problem.opened_at:%Y-%m-%d %H:%M} UTC).")
        lines.append(f"It was: {problem.evidence}")
    else:
        lines.append(problem.evidence)
        if problem.fix_url:
            lines += ["", f"Fix it here: {_link(problem.fix_url)}"]
    lines += ["", f"Problem key: {problem.key}. Every open problem: {_link('/ops/health/')}"]
    return "\n".join(lines) + "\n"


def recipients() -> list[str]:
    """RMMBRIDGE_HEALTH_EMAIL_TO, else the e-mail addresses of the active superusers."""
    if settings.HEALTH_EMAIL_TO:
        return list(settings.HEALTH_EMAIL_TO)
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def webhook_body(kind: NoticeKind, problem: HealthProblem, fmt: str) -> dict[str, Any]:
    """The webhook's JSON: rmmbridge's own shape, Slack's incoming-webhook `text`, or a Teams MessageCard."""
    title = subject(kind, problem).removeprefix("[rmmbridge] ")
    text = body(kind, problem)
    if fmt == "slack":
        return {"text": f"*{title}*\n{text}"}
    if fmt == "teams":
        card: dict[str, Any] = {
            "@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": title,
            "themeColor": "2EB886" if kind is NoticeKind.RECOVERY else "D00000", "title": title,
            "text": problem.evidence,
        }
        if problem.fix_url and kind is not NoticeKind.RECOVERY:
            card["potentialAction"] = [{"@type": "OpenUri", "name": "Fix it",
                                        "targets": [{"os": "default", "uri": _link(problem.fix_url)}]}]
        return card
    return {"event": str(kind), "key": problem.key, "kind": problem.kind, "integration_id": problem.integration_id,
            "channel": problem.channel, "title": problem.title, "evidence": problem.evidence,
            "fix_url": _link(problem.fix_url), "opened_at": problem.opened_at.isoformat(),
            "recovered_at": problem.recovered_at.isoformat() if problem.recovered_at else None}


def configured() -> list[str]:
    """The notification channels that are set up: "email" and/or "webhook"."""
    channels = []
    if settings.EMAIL_HOST:
        channels.append("email")
    if settings.HEALTH_WEBHOOK_URL:
        channels.append("webhook")
    return channels


def send(kind: NoticeKind, problem: HealthProblem) -> list[str]:
    """Send one notice on every configured channel; raise NotifyFailed when a configured channel failed.

    With no channel configured there is nothing to send and the notice counts as told (the problem is still shown
    on /ops/health/ and in `rmmbridge status`).
    """
    sent: list[str] = []
    failures: list[str] = []
    if settings.EMAIL_HOST:
        to = recipients()
        if not to:
            failures.append("e-mail: no recipients; set RMMBRIDGE_HEALTH_EMAIL_TO or give a superuser an e-mail "
                            "address")
        else:
            try:
                connection = get_connection("django.core.mail.backends.smtp.EmailBackend", fail_silently=False)
                EmailMessage(subject(kind, problem), body(kind, problem), settings.DEFAULT_FROM_EMAIL, to,
                             connection=connection).send()
                sent.append("email")
            except Exception as exc:  # smtplib errors, refused connections, TLS problems
                failures.append(f"e-mail via {settings.EMAIL_HOST}:{settings.EMAIL_PORT} failed: {exc}")
    if settings.HEALTH_WEBHOOK_URL:
        fmt = settings.HEALTH_WEBHOOK_FORMAT if settings.HEALTH_WEBHOOK_FORMAT in WEBHOOK_FORMATS else "json"
        try:
            answer = httpx.post(settings.HEALTH_WEBHOOK_URL, json=webhook_body(kind, problem, fmt), timeout=10)
            answer.raise_for_status()
            sent.append("webhook")
        except httpx.HTTPError as exc:
            failures.append(redact_text(f"webhook failed: {exc}", [settings.HEALTH_WEBHOOK_URL]))
    if failures:
        raise NotifyFailed("; ".join(failures))
    return sent
