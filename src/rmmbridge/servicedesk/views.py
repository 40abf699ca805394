"""Service-desk pages: customers, sites and users (lists with HTMX filtering, details, forms)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rmmbridge.servicedesk.actions import (
    Actor,
    do_create_customer,
    do_create_end_user,
    do_create_site,
    do_set_main_site,
    do_update_customer,
    do_update_end_user,
    do_update_site,
)
from rmmbridge.servicedesk.filters import cheap_page
from rmmbridge.servicedesk.forms import CustomerForm, EndUserForm, SiteForm
from rmmbridge.servicedesk.htmx import is_htmx
from rmmbridge.servicedesk.listing import audit_for, count_of, list_response, query_without_page
from rmmbridge.servicedesk.models import (
    Asset,
    Customer,
    EndUser,
    Site,
    TopLevel,
)

# Customers ---------------------------------------------------------------------------------------------


def customer_list(request: HttpRequest) -> HttpResponse:
    """Customers with their site, user and active asset counts; search by name, filter by top level."""
    q = (request.GET.get("q") or "").strip()
    toplevel = request.GET.get("toplevel") or ""
    customers = Customer.objects.select_related("toplevel").annotate(
        site_count=count_of(Site, "customer"),
        user_count=count_of(EndUser, "customer"),
        asset_count=count_of(Asset, "customer", active=True),
    )
    if q:
        customers = customers.filter(name__icontains=q)
    if toplevel.isdigit():
        customers = customers.filter(toplevel_id=int(toplevel))
    page = cheap_page(customers, request.GET.get("page"))
    context = {"page": page, "q": q, "toplevel": toplevel, "toplevels": TopLevel.objects.all(),
               "query": query_without_page(request)}
    template = "servicedesk/_customer_rows.html" if is_htmx(request) else "servicedesk/customer_list.html"
    return list_response(request, template, context)


def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer with its sites, users and asset count."""
    customer = get_object_or_404(Customer.objects.select_related("toplevel"), pk=pk)
    sites = customer.sites.annotate(asset_count=count_of(Asset, "site", active=True),
                                    user_count=count_of(EndUser, "site"))
    users = customer.users.select_related("site")[:200]
    context = {
        "customer": customer,
        "sites": sites,
        "users": users,
        "user_total": customer.users.count(),
        "asset_count": customer.assets.filter(active=True).count(),
        "audit": audit_for("customer", customer.pk),
    }
    return render(request, "servicedesk/customer_detail.html", context)


def customer_create(request: HttpRequest) -> HttpResponse:
    """Create a customer together with its main site."""
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = do_create_customer(Actor.ui(request.user), data["name"], toplevel=data["toplevel"],
                                          main_site_name=data["main_site_name"], notes=data["notes"])
        except ValidationError as exc:
            form.add_error("name" if "customer" in str(exc).lower() else None, exc)
        else:
            messages.success(request, f"Created customer '{customer.name}'.")
            return redirect("servicedesk:customer_detail", pk=customer.pk)
    return render(request, "servicedesk/form.html", {"form": form, "title": "New customer",
                                                      "cancel": reverse("servicedesk:customer_list")})


def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a customer's name, top level, active flag and notes."""
    customer = get_object_or_404(Customer, pk=pk)
    initial = {"name": customer.name, "toplevel": customer.toplevel_id, "active": customer.active,
               "notes": customer.notes, "main_site_name": "Main"}
    form = CustomerForm(request.POST or None, initial=initial)
    del form.fields["main_site_name"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_update_customer(Actor.ui(request.user), customer, name=data["name"], toplevel=data["toplevel"],
                               active=data["active"], notes=data["notes"])
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, f"Saved customer '{customer.name}'.")
            return redirect("servicedesk:customer_detail", pk=customer.pk)
    return render(request, "servicedesk/form.html", {
        "form": form, "title": f"Edit {customer.name}",
        "cancel": reverse("servicedesk:customer_detail", args=[customer.pk])})


# Sites -------------------------------------------------------------------------------------------------


def site_list(request: HttpRequest) -> HttpResponse:
    """Sites of every customer; filter by customer, search by name."""
    q = (request.GET.get("q") or "").strip()
    customer = request.GET.get("customer") or ""
    sites = Site.objects.select_related("customer").annotate(asset_count=count_of(Asset, "site", active=True))
    if q:
        sites = sites.filter(Q(name__icontains=q) | Q(customer__name__icontains=q))
    if customer.isdigit():
        sites = sites.filter(customer_id=int(customer))
    page = cheap_page(sites, request.GET.get("page"))
    context = {"page": page, "q": q, "customer": customer, "customers": Customer.objects.only("id", "name"),
               "query": query_without_page(request)}
    template = "servicedesk/_site_rows.html" if is_htmx(request) else "servicedesk/site_list.html"
    return list_response(request, template, context)


def site_create(request: HttpRequest) -> HttpResponse:
    """Add a site to a customer."""
    form = SiteForm(request.POST or None, initial={"customer": request.GET.get("customer")})
    del form.fields["active"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            site = do_create_site(Actor.ui(request.user), data["customer"], data["name"], address=data["address"])
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, f"Added site '{site.name}'.")
            return redirect("servicedesk:customer_detail", pk=site.customer_id)
    return render(request, "servicedesk/form.html", {"form": form, "title": "New site",
                                                      "cancel": reverse("servicedesk:site_list")})


def site_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a site's name, address and active flag."""
    site = get_object_or_404(Site.objects.select_related("customer"), pk=pk)
    form = SiteForm(request.POST or None, initial={"customer": site.customer_id, "name": site.name,
                                                   "address": site.address, "active": site.active})
    del form.fields["customer"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_update_site(Actor.ui(request.user), site, name=data["name"], address=data["address"],
                           active=data["active"])
        except ValidationError as exc:
            form.add_error("active" if "deactivated" in str(exc) else "name", exc)
        else:
            messages.success(request, f"Saved site '{site.name}'.")
            return redirect("servicedesk:customer_detail", pk=site.customer_id)
    return render(request, "servicedesk/form.html", {
        "form": form, "title": f"Edit site {site}",
        "cancel": reverse("servicedesk:customer_detail", args=[site.customer_id])})


@require_POST
def site_make_main(request: HttpRequest, pk: int) -> HttpResponse:
    """Make a site its customer's main site."""
    site = get_object_or_404(Site, pk=pk)
    try:
        do_set_main_site(Actor.ui(request.user), site)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"'{site.name}' is now the main site.")
    return redirect("servicedesk:customer_detail", pk=site.customer_id)


# Users -------------------------------------------------------------------------------------------------


def user_list(request: HttpRequest) -> HttpResponse:
    """Users of every customer; filter by customer, search by name or e-mail."""
    q = (request.GET.get("q") or "").strip()
    customer = request.GET.get("customer") or ""
    users = EndUser.objects.select_related("site", "customer")
    if q:
        users = users.filter(Q(name__icontains=q) | Q(email__icontains=q))
    if customer.isdigit():
        users = users.filter(customer_id=int(customer))
    page = cheap_page(users, request.GET.get("page"))
    context = {"page": page, "q": q, "customer": customer, "customers": Customer.objects.only("id", "name"),
               "query": query_without_page(request)}
    template = "servicedesk/_user_rows.html" if is_htmx(request) else "servicedesk/user_list.html"
    return list_response(request, template, context)


def user_create(request: HttpRequest) -> HttpResponse:
    """Create a user at a site."""
    form = EndUserForm(request.POST or None)
    del form.fields["active"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = do_create_end_user(Actor.ui(request.user), data["site"], data["name"], email=data["email"],
                                      phone=data["phone"])
        except ValidationError as exc:
            form.add_error("email" if "e-mail" in str(exc) else "name", exc)
        else:
            messages.success(request, f"Created user '{user.name}'.")
            return redirect("servicedesk:user_list")
    return render(request, "servicedesk/form.html", {"form": form, "title": "New user",
                                                      "cancel": reverse("servicedesk:user_list")})


def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a user's name, e-mail, phone, site and active flag."""
    user = get_object_or_404(EndUser, pk=pk)
    form = EndUserForm(request.POST or None, initial={"site": user.site_id, "name": user.name, "email": user.email,
                                                      "phone": user.phone, "active": user.active})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_update_end_user(Actor.ui(request.user), user, **data)
        except ValidationError as exc:
            form.add_error("email" if "e-mail" in str(exc) else "name", exc)
        else:
            messages.success(request, f"Saved user '{user.name}'.")
            return redirect("servicedesk:user_list")
    return render(request, "servicedesk/form.html", {"form": form, "title": f"Edit {user.name}",
                                                      "cancel": reverse("servicedesk:user_list")})
