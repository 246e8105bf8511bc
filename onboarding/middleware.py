import re
import uuid

from django.conf import settings

from onboarding.problems import problem, problem_response
from onboarding.request_context import bind_request_id, unbind_request_id

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_ENVELOPE = 256 * 1024  # room for the request fields around a pack of PACK_MAX_BYTES


class RequestIdMiddleware:
    """Assign X-Request-ID (echoing a well-formed incoming one) for logs and the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = bind_request_id(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            unbind_request_id(token)
        response["X-Request-ID"] = request.request_id
        return response


class BodySizeLimitMiddleware:
    """Answer 413 problem+json before Django or DRF read an oversized body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.PACK_MAX_BYTES + _BODY_ENVELOPE
        if length > limit:
            return problem_response(
                problem(
                    413,
                    "too_large",
                    "Payload too large",
                    f"The body is {length} bytes; the limit is {limit} bytes "
                    f"(packs up to PACK_MAX_BYTES={settings.PACK_MAX_BYTES}).",
                )
            )
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy: no inline scripts, nothing from another origin."""

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'; object-src 'none'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.POLICY)
        return response


def database_unavailable_response(request, exception):
    """503 with Retry-After for a lost database connection (the server's trouble, not a bug),
    for both doors; None for any other error."""
    from django.db import DatabaseError
    from django.http import HttpResponse
    from django.utils.html import escape

    from onboarding.pages import wants_html
    from onboarding.problems import database_unavailable, is_connection_error

    if not isinstance(exception, DatabaseError) or not is_connection_error(exception):
        return None
    body = database_unavailable(exception)
    if wants_html(request):
        # No template: the layout reads the user and roles, which needs the database.
        response = HttpResponse(
            f"<!doctype html><title>503</title><h1>503 · {escape(body['title'])}</h1>"
            f"<p>{escape(body['detail'])}</p>",
            status=503,
        )
    else:
        response = problem_response(body)
    response["Retry-After"] = "1"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return database_unavailable_response(request, exception)
