"""The NinjaAPI of /api/v1/: bearer token or session on every endpoint, problem details, a vendored docs page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from rmmbridge import __version__
from rmmbridge.api import problems
from rmmbridge.api.auth import ApiAuth
from rmmbridge.api.endpoints import router


def docs_guard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The OpenAPI document and the docs page need a session or a token too (the page sends people to log in)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            who = ApiAuth()(request)
        except problems.ApiProblem as exc:
            return problems.problem_response(request, exc.status, exc.detail)
        if who is None:
            if request.path.endswith("/docs"):
                return redirect_to_login(request.get_full_path())
            return problems.problem_response(request, 401, "Send an API token: 'Authorization: Bearer <token>', "
                                                           "or log in.")
        return view(request, *args, **kwargs)

    return guarded


class RmmbridgeApi(NinjaAPI):
    """NinjaAPI whose document declares the problem responses and names operations by their function."""

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        problems.document_problems(schema)
        return schema

    def get_openapi_operation_id(self, operation: Operation) -> str:
        return operation.view_func.__name__


api = RmmbridgeApi(
    title="rmmbridge API",
    version=__version__,
    description="Customers, sites, users, assets, tickets, integrations, sync runs and alert events. "
                "Authenticate with 'Authorization: Bearer <token>' (Settings → API tokens) or a browser session.",
    urls_namespace="api-v1",
    auth=ApiAuth(),
    docs_decorator=docs_guard,
)
problems.install(api)
api.add_router("/", router)
