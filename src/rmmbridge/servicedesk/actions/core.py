"""Who acts (Actor) and the audit trail every write action records, with the helpers the actions share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Model

from rmmbridge.common.clock import utcnow
from rmmbridge.servicedesk.bulk import insert_rows
from rmmbridge.servicedesk.models import (
    AuditEntry,
    AuditSource,
)

PERSON_SOURCES = frozenset({AuditSource.UI, AuditSource.API, AuditSource.CLI})


@dataclass(frozen=True)
class Actor:
    """Who is writing, and from where. `label` names non-user actors (an integration, a CLI operator)."""

    source: AuditSource
    user: AbstractBaseUser | AnonymousUser | None = None
    label: str = ""

    @classmethod
    def ui(cls, user: AbstractBaseUser | AnonymousUser | None) -> Actor:
        return cls(AuditSource.UI, user, str(getattr(user, "username", "") or ""))

    @classmethod
    def api(cls, user: AbstractBaseUser | AnonymousUser | None) -> Actor:
        return cls(AuditSource.API, user, str(getattr(user, "username", "") or ""))

    @classmethod
    def cli(cls, label: str = "cli") -> Actor:
        return cls(AuditSource.CLI, None, label)

    @classmethod
    def sync(cls, label: str) -> Actor:
        return cls(AuditSource.SYNC, None, label)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(AuditSource.SYSTEM, None, label)

    @property
    def is_person(self) -> bool:
        return self.source in PERSON_SOURCES


#: The columns record_audit_many writes, in its tuples' order.
AUDIT_COLUMNS = ("at", "actor_id", "actor_label", "source", "object_type", "object_id", "object_repr", "action",
                 "changes")


def _entry(actor: Actor, obj: Model, action: str, changes: Mapping[str, Any]) -> AuditEntry:
    user = actor.user if actor.user is not None and getattr(actor.user, "is_authenticated", False) else None
    return AuditEntry(
        actor=user,  # type: ignore[misc]
        actor_label=actor.label[:200],
        source=actor.source,
        object_type=obj._meta.model_name or type(obj).__name__.lower(),
        object_id=int(obj.pk),
        object_repr=str(obj)[:255],
        action=action,
        changes=dict(changes),
    )


def record_audit(actor: Actor, obj: Model, action: str, changes: Mapping[str, Any] | None = None) -> AuditEntry:
    """Record one audit entry for `obj`."""
    entry = _entry(actor, obj, action, changes or {})
    entry.save()
    return entry


def record_audit_many(actor: Actor, items: Iterable[tuple[Model, str, Mapping[str, Any]]]) -> int:
    """Record audit entries in bulk (plain tuples, one executemany per 1000); returns how many were written."""
    names: dict[type[Model], str] = {}

    def rows() -> Iterable[tuple[str, int, str, str, Mapping[str, Any]]]:
        for obj, action, changes in items:
            kind = type(obj)
            name = names.get(kind)
            if name is None:
                name = names[kind] = obj._meta.model_name or kind.__name__.lower()
            yield name, int(obj.pk), str(obj), action, changes

    return record_audit_rows(actor, rows())


def record_audit_rows(actor: Actor, items: Iterable[tuple[str, int, str, str, Mapping[str, Any]]]) -> int:
    """Record audit entries from plain (object type, object id, object repr, action, changes) tuples, in bulk,
    for objects written without model instances (`do_bulk_insert_assets`); returns how many were written."""
    user = actor.user if actor.user is not None and getattr(actor.user, "is_authenticated", False) else None
    user_id, label, source, at = (user.pk if user is not None else None), actor.label[:200], str(actor.source), \
        utcnow()
    return insert_rows(AuditEntry, AUDIT_COLUMNS, (
        (at, user_id, label, source, object_type, object_id, object_repr[:255], action, dict(changes))
        for object_type, object_id, object_repr, action, changes in items))


def _apply_changes(obj: Model, changes: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, list[Any]]:
    """Set changed attributes on obj; return {field: [old, new]} for those that differ."""
    allowed_set = set(allowed)
    diff: dict[str, list[Any]] = {}
    for name, new in changes.items():
        if name not in allowed_set:
            raise ValidationError(f"'{name}' cannot be changed here.")
        old = getattr(obj, name)
        if old != new:
            diff[name] = [_plain(old), _plain(new)]
            setattr(obj, name, new)
    return diff


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a value for the audit trail."""
    if isinstance(value, Model):
        return {"id": value.pk, "repr": str(value)}
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


def _clean_name(name: str, what: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError(f"{what} name is required.")
    if len(cleaned) > 200:
        raise ValidationError(f"{what} name is longer than 200 characters.")
    return cleaned
