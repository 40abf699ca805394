"""The webhook endpoint: POST /hooks/<slug>/<token>/ — authenticate, store raw, process, answer."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rmmbridge.alerts.intake.webhooks import (
    MAX_BODY_BYTES,
    REPLAY_WINDOW_SECONDS,
    SECRET_HEADERS,
    SIGNATURE_HEADERS,
    TEST_DELIVERY,
    authenticate,
    body_digest,
)
from rmmbridge.alerts.models import AlertEvent, AlertingConfig, Channel, EventStatus
from rmmbridge.alerts.processing import process_event, store_event
from rmmbridge.common.clock import utcnow

log = logging.getLogger(__name__)

#: Seconds a sender is asked to wait (Retry-After) when the event could not be stored.
RETRY_AFTER_SECONDS = 30

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
    digest = body_digest(body)
    earlier = _earlier_delivery(int(config.integration_id), digest)
    if earlier is not None:  # a replay (or the sender's retry) of a body already handled: not processed again
        log.warning("webhook for integration %s: body already received as event %s; not processed again",
                    config.integration_id, earlier.pk)
        return JsonResponse({"event_id": earlier.pk, "status": "duplicate", "ticket_id": earlier.ticket_id,
                             "reason": f"The same body was received as event #{earlier.pk}; not processed again."},
                            status=200)
    try:
        event = store_event(Channel.WEBHOOK, body, headers=headers, integration=config.integration,
                            message_id=digest)
    except DatabaseError as exc:  # not stored: the sender must send it again (never a 500 that drops it)
        log.error("webhook for integration %s could not be stored: %s", config.integration_id, exc)
        response = JsonResponse({"error": "The event could not be stored right now; send it again shortly."},
                                status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    try:
        outcome = process_event(event)
    except Exception as exc:  # stored and committed: processed later by `rmmbridge alerts process-pending`
        log.exception("webhook event %s stored but not processed", event.pk)
        return JsonResponse({"event_id": event.pk, "status": "pending", "ticket_id": None,
                             "error": f"Stored; processing failed ({type(exc).__name__}) and is retried."},
                            status=202)
    if outcome.reason.startswith(TEST_DELIVERY):  # a vendor's test fire: acknowledged, recorded, no ticket
        return JsonResponse({"event_id": outcome.event_id, "status": "test", "ticket_id": None}, status=200)
    return JsonResponse({"event_id": outcome.event_id, "status": outcome.status, "ticket_id": outcome.ticket_id,
                         "reason": outcome.reason[:500]},
                        status=outcome.http_status or 202)


def _earlier_delivery(integration_id: int, digest: str) -> AlertEvent | None:
    """An event of this integration with the same body digest, handled within the replay window."""
    since = utcnow() - timedelta(seconds=REPLAY_WINDOW_SECONDS)
    return (AlertEvent.objects.filter(channel=Channel.WEBHOOK, integration_id=integration_id, message_id=digest,
                                      received_at__gte=since)
            .exclude(status__in=[EventStatus.PENDING, EventStatus.ERROR]).order_by("id").first())
