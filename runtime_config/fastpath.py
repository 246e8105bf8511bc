"""The lean route of the runtime's hot path: `GET /runtime/tenants/{id}/config` with a token.

The full stack costs more than the endpoint itself (sessions, CSRF, messages, htmx, the page
door, URL resolution and DRF's request wrapping, negotiation and permission classes, for a
dictionary lookup). This middleware, first in MIDDLEWARE, sends the plain form of that request
down RUNTIME_MIDDLEWARE instead: the request id and every security header (CSP, nosniff,
X-Frame-Options, Referrer-Policy, HSTS and the HTTPS redirect when configured), the refusal of
unstorable input (NUL, lone surrogates), the Host check,
then the same authentication, access check, cache read and answer as the DRF view, with the
same problem+json errors. A cache hit with a known token costs no database query.

Anything else takes the full stack unchanged: another method, a session instead of a token, an
X-Tenant-ID or htmx header, an Accept other than JSON, a query other than `min_revision=<digits>`,
a body, a malformed Authorization header. Those are rare, and their answers stay exactly as the
DRF view gives them."""

import re

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.db import DatabaseError
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.module_loading import import_string
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer

from onboarding.doors import NEGOTIATED_ON
from onboarding.errors import ServiceError
from onboarding.middleware import database_unavailable_response
from onboarding.principal import require_any_role
from onboarding.problems import PROBLEM_CONTENT_TYPE, problem_for_exception
from runtime_config.runtime import MAX_REVISION, parse_min_revision
from runtime_config.runtime_api import config_response, principal_for_token

# Tenant ids as they are created; any other path segment takes the full stack.
_CONFIG_PATH = re.compile(r"/runtime/tenants/([A-Za-z0-9_-]{1,64})/config")
_QUERY = re.compile(r"(?:min_revision=([0-9]{1,10}))?")
_RENDERER = JSONRenderer()
_JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})


def _lean_match(request):
    """(tenant_id, key, min_revision) when the lean route may answer, else None."""
    match = _CONFIG_PATH.fullmatch(request.path_info)
    if match is None:
        return None
    meta = request.META
    parts = meta.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() not in ("token", "bearer") or not parts[1].isascii():
        return None
    if (
        meta.get("HTTP_ACCEPT", "") not in _JSON_ACCEPTS
        or "HTTP_X_TENANT_ID" in meta
        or "HTTP_HX_REQUEST" in meta
        or meta.get("CONTENT_LENGTH") not in (None, "", "0")
    ):
        return None
    query = _QUERY.fullmatch(meta.get("QUERY_STRING", ""))
    if query is None:
        return None
    revision = query.group(1)
    return match.group(1), parts[1], None if revision is None else int(revision)


def serve_config(request):
    tenant_id, key, min_revision = request.runtime_lean
    request.get_host()  # a Host outside ALLOWED_HOSTS: 400, as CommonMiddleware answers
    try:
        if min_revision is not None and min_revision > MAX_REVISION:
            parse_min_revision(str(min_revision))  # raises the same 400 as the DRF view
        principal = principal_for_token(key, path=request.path_info)
        require_any_role(principal)
        response = config_response(request, principal, tenant_id, min_revision)
    except (ServiceError, APIException) as exc:
        body, headers = problem_for_exception(exc)
        # DRF's renderer, for the very bytes the full stack sends.
        response = HttpResponse(
            _RENDERER.render(body), status=body["status"], content_type=PROBLEM_CONTENT_TYPE
        )
        for name, value in headers.items():
            response[name] = value
    except DatabaseError as exc:
        response = database_unavailable_response(request, exc)
        if response is None:
            raise
    # What the two-door dispatch, DRF's view and CommonMiddleware add on the full stack.
    patch_vary_headers(response, NEGOTIATED_ON)
    response["Allow"] = "GET, HEAD, OPTIONS"
    response["Content-Length"] = str(len(response.content))
    return response


def build_chain(paths: list[str], view):
    """Django's own middleware wiring (each layer turns exceptions into responses), for a list
    of plain `__call__` middlewares around `view`."""
    handler = convert_exception_to_response(view)
    for path in reversed(paths):
        handler = convert_exception_to_response(import_string(path)(handler))
    return handler


class RuntimeFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.lean = build_chain(settings.RUNTIME_MIDDLEWARE, serve_config)

    def __call__(self, request):
        if (
            request.path_info.startswith("/runtime/")
            and request.method == "GET"
            and settings.RUNTIME_FAST_PATH
        ):
            lean = _lean_match(request)
            if lean is not None:
                request.runtime_lean = lean
                return self.lean(request)
        return self.get_response(request)
