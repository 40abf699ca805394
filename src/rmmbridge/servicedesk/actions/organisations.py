"""Write actions for top levels, customers, sites and end users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from rmmbridge.common.clock import utcnow
from rmmbridge.servicedesk.actions.core import (
    Actor,
    _apply_changes,
    _clean_name,
    _plain,
    record_audit,
    record_audit_rows,
)
from rmmbridge.servicedesk.bulk import insert_rows_returning
from rmmbridge.servicedesk.models import (
    Customer,
    EndUser,
    Site,
    TopLevel,
)

# Top levels and customers ------------------------------------------------------------------------------


def do_create_toplevel(actor: Actor, name: str) -> TopLevel:
    """Create a top level (a grouping of customers)."""
    name = _clean_name(name, "Top level")
    if TopLevel.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"A top level named '{name}' already exists.")
    toplevel = TopLevel.objects.create(name=name)
    record_audit(actor, toplevel, "create", {"name": [None, name]})
    return toplevel


@transaction.atomic
def do_create_customer(
    actor: Actor, name: str, *, toplevel: TopLevel | None = None, main_site_name: str = "Main", notes: str = ""
) -> Customer:
    """Create a customer together with its main site."""
    name = _clean_name(name, "Customer")
    if Customer.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"A customer named '{name}' already exists.")
    customer = Customer.objects.create(name=name, toplevel=toplevel, notes=notes)
    site = Site.objects.create(customer=customer, name=_clean_name(main_site_name, "Site"), is_main=True)
    record_audit(actor, customer, "create", {"name": [None, name], "toplevel": [None, _plain(toplevel)]})
    record_audit(actor, site, "create", {"name": [None, site.name], "is_main": [None, True]})
    return customer


#: Names looked up together when many customers are created at once (one OR of case-insensitive matches).
NAMES_PER_QUERY = 100


def do_bulk_create_customers(actor: Actor, rows: Sequence[tuple[str, int | None]], *,
                             main_site_name: str = "Main") -> list[tuple[int, int]]:
    """Create many customers (name, top level id) at once, each with its main site and the audit entries
    do_create_customer writes; returns (customer id, main site id) per row, in order.

    The whole batch is refused (ValidationError, nothing written) when a name is taken already or twice in it,
    so a caller can go row by row instead; a top level that no longer exists is left empty, as one by one. Must
    run inside a transaction (the ids are read back)."""
    names = [_clean_name(name, "Customer") for name, _ in rows]
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise ValidationError(f"Two customers of this batch are named '{name}'.")
        seen.add(name.lower())
    for start in range(0, len(names), NAMES_PER_QUERY):
        wanted = Q()
        for name in names[start:start + NAMES_PER_QUERY]:
            wanted |= Q(name__iexact=name)
        taken = Customer.objects.filter(wanted).values_list("name", flat=True).first()
        if taken is not None:
            raise ValidationError(f"A customer named '{taken}' already exists.")
    toplevels = TopLevel.objects.in_bulk({pk for _, pk in rows if pk})
    chosen = [toplevels.get(pk) if pk else None for _, pk in rows]
    site_name, now = _clean_name(main_site_name, "Site"), utcnow()
    customer_ids = insert_rows_returning(Customer, ["name", "toplevel_id", "active", "notes", "created_at",
                                                    "updated_at"],
                                         [(name, top.pk if top else None, True, "", now, now)
                                          for name, top in zip(names, chosen, strict=True)])
    site_ids = insert_rows_returning(Site, ["customer_id", "name", "is_main", "active", "address", "created_at",
                                            "updated_at"],
                                     [(pk, site_name, True, True, "", now, now) for pk in customer_ids])
    record_audit_rows(actor, [
        entry
        for name, top, customer_id, site_id in zip(names, chosen, customer_ids, site_ids, strict=True)
        for entry in (
            ("customer", customer_id, name, "create", {"name": [None, name], "toplevel": [None, _plain(top)]}),
            ("site", site_id, f"{name} / {site_name}", "create", {"name": [None, site_name], "is_main": [None, True]}),
        )])
    return list(zip(customer_ids, site_ids, strict=True))


def do_update_customer(actor: Actor, customer: Customer, **changes: Any) -> dict[str, list[Any]]:
    """Change a customer's name, top level, active flag or notes."""
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"], "Customer")
        if Customer.objects.filter(name__iexact=changes["name"]).exclude(pk=customer.pk).exists():
            raise ValidationError(f"A customer named '{changes['name']}' already exists.")
    diff = _apply_changes(customer, changes, ("name", "toplevel", "active", "notes"))
    if diff:
        customer.save()
        record_audit(actor, customer, "update", diff)
    return diff


# Sites -------------------------------------------------------------------------------------------------


def do_create_site(actor: Actor, customer: Customer, name: str, *, address: str = "") -> Site:
    """Add a (non-main) site to a customer."""
    name = _clean_name(name, "Site")
    if customer.sites.filter(name__iexact=name).exists():
        raise ValidationError(f"Customer '{customer.name}' already has a site named '{name}'.")
    site = Site.objects.create(customer=customer, name=name, address=address, is_main=False)
    record_audit(actor, site, "create", {"name": [None, name]})
    return site


@transaction.atomic
def do_set_main_site(actor: Actor, site: Site) -> None:
    """Make `site` its customer's main site (the previous main site stops being main)."""
    if not site.active:
        raise ValidationError(f"Site '{site.name}' is inactive and cannot be the main site; activate it first.")
    previous = Site.objects.select_for_update().filter(customer_id=site.customer_id, is_main=True).first()
    if previous and previous.pk == site.pk:
        return
    if previous:
        previous.is_main = False
        previous.save(update_fields=["is_main", "updated_at"])
        record_audit(actor, previous, "update", {"is_main": [True, False]})
    site.is_main = True
    site.save(update_fields=["is_main", "updated_at"])
    record_audit(actor, site, "update", {"is_main": [False, True]})


def do_update_site(actor: Actor, site: Site, **changes: Any) -> dict[str, list[Any]]:
    """Change a site's name, address or active flag (a main site cannot be deactivated)."""
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"], "Site")
        clash = Site.objects.filter(customer_id=site.customer_id, name__iexact=changes["name"]).exclude(pk=site.pk)
        if clash.exists():
            raise ValidationError(f"This customer already has a site named '{changes['name']}'.")
    if changes.get("active") is False and site.is_main:
        raise ValidationError("The main site cannot be deactivated; make another site the main site first.")
    diff = _apply_changes(site, changes, ("name", "address", "active"))
    if diff:
        site.save()
        record_audit(actor, site, "update", diff)
    return diff


def do_delete_site(actor: Actor, site: Site) -> None:
    """Delete a site that is not the main site and holds no users or assets."""
    if site.is_main:
        raise ValidationError("The main site cannot be deleted: every customer needs exactly one main site.")
    if site.users.exists() or site.assets.exists():
        raise ValidationError(f"Site '{site.name}' still has users or assets; move them first.")
    record_audit(actor, site, "delete", {"name": [site.name, None]})
    site.delete()


# End users ---------------------------------------------------------------------------------------------


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    if email and ("@" not in email or " " in email or len(email) > 254):
        raise ValidationError(f"'{email}' is not a valid e-mail address.")
    return email


def do_create_end_user(actor: Actor, site: Site, name: str, *, email: str = "", phone: str = "") -> EndUser:
    """Create a user at a site; the e-mail, when given, must be unique within the customer."""
    name = _clean_name(name, "User")
    email = _clean_email(email)
    if email and EndUser.objects.filter(customer_id=site.customer_id, email__iexact=email).exists():
        raise ValidationError(f"Another user of this customer already has the e-mail address '{email}'.")
    user = EndUser.objects.create(site=site, customer_id=site.customer_id, name=name, email=email, phone=phone)
    record_audit(actor, user, "create", {"name": [None, name], "email": [None, email]})
    return user


def do_update_end_user(actor: Actor, user: EndUser, **changes: Any) -> dict[str, list[Any]]:
    """Change a user's name, e-mail, phone, site (within any customer) or active flag."""
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"], "User")
    site = changes.get("site", user.site)
    if "email" in changes:
        changes["email"] = _clean_email(changes["email"])
    email = changes.get("email", user.email)
    if email and EndUser.objects.filter(customer_id=site.customer_id, email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError(f"Another user of this customer already has the e-mail address '{email}'.")
    if "site" in changes:
        changes["customer"] = site.customer
    diff = _apply_changes(user, changes, ("name", "email", "phone", "site", "customer", "active"))
    if diff:
        user.save()
        record_audit(actor, user, "update", diff)
    return diff
