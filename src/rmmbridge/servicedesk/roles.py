"""Roles (administrator, technician, read-only) as Django groups and permissions, checked per URL by one policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

ADMINISTER = "web.administer"  # integrations and credentials, settings, secrets, tokens, users, request bodies
OPERATE = "web.operate"  # tickets, assets, customers, runs of syncs and previews, alert handling, imports
VIEW = "web.view"  # read every page (request logs without bodies)

ADMINISTRATORS, TECHNICIANS, READ_ONLY = "Administrators", "Technicians", "Read-only"
ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "administrator": (ADMINISTRATORS, (ADMINISTER, OPERATE, VIEW)),
    "technician": (TECHNICIANS, (OPERATE, VIEW)),
    "read-only": (READ_ONLY, (VIEW,)),
}
PERMISSIONS = {
    "administer": "Administer integrations, credentials, settings, secrets, tokens and users",
    "operate": "Work tickets, assets and customers; run syncs, previews and imports",
    "view": "Read every page (request logs without bodies)",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Views that need ADMINISTER for every method (they reveal or change where secrets go, or create secrets).
ADMIN_VIEWS = frozenset({
    "integrations:integration_add", "integrations:module_toggle", "integrations:integration_test",
    "integrations:integration_toggle", "alerts:regenerate_secret", "web:otp_setup",
    "apitokens:token_list", "apitokens:token_revoke",
})
# Namespaces and views whose writes a technician may make (everything else that writes needs ADMINISTER).
OPERATE_NAMESPACES = frozenset({"servicedesk", "tickets", "syncjobs", "spreadsheets"})
OPERATE_VIEWS = frozenset({
    "integrator:run_now", "alerts:test_ticket", "alerts:outbox_retry", "alerts:upload", "alerts:event_detail",
    "alerts:ticket_panel",
})
ANYONE_VIEWS = frozenset({"web:logout", "web:login"})


def required_permission(view_name: str, method: str) -> str | None:
    """The permission a request needs: VIEW to read, OPERATE or ADMINISTER to write; None for anyone."""
    if view_name in ANYONE_VIEWS:
        return None
    if view_name in ADMIN_VIEWS:
        return ADMINISTER
    if method.upper() in SAFE_METHODS:
        return VIEW
    namespace = view_name.split(":", 1)[0] if ":" in view_name else ""
    if namespace in OPERATE_NAMESPACES or view_name in OPERATE_VIEWS:
        return OPERATE
    return ADMINISTER  # a write the table does not list is for administrators (new views are safe by default)


def role_of(user: Any) -> str:
    """The role a person has: administrator, technician or read-only (no role group counts as read-only)."""
    if getattr(user, "is_superuser", False):
        return "administrator"
    names = set(user.groups.values_list("name", flat=True))
    for role, (group, _perms) in ROLES.items():
        if group in names:
            return role
    return "read-only"


def allowed(user: Any, permission: str | None) -> bool:
    """Whether `user` has `permission` through their role (a user without any role group may read)."""
    if permission is None or getattr(user, "is_superuser", False):
        return True
    if user.has_perm(permission):
        return True
    return permission == VIEW and not user.groups.exists()


def ensure_role_groups() -> dict[str, Any]:
    """The role groups with their permissions, created when missing (a flushed test database, a restored dump)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    role_type, _ = ContentType.objects.get_or_create(app_label="web", model="role")
    perms = {}
    for codename, name in PERMISSIONS.items():
        perms[codename], _ = Permission.objects.get_or_create(
            content_type=role_type, codename=codename, defaults={"name": name})
    groups: dict[str, Any] = {}
    for group_name, granted in ROLES.values():
        groups[group_name], _ = Group.objects.get_or_create(name=group_name)
        groups[group_name].permissions.add(*(perms[p.split(".", 1)[1]] for p in granted))
    return groups


def assign_role(user: Any, role: str) -> None:
    """Give `user` exactly one role (its group; administrators are staff so they can manage people)."""
    from django.contrib.auth.models import Group

    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    group = Group.objects.filter(name=ROLES[role][0]).first() or ensure_role_groups()[ROLES[role][0]]
    user.groups.remove(*Group.objects.filter(name__in=[g for g, _ in ROLES.values()]))
    user.groups.add(group)
    if not user.is_superuser:
        user.is_staff = role == "administrator"
        user.save(update_fields=["is_staff"])


def can_administer(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and allowed(user, ADMINISTER)


class RoleMiddleware:
    """Refuse (403) a request the person's role does not allow, by the view's name and the method."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any,
                     view_kwargs: Any) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or getattr(view_func, "login_required", True) is False:
            return None  # machine endpoints authenticate themselves
        if not request.user.is_authenticated or match.namespace == "admin":
            return None  # the login middleware, or Django's admin with its own staff check, decides
        permission = required_permission(match.view_name, request.method or "GET")
        if allowed(request.user, permission):
            return None
        role = role_of(request.user)
        html = render_to_string("web/forbidden.html", {"role": role, "needed": permission}, request=request)
        return HttpResponse(html, status=403)
