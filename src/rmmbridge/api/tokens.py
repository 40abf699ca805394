"""Create, revoke and check API tokens (audited); a token is `rmb_` + 40 random characters, kept as a hash."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from rmmbridge.api.models import ApiToken, TokenScope
from rmmbridge.common.clock import utcnow
from rmmbridge.servicedesk.actions import Actor, record_audit

PREFIX = "rmb_"
#: last_used_at is written at most this often per token (a script calling in a loop does not write each time).
LAST_USED_RESOLUTION = timedelta(seconds=60)
_EXPIRY = re.compile(r"^\s*(\d{1,5})\s*([dhw]?)\s*$")


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def parse_expiry(text: str | None) -> timedelta | None:
    """'90d', '12h', '2w' or '' (never expires) → a duration, or ValidationError saying what to enter."""
    if text is None or not str(text).strip() or str(text).strip().lower() in {"never", "none"}:
        return None
    match = _EXPIRY.match(str(text).lower())
    if not match or int(match.group(1)) == 0:
        raise ValidationError(f"Expiry must be a number of days like 90d (or 12h, 2w, never); got '{text}'.")
    amount, unit = int(match.group(1)), match.group(2) or "d"
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "w": timedelta(weeks=amount)}[unit]


def do_create_token(actor: Actor, user: Any, *, scope: str, name: str = "",
                    expires_in: timedelta | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token text (shown once, never again)."""
    if scope not in TokenScope.values:
        raise ValidationError(f"Scope must be read or write; got '{scope}'.")
    if user is None or not getattr(user, "is_active", False):
        raise ValidationError("The token's user must be an active user.")
    label = " ".join((name or "").split())[:100]
    raw = PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user, name=label, prefix=raw[:12], token_hash=hash_token(raw), scope=scope,
        expires_at=utcnow() + expires_in if expires_in else None,
    )
    record_audit(actor, token, "create", {"user": [None, user.get_username()], "scope": [None, scope],
                                          "expires_at": [None, token.expires_at.isoformat() if token.expires_at
                                                         else None]})
    return token, raw


def do_revoke_token(actor: Actor, token: ApiToken) -> bool:
    """Revoke a token at once; False when it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    token.save(update_fields=["revoked_at"])
    record_audit(actor, token, "revoke", {"revoked_at": [None, token.revoked_at.isoformat()]})
    return True


@dataclass(frozen=True)
class TokenCheck:
    """The token of a request, or why it is refused (a message saying what to do)."""

    token: ApiToken | None
    problem: str = ""


def check_token(raw: str, now: datetime | None = None) -> TokenCheck:
    """Look the token up by its hash; refuse unknown, revoked and expired ones; note when it was used."""
    now = now or utcnow()
    text = (raw or "").strip()
    token = (ApiToken.objects.select_related("user").filter(token_hash=hash_token(text)).first()
             if text.startswith(PREFIX) else None)
    if token is None:
        return TokenCheck(None, "The API token is not valid; create one under Settings → API tokens "
                                "or with `rmmbridge token create`.")
    if token.revoked_at is not None:
        return TokenCheck(None, f"The API token {token.prefix}… was revoked; create a new one.")
    if token.expires_at is not None and token.expires_at <= now:
        return TokenCheck(None, f"The API token {token.prefix}… expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; "
                                "create a new one.")
    if not token.user.is_active:
        return TokenCheck(None, "The API token's user is inactive; reactivate the user or use another token.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return TokenCheck(token)


def find_user(username: str) -> Any:
    """The user named `username`, or ValidationError."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError(f"No user named '{username}'; create it first (rmmbridge manage createsuperuser).")
    return user
