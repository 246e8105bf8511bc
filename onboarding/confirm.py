"""ConfirmDialog without JavaScript: every confirmed write also has a server-rendered confirm page.

A page builds a `Confirmation` (what the write does, in words, and the fields it posts). The
`{% confirm_dialog %}` component renders it twice: a native <dialog> that app.js opens, and the
trigger itself, a real link to `/confirm?c=<signed Confirmation>`. With scripts on, app.js stops
the link and opens the dialog; with scripts off, the browser follows it and `confirm_page` renders
the same words and the same form. Either way the form POSTs the same fields, with the CSRF token,
to the write's own path, whose view calls the service with every check: the confirm page itself
changes nothing and decides nothing.

The Confirmation travels signed (Django's signing, a salt of its own, bound to the user who was
shown it, valid for `MAX_AGE`), so nobody can craft a confirm page that says one thing and posts
another. A view never needs to know about any of this: any `{% confirm_dialog %}` gets its confirm
page for free."""

from dataclasses import asdict, dataclass, field
from typing import Any

from django.core import signing
from django.http import HttpRequest
from django.template.response import TemplateResponse

from onboarding.errors import InvalidInput, finding

SALT = "onboarding.confirm"
MAX_AGE = 6 * 3600


@dataclass(frozen=True)
class Confirmation:
    """One confirmed write: `action` is the path the form posts to, `fields` its hidden inputs."""

    action: str
    message: str
    title: str = "Please confirm"
    confirm_label: str = "Confirm"
    label: str = ""
    danger: bool = False
    comment: bool = False
    fields: dict[str, str] = field(default_factory=dict)
    back: str = "/admin/tenants"
    # A page to read before deciding (a change request's review page), linked from the dialog.
    review: str = ""


def is_local_path(url: str) -> bool:
    """Only paths of this site: no scheme, no host, no `//host`, no backslash tricks."""
    return (
        isinstance(url, str)
        and url.startswith("/")
        and not url.startswith("//")
        and "\\" not in url
        and not any(ch in url for ch in "\r\n\x00")
    )


def confirm_token(request: HttpRequest, confirmation: Confirmation) -> str:
    payload = asdict(confirmation)
    payload["u"] = request.user.pk
    return signing.dumps(payload, salt=SALT, compress=True)


def confirm_href(request: HttpRequest, confirmation: Confirmation) -> str:
    return f"/confirm?c={confirm_token(request, confirmation)}"


def _invalid() -> InvalidInput:
    return InvalidInput(
        "This confirmation link is invalid or has expired: go back, reload the page and try again.",
        code="invalid_confirmation",
        errors=[finding("invalid_confirmation", "/c", "Unknown, altered or expired link.")],
    )


def load_confirmation(request: HttpRequest) -> Confirmation:
    token = request.GET.get("c", "")
    try:
        payload: dict[str, Any] = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature as exc:  # includes SignatureExpired
        raise _invalid() from exc
    if payload.pop("u", None) != request.user.pk:
        raise _invalid()
    try:
        confirmation = Confirmation(**payload)
    except TypeError as exc:
        raise _invalid() from exc
    if not is_local_path(confirmation.action) or not is_local_path(confirmation.back):
        raise _invalid()
    if confirmation.review and not is_local_path(confirmation.review):
        raise _invalid()
    return confirmation


def confirm_page(request: HttpRequest) -> TemplateResponse:
    """GET /confirm?c=…: the ConfirmDialog as a page (wrapped in page_view by the URLconf)."""
    confirmation = load_confirmation(request)
    return TemplateResponse(
        request,
        "confirm.html",
        {"c": confirmation, "fields": sorted(confirmation.fields.items())},
    )
