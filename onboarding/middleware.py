import functools
import io
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.utils.html import escape

from onboarding.doors import wants_html
from onboarding.problems import (
    database_unavailable,
    is_connection_error,
    problem,
    problem_response,
)
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


def body_limit() -> int:
    return settings.PACK_MAX_BYTES + _BODY_ENVELOPE


def _too_large(size: str) -> dict[str, Any]:
    return problem(
        413,
        "too_large",
        "Payload too large",
        f"The body is {size} bytes; the limit is {body_limit()} bytes "
        f"(packs up to PACK_MAX_BYTES={settings.PACK_MAX_BYTES}).",
    )


class ChunkedInput:
    """WSGI middleware for bodies sent without Content-Length (`Transfer-Encoding: chunked`).

    Django reads CONTENT_LENGTH bytes, so such a body would read as empty. When the server has
    decoded the chunks and ends the input stream itself (it says so with
    `wsgi.input_terminated`, as gunicorn does), the body is read here up to the size limit and
    handed on with its length; above the limit the answer is 413. A server that cannot end the
    stream gets 411 `length_required`: reading on would block or read into the next request."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked or environ.get("CONTENT_LENGTH"):
            return self.application(environ, start_response)
        if not environ.get("wsgi.input_terminated"):
            return _wsgi_problem(
                start_response,
                problem(
                    411,
                    "length_required",
                    "Length required",
                    "Send the body with a Content-Length header: this server cannot read a "
                    "chunked body to its end.",
                ),
            )
        body = _read_at_most(environ["wsgi.input"], body_limit() + 1)
        if len(body) > body_limit():
            # A server that closes a socket with unread bytes makes the kernel reset it, and the
            # client may lose the 413 while still sending: discard a bounded amount more first.
            _discard_at_most(environ["wsgi.input"], body_limit())
            return _wsgi_problem(start_response, _too_large(f"more than {body_limit()}"))
        environ = {**environ, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.application(environ, start_response)


def _discard_at_most(stream, limit: int) -> None:
    size = 0
    while size < limit:
        part = stream.read(min(64 * 1024, limit - size))
        if not part:
            return
        size += len(part)


def _read_at_most(stream, limit: int) -> bytes:
    parts, size = [], 0
    while size < limit:
        part = stream.read(min(64 * 1024, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _wsgi_problem(start_response, body: dict[str, Any]):
    response = problem_response(body)
    status = f"{response.status_code} {response.reason_phrase}"
    start_response(status, [*response.items(), ("Connection", "close")])
    return [response.content]


class BodySizeLimitMiddleware:
    """Answer 413 problem+json before Django or DRF read an oversized body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > body_limit():
            return problem_response(_too_large(str(length)))
        return self.get_response(request)


# What PostgreSQL cannot store in text or jsonb: NUL, and lone surrogates (Python strings can
# hold them, UTF-8 cannot). Refused for both databases so that SQLite answers the same.
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def storable(text: str) -> bool:
    return UNSTORABLE.search(text) is None


class StorableInputMiddleware:
    """Refuse, before any view or query, a request whose path, query, form fields or tenant
    header hold characters PostgreSQL cannot store: psycopg would fail with a DataError (500),
    and SQLite would quietly store or match them. One check for both doors: problem+json for
    REST clients and htmx, the error page for browsers. A path answers 404 (it names nothing);
    a query parameter 400 `invalid_filter`; a form field 400 `invalid_string`. JSON bodies are
    the strict parser's (`invalid_string` too). A session cookie holding such characters is
    dropped: it names no session. Sits before the session middleware, so that no lookup sees
    the cookie, and after the body size limit, so that it never reads an oversized form."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if session_key is not None and not storable(session_key):
            del request.COOKIES[settings.SESSION_COOKIE_NAME]
        refusal = unstorable_input(request)
        if refusal is not None:
            return refusal_response(request, refusal)
        return self.get_response(request)


def unstorable_input(request: HttpRequest) -> dict[str, Any] | None:
    """The problem for the first part of `request` that holds unstorable text, or None."""
    if not storable(request.path_info):
        return problem(404, "not_found", "Not found", "No resource at this path.")
    if not storable(request.headers.get("X-Tenant-ID", "")):
        return problem(
            400,
            "invalid_tenant_id",
            "Invalid request",
            "X-Tenant-ID is not a tenant id.",
            [{"code": "invalid_tenant_id", "path": "", "message": "Invalid X-Tenant-ID header."}],
        )
    if not storable(request.headers.get("Authorization", "")):
        return problem(401, "authentication_failed", "Authentication failed", "Invalid token.")
    bad = _unstorable_fields(request.GET)
    if bad:
        return _fields_problem("invalid_filter", "A query parameter", bad)
    try:
        fields = _form_fields(request)
    except MultiPartParserError:
        # Django would answer its own HTML 400 and log a traceback; the contract is problem+json.
        return problem(
            400,
            "malformed_body",
            "Malformed request body",
            "The multipart body cannot be parsed (missing or invalid boundary).",
            [{"code": "malformed_body", "path": "", "message": "Unparseable multipart body."}],
        )
    bad = _unstorable_fields(fields)
    if bad:
        return _fields_problem("invalid_string", "A form field", bad)
    return None


def _form_fields(request: HttpRequest) -> QueryDict:
    if request.content_type not in _FORM_TYPES:
        return QueryDict()
    # Read (and keep) the raw body first: parsing a multipart stream would consume it, and DRF
    # could then no longer answer 415 for a form sent to a JSON-only API view.
    request.body  # noqa: B018
    if request.method == "POST":
        names = QueryDict(mutable=True)
        names.update(request.POST)
        for name, upload in request.FILES.items():
            names.appendlist(name, upload.name or "")
        return names
    if request.content_type == _FORM_TYPES[0]:
        return QueryDict(request.body)
    return QueryDict()


def _unstorable_fields(fields: QueryDict) -> list[str]:
    return sorted(
        name
        for name, values in fields.lists()
        if not storable(name) or not all(storable(value) for value in values)
    )


def _fields_problem(code: str, what: str, names: list[str]) -> dict[str, Any]:
    errors = [
        {
            "code": code,
            "path": "/" + _shown(name).replace("~", "~0").replace("/", "~1"),
            "message": "NUL characters and lone surrogates are not allowed.",
        }
        for name in names
    ]
    return problem(400, code, "Invalid request", f"{what} holds a NUL or a surrogate.", errors)


def _shown(text: str) -> str:
    # The answer is UTF-8: a lone surrogate cannot be written as itself.
    return UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def refusal_response(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """A problem for REST clients and htmx (app.js shows it as a toast), the error page for a
    browser's full request."""
    if wants_html(request) and not request.headers.get("HX-Request"):
        context = {
            "status": body["status"],
            "title": body["title"],
            "detail": body["detail"],
            "errors": body["errors"],
        }
        html = render_to_string("error.html", context, request=request)
        return HttpResponse(html, status=body["status"])
    return problem_response(body)


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
        response.setdefault("Content-Security-Policy", policy_for_issuer(settings.OIDC_ISSUER))
        return response


@functools.lru_cache(maxsize=8)
def policy_for_issuer(issuer: str) -> str:
    """The policy, with the OpenID provider's origin allowed as a form target when SSO is set up:
    every page's "Log out" form ends at the provider's end_session_endpoint (RP-initiated
    logout), and browsers check form-action on every redirect of a form's navigation."""
    if not issuer:
        return SecurityHeadersMiddleware.POLICY
    parts = urlsplit(issuer)
    return SecurityHeadersMiddleware.POLICY.replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
    )


def database_unavailable_response(request, exception):
    """503 with Retry-After for a lost database connection (the server's trouble, not a bug),
    for both doors; None for any other error."""
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
