"""API authentication: a Bearer token (scoped, acting as its user) or the browser's session (with CSRF)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from rmmbridge.api.models import ApiToken, TokenScope
from rmmbridge.api.permissions import allowed
from rmmbridge.api.problems import ApiProblem
from rmmbridge.api.tokens import check_token
from rmmbridge.servicedesk.actions import Actor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """Who calls: the user, the scope they may use, and the token when there is one."""

    user: Any
    scope: str
    token: ApiToken | None = None

    @property
    def actor(self) -> Actor:
        return Actor.api(self.user)


class ApiAuth(HttpBearer):
    """`Authorization: Bearer <token>`; without the header, a logged-in session (writes need its CSRF token)."""

    csrf = True  # tells the docs page to send the session's CSRF token with "Try it out"

    def __call__(self, request: HttpRequest) -> Principal | None:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise ApiProblem(401, "Use the header 'Authorization: Bearer <token>' with an API token.")
            return self.authenticate(request, value.strip())
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise ApiProblem(403, "CSRF check failed: a browser session must send the X-CSRFToken header; "
                                  "scripts should use an API token instead.")
        return Principal(user, TokenScope.WRITE)

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        checked = check_token(token)
        if checked.token is None:
            raise ApiProblem(401, checked.problem)
        return Principal(checked.token.user, checked.token.scope, checked.token)


def principal(request: HttpRequest) -> Principal:
    """The authenticated caller of an API request."""
    auth = getattr(request, "auth", None)
    assert isinstance(auth, Principal)
    return auth


def require(request: HttpRequest, permission: str) -> Principal:
    """The caller when it may do `permission`; a 403 problem otherwise (checked before any object is looked up)."""
    who = principal(request)
    if permission != "view" and who.scope != TokenScope.WRITE:
        raise ApiProblem(403, f"This token ({who.token.prefix if who.token else ''}…) may only read; "
                              "create a token with scope 'write' to change things.")
    if not allowed(who.user, permission):
        raise ApiProblem(403, f"Your user's role does not allow '{permission}'; ask an administrator for that role.")
    return who
