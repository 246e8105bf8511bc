"""RFC 9457 problem details for every error either door can produce (DESIGN §5)."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from onboarding.errors import ServiceError

log = logging.getLogger(__name__)
PROBLEM_CONTENT_TYPE = "application/problem+json"

_DRF_CODES = {
    drf.NotAuthenticated: (401, "not_authenticated", "Authentication required"),
    drf.AuthenticationFailed: (401, "authentication_failed", "Authentication failed"),
    drf.PermissionDenied: (403, "forbidden", "Forbidden"),
    drf.NotFound: (404, "not_found", "Not found"),
    drf.MethodNotAllowed: (405, "method_not_allowed", "Method not allowed"),
    drf.NotAcceptable: (406, "not_acceptable", "Not acceptable"),
    drf.UnsupportedMediaType: (415, "unsupported_media_type", "Unsupported media type"),
    drf.ParseError: (400, "malformed_json", "Malformed request body"),
    drf.Throttled: (429, "throttled", "Too many requests"),
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "type": f"/errors/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
    }
    body.update(extra)
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(
        body,
        status=body["status"],
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def validation_errors(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """Flatten a DRF ValidationError detail into findings with JSON Pointer paths."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            child = path if key == "non_field_errors" else f"{path}/{_escape(str(key))}"
            found.extend(validation_errors(value, child))
        return found
    if isinstance(detail, list):
        if all(isinstance(item, (str, drf.ErrorDetail)) for item in detail):
            return [_finding(item, path) for item in detail]
        found = []
        for index, item in enumerate(detail):
            found.extend(validation_errors(item, f"{path}/{index}"))
        return found
    return [_finding(detail, path)]


def _finding(item: Any, path: str) -> dict[str, Any]:
    code = getattr(item, "code", None) or "invalid"
    return {"code": _stable_code(code), "path": path, "message": str(item)}


_CODE_ALIASES = {
    "required": "missing_required",
    "invalid": "wrong_type",
    "null": "wrong_type",
    "not_a_dict": "wrong_type",
    "not_a_list": "wrong_type",
    "invalid_type": "wrong_type",
    "blank": "blank",
}


def _stable_code(code: str) -> str:
    return _CODE_ALIASES.get(code, code)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def exception_handler(exc: Exception, context: dict) -> Response | None:
    body, headers = problem_for_exception(exc)
    response = Response(body, status=body["status"], headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_for_exception(exc: Exception) -> tuple[dict[str, Any], dict[str, str]]:
    headers: dict[str, str] = {}
    if isinstance(exc, ServiceError):
        return exc.as_problem(), dict(exc.headers)
    if isinstance(exc, drf.ValidationError):
        errors = validation_errors(exc.detail)
        code = errors[0]["code"] if len(errors) == 1 else "invalid_request"
        if any(item["code"] == "unknown_field" for item in errors):
            code = "unknown_field"
        return problem(
            400, code, "Invalid request", "The request body is invalid.", errors
        ), headers
    if isinstance(exc, (Http404,)):
        return problem(404, "not_found", "Not found", "Not found."), headers
    if isinstance(exc, DjangoPermissionDenied):
        return problem(403, "forbidden", "Forbidden", "You may not do this."), headers
    for klass, (status, code, title) in _DRF_CODES.items():
        if isinstance(exc, klass):
            if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
                headers["WWW-Authenticate"] = "Token"
            if isinstance(exc, drf.PermissionDenied) and str(exc.detail).startswith("CSRF"):
                code = "csrf_failed"
            if isinstance(exc, drf.Throttled) and exc.wait:
                headers["Retry-After"] = str(int(exc.wait))
            return problem(status, code, title, str(exc.detail)), headers
    if isinstance(exc, drf.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        return problem(exc.status_code, code, "Error", str(exc.detail)), headers
    if isinstance(exc, DatabaseError) and is_connection_error(exc):
        return database_unavailable(exc), {"Retry-After": "1"}
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "server_error", "Server error", "An unexpected error occurred."), headers


def is_connection_error(exc: DatabaseError) -> bool:
    """A lost or refused database connection (not a bad query): the client may simply retry."""
    return isinstance(exc, OperationalError | InterfaceError)


def database_unavailable(exc: Exception) -> dict[str, Any]:
    log.warning("database unavailable: %s", exc)
    return problem(
        503,
        "database_unavailable",
        "Service temporarily unavailable",
        "The database connection was lost while handling the request. Writes are atomic (a "
        "change applied in full or not at all): check the resource and retry.",
    )
