"""The webhook endpoint: POST /hooks/<slug>/<token>/ — authenticate, store raw, process, answer."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rmmbridge.alerts.intake.webhooks import (
    MAX_BODY_BYTES,
    SECRET_HEADERS,
    SIGNATURE_HEADERS,
    TEST_DELIVERY,
    authenticate,
)
from rmmbridge.alerts.models import AlertingConfig, Channel
from rmmbridge.alerts.processing import process_event, store_event

log = logging.getLogger(__name__)

KEPT_HEADERS = ("content-type", "user-agent", "x-request-id", "x-ninja-webhook", "x-datto-webhook")


def _challenge_answer(
    slug: str, request: HttpRequest, problem: str | None, integration_id: int
) -> HttpResponse | None:
    """A vendor's webhook validation challenge (Addigy's), answered 200 with its token echoed; nothing is stored.

    The vendor's manifest names the `challenge_response` hook. Only reached with a valid URL token. The challenge
    carries no alert, so a missing secret header is accepted (echoing a token the caller chose reveals nothing),
    but a secret that is sent must be the right one.
    """
    from rmmbridge.connectors.registry import manifest

    vendor = manifest(slug)
    challenge_response = vendor.alert_hook("challenge_response") if vendor is not None else None
    if challenge_response is None:
        return None
    answer = challenge_response(request.headers)
    if answer is None:
        return None
    lowered = {k.lower() for k in request.headers}
    if problem is not None and lowered & set(SECRET_HEADERS + SIGNATURE_HEADERS + ("authorization",)):
        return JsonResponse({"error": f"Unauthorized: {problem}."}, status=401)
    headers, body = answer
    response = HttpResponse(body, status=200, content_type=headers.get("Content-Type", "application/json"))
    for name, value in headers.items():
        if name.lower() != "content-type":
            response[name] = value
    log.info("answered %s's webhook validation challenge for integration %s", vendor.name if vendor else slug,
             integration_id)
    return response


@csrf_exempt
@login_not_required
@require_POST
def webhook(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """Receive one vendor webhook. 404 for an unknown URL, 401 for bad authentication (nothing stored)."""
    config = AlertingConfig.objects.select_related("integration").filter(webhook_token=token).first()
    if config is None or config.integration.vendor != slug:
        return JsonResponse({"error": "Unknown webhook URL; copy it from the integration's Alerting setup."},
                            status=404)
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return JsonResponse({"error": f"Body larger than {MAX_BODY_BYTES} bytes."}, status=413)
    problem = authenticate(config, body, request.headers)
    challenge = _challenge_answer(slug, request, problem, int(config.integration_id))
    if challenge is not None:
        return challenge
    if problem is not None:
        log.warning("webhook for integration %s refused: %s", config.integration_id, problem)
        return JsonResponse({"error": f"Unauthorized: {problem}."}, status=401)
    if not config.enabled:
        return JsonResponse({"error": "Alerting is switched off for this integration."}, status=409)
    headers = {k: v for k, v in request.headers.items() if k.lower() in KEPT_HEADERS}
    event = store_event(Channel.WEBHOOK, body, headers=headers, integration=config.integration)
    outcome = process_event(event)
    if outcome.reason.startswith(TEST_DELIVERY):  # a vendor's test fire: acknowledged, recorded, no ticket
        return JsonResponse({"event_id": outcome.event_id, "status": "test", "ticket_id": None}, status=200)
    return JsonResponse({"event_id": outcome.event_id, "status": outcome.status, "ticket_id": outcome.ticket_id},
                        status=202 if outcome.status != "error" else 500)
