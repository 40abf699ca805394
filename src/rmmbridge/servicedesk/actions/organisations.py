"""Write actions for top levels, customers, sites and end users."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from rmmbridge.servicedesk.actions.core import Actor, _apply_changes, _clean_name, _plain, record_audit
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
