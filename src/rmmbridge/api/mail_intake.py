"""POST /intake/mail/: one raw e-mail from `rmmbridge mailgate` (API token, scope write), stored, then processed."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rmmbridge.alerts.intake.background import submit
from rmmbridge.alerts.intake.spool import INTAKE_HEADER
from rmmbridge.alerts.models import Channel
from rmmbridge.alerts.processing import store_event
from rmmbridge.api.models import TokenScope
from rmmbridge.api.permissions import allowed
from rmmbridge.api.tokens import check_token
from rmmbridge.common.spool import MAX_MESSAGE_BYTES, mail_problem

log = logging.getLogger(__name__)

#: Seconds mailgate (and so the MTA) is asked to wait when the message could not be stored.
RETRY_AFTER_SECONDS = 30


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _refusal(request: HttpRequest) -> JsonResponse | None:
    """401/403 when the caller has no API token that may write; None when it may deliver mail."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return _error(401, "Send the header 'Authorization: Bearer <token>' with an API token of scope write "
                           "(rmmbridge mailgate reads it from --token-file or RMMBRIDGE_MAILGATE_TOKEN).")
    checked = check_token(value.strip())
    if checked.token is None:
        return _error(401, checked.problem)
    if checked.token.scope != TokenScope.WRITE:
        return _error(403, f"The API token {checked.token.prefix}… may only read; create one with scope write.")
    if not allowed(checked.token.user, "tickets.write"):
        return _error(403, "The API token's user may not create tickets; give the user the technician or "
                           "administrator role.")
    return None


def _body(request: HttpRequest) -> bytes | JsonResponse:
    """The message bytes (read from the stream, bounded), or the 413 answer."""
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "The Content-Length header is not a number.")
    if declared > MAX_MESSAGE_BYTES:
        return _error(413, f"The message has {declared} bytes; at most {MAX_MESSAGE_BYTES} are accepted.")
    raw = request.read(MAX_MESSAGE_BYTES + 1)  # not request.body: its 2.5 MB form limit is not the mail limit
    if len(raw) > MAX_MESSAGE_BYTES:
        return _error(413, f"The message is larger than {MAX_MESSAGE_BYTES} bytes.")
    return raw


@csrf_exempt
@login_not_required
@require_POST
def receive_mail(request: HttpRequest) -> HttpResponse:
    """Store the message raw (committed on its own) and answer 202; it is then processed as any alert e-mail."""
    try:
        refused = _refusal(request)
    except DatabaseError as exc:  # the token cannot even be checked: the database is locked or down
        log.error("mail intake: token check failed: %s", exc)
        return _error(503, "The database is not available right now; mailgate exits 75 and the mail server retries.")
    if refused is not None:
        return refused
    raw = _body(request)
    if isinstance(raw, JsonResponse):
        return raw
    problem = mail_problem(raw)
    if problem:
        return _error(400, f"Not delivered: {problem}.")
    try:
        with transaction.atomic():
            event = store_event(Channel.EMAIL, raw, headers={INTAKE_HEADER: "mailgate"})
    except DatabaseError as exc:  # not stored: the sender must send it again (never a 500 that drops it)
        log.error("mail intake: message could not be stored: %s", exc)
        return _error(503, "The message could not be stored right now (database locked or unavailable); "
                           "send it again shortly.")
    submit(int(event.pk))  # committed: processed next on the intake thread (or by `alerts process-pending`)
    return JsonResponse({"event_id": event.pk, "status": "pending", "ticket_id": None,
                         "reason": "Stored; processed as alert e-mail next."}, status=202)
