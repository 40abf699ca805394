"""The API tokens page: a person's tokens (prefix, scope, expiry, last used), create one (shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rmmbridge.api.models import ApiToken, TokenScope
from rmmbridge.api.tokens import do_create_token, do_revoke_token, parse_expiry
from rmmbridge.servicedesk.actions import Actor


def token_list(request: HttpRequest) -> HttpResponse:
    """GET: the person's tokens. POST: create a token; its text is on this one response only."""
    created = ""
    if request.method == "POST":
        try:
            _, created = do_create_token(
                Actor.ui(request.user), request.user, scope=request.POST.get("scope", ""),
                name=request.POST.get("name", ""), expires_in=parse_expiry(request.POST.get("expires", "")))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
    tokens = ApiToken.objects.filter(user_id=int(request.user.pk or 0))
    return render(request, "api/tokens.html", {"tokens": tokens, "created": created, "scopes": TokenScope.choices})


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user_id=int(request.user.pk or 0))
    if do_revoke_token(Actor.ui(request.user), token):
        messages.success(request, f"Revoked the token {token.prefix}…; scripts using it now get 401.")
    return redirect("apitokens:token_list")
