"""What the service-desk pages share: list responses with their HTMX partials, count subqueries, audit rows."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from rmmbridge.servicedesk.models import AuditEntry

AUDIT_ROWS = 50


def list_response(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render a list page or its HTMX partial; caches must keep the two apart."""
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def query_without_page(request: HttpRequest) -> str:
    """The list's query string without its page number (for pagination links)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def count_of(model: type[Any], link: str, **filters: Any) -> Coalesce:
    """A correlated COUNT subquery (avoids the row explosion of several joined COUNTs)."""
    counted = (
        model.objects.filter(**{link: OuterRef("pk")}, **filters)
        .order_by()
        .values(link)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def audit_for(kind: str, pk: int) -> QuerySet[AuditEntry]:
    """The latest audit entries of one object, with their actors."""
    return AuditEntry.objects.filter(object_type=kind, object_id=pk).select_related("actor")[:AUDIT_ROWS]
