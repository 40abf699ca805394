"""RFC 9457 problem details for every API error, with a `detail` that says what to fix."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

MEDIA_TYPE = "application/problem+json"
TITLES = {400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 422: "Invalid request"}


class ApiProblem(Exception):
    """An error the API answers with; `detail` says what the caller must change."""

    def __init__(self, status: int, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []


def problem_response(request: HttpRequest, status: int, detail: str,
                     errors: list[dict[str, Any]] | None = None) -> HttpResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
                            "detail": detail, "instance": request.path}
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body, default=str), status=status, content_type=MEDIA_TYPE)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="rmmbridge"'
    return response


def _location(loc: Any) -> str:
    parts = [str(p) for p in (loc or ()) if p not in ("body", "payload")] if isinstance(loc, (list, tuple)) else []
    return ".".join(parts)


def _validation(request: HttpRequest, exc: Any) -> HttpResponse:
    errors = [{"field": _location(e.get("loc")), "message": str(e.get("msg", ""))} for e in exc.errors]
    first = errors[0] if errors else {"field": "", "message": "the request is not valid"}
    where = f"{first['field']}: " if first["field"] else ""
    return problem_response(request, 422, f"{where}{first['message']}", errors)


def _problem(request: HttpRequest, exc: Any) -> HttpResponse:
    return problem_response(request, exc.status, exc.detail, exc.errors)


def _unauthenticated(request: HttpRequest, exc: Any) -> HttpResponse:
    return problem_response(request, 401, "Send an API token: 'Authorization: Bearer <token>' "
                                          "(create one under Settings → API tokens), or log in.")


def _invalid(request: HttpRequest, exc: Any) -> HttpResponse:
    found = list(exc.messages)
    return problem_response(request, 422, " ".join(found), [{"field": "", "message": m} for m in found])


def _not_found(request: HttpRequest, exc: Any) -> HttpResponse:
    return problem_response(request, 404, str(exc) or "Not found.")


def _http_error(request: HttpRequest, exc: Any) -> HttpResponse:
    return problem_response(request, int(exc.status_code), str(exc))


def install(api: NinjaAPI) -> None:
    """Answer every error of `api` as a problem document."""
    api.add_exception_handler(ApiProblem, _problem)
    api.add_exception_handler(AuthenticationError, _unauthenticated)
    api.add_exception_handler(NinjaValidationError, _validation)
    api.add_exception_handler(DjangoValidationError, _invalid)
    api.add_exception_handler(Http404, _not_found)
    api.add_exception_handler(HttpError, _http_error)


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the problem responses (400, 401, 403, 404, 422) on every operation of the OpenAPI document."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = {
        "type": "object", "title": "Problem", "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "instance": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object", "properties": {
                "field": {"type": "string"}, "message": {"type": "string"}}}},
        },
    }
    ref = {"content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status in (400, 401, 403, 404, 422):
                if status not in responses and str(status) not in responses:
                    responses[str(status)] = {"description": TITLES[status], **ref}
    return schema
