"""Template helpers of the shared components: status badges, CodeViewer, ConfirmDialog."""

import json
from itertools import count
from typing import Any
from urllib.parse import urlsplit

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer

from onboarding.confirm import Confirmation, confirm_href, is_local_path

register = template.Library()

# Status → CSS modifier; the text is always shown too (never colour alone).
_BADGES = {
    "ACTIVE": "ok",
    "APPLIED": "ok",
    "DRAFT": "draft",
    "PENDING": "warn",
    "SCHEDULED": "draft",
    "SUSPENDED": "bad",
    "DEPRECATED": "muted",
    "REJECTED": "bad",
    "BLOCKED": "bad",
    "CANCELLED": "muted",
    "STALE": "muted",
    "CRITICAL": "bad",
    "HIGH": "warn",
    "MEDIUM": "draft",
    "LOW": "muted",
    "CONVERGED": "ok",
    # Rollouts (DESIGN §16): their statuses, their waves' and their tenants'.
    "RUNNING": "draft",
    "BAKING": "draft",
    "PAUSED": "warn",
    "PENDING_APPROVAL": "warn",
    "COMPLETED": "ok",
    "HALTED": "bad",
    "ROLLED_BACK": "bad",
    "MOVED": "ok",
    "SKIPPED": "warn",
    "RESTORED": "muted",
    "NOT_RESTORED": "bad",
    "CONVERGING": "warn",
    "BEHIND": "warn",
    "NOT SERVED": "warn",
}
# Above this size Pygments would make the page slow: show the escaped text without colours.
HIGHLIGHT_LIMIT = 512 * 1024
_ids = count(1)


@register.filter
def badge(status: Any) -> SafeString:
    text = str(status or "—")
    return format_html(
        '<span class="badge badge-{}">{}</span>', _BADGES.get(text.upper(), "muted"), text
    )


_LIFECYCLE_HELP = {
    "DRAFT": "Lifecycle: imported, never activated",
    "ACTIVE": "Lifecycle: may be activated for tenants (not necessarily live)",
    "DEPRECATED": "Lifecycle: retired, cannot be activated",
}


@register.filter
def lifecycle(status: Any) -> SafeString:
    """A pack's lifecycle status: always shown, quieter than LIVE (components/live.html)."""
    text = str(status or "—")
    return format_html(
        '<span class="badge badge-lifecycle badge-{}" title="{}">{}</span>',
        _BADGES.get(text.upper(), "muted"),
        _LIFECYCLE_HELP.get(text.upper(), ""),
        text,
    )


@register.filter
def pack_size(size_bytes: Any) -> SafeString:
    """The one way a pack's size is shown: its canonical JSON, 1024-based, exact bytes on hover."""
    try:
        size = int(size_bytes)
    except (TypeError, ValueError):
        return format_html('<span class="muted">—</span>')
    return format_html(
        '<span title="{} bytes of canonical JSON">{}</span>', f"{size:,}", filesizeformat(size)
    )


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@register.filter
def pretty(value: Any) -> str:
    """Indented JSON for the side-by-side diff (escaped by the template like any string)."""
    return pretty_json(value)


@register.filter
def compact_json(value: Any) -> str:
    """One-line JSON for table cells and diffs (escaped by the template like any string)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


@register.inclusion_tag("components/code_viewer.html")
def code_viewer(
    value: Any, label: str = "JSON", max_height: str = "tall", page: Any = None
) -> dict[str, Any]:
    """`page`: a CodePage (onboarding.code_pages) to show one page of a long document, numbered
    as lines of the whole."""
    text = (
        page.text if page is not None else value if isinstance(value, str) else pretty_json(value)
    )
    first_line = page.first_line if page is not None else 1
    viewer_id = f"code-{next(_ids)}"
    if len(text) <= HIGHLIGHT_LIMIT:
        # Pygments escapes every token, so pack strings can never become markup.
        formatter = HtmlFormatter(
            linenos="table", linenostart=first_line, cssclass="codehilite", wrapcode=True
        )
        html = mark_safe(highlight(text, JsonLexer(), formatter))  # noqa: S308
        plain = False
    else:
        html, plain = text, True
    return {
        "id": viewer_id,
        "html": html,
        "plain": plain,
        "label": label,
        "lines": page.total_lines if page is not None else text.count("\n") + 1,
        "page": page,
        "height": max_height,
    }


@register.inclusion_tag("components/confirm_dialog.html", takes_context=True)
def confirm_dialog(
    context,
    confirmation: Confirmation | None = None,
    *,
    label: str = "",
    message: str = "",
    action: str = "",
    title: str = "Please confirm",
    confirm_label: str = "Confirm",
    danger: bool = False,
    comment: bool = False,
    button_class: str = "",
    review: str = "",
    **fields: Any,
) -> dict[str, Any]:
    """A trigger opening a native <dialog> that states exactly what will happen, then posts
    `fields` to `action` (htmx when available, a plain form post otherwise). The trigger is a link
    to the same confirmation as a page, so it works without JavaScript too (onboarding/confirm.py).

    Either pass a `Confirmation` built by the view, or its parts as keyword arguments."""
    request = context.get("request")
    if confirmation is None:
        confirmation = Confirmation(
            action=action,
            message=message,
            title=title,
            confirm_label=confirm_label,
            label=label,
            danger=danger,
            comment=comment,
            fields={name: "" if value is None else str(value) for name, value in fields.items()},
            back=_current_page(request),
            review=review if is_local_path(review) else "",
        )
    href = confirm_href(request, confirmation) if request is not None else ""
    return {
        "dialog_id": f"confirm-{next(_ids)}",
        "c": confirmation,
        "href": href,
        "button_class": button_class,
        "fields": sorted(confirmation.fields.items()),
        "csrf_token": context.get("csrf_token"),
    }


def _current_page(request) -> str:
    """Where Cancel leads on the confirm page: the page the user is on (for an htmx partial, the
    page that asked for it)."""
    if request is None:
        return "/admin/tenants"
    current = request.headers.get("HX-Current-URL", "")
    if current:
        parts = urlsplit(current)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if is_local_path(path):
            return path
    if request.method == "GET":
        return request.get_full_path()
    return request.path


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.filter
def can_write(principal: Any, tenant_id: Any) -> bool:
    """Show write controls only to who may use them (the services check again)."""
    return bool(principal) and principal.can_write_tenant(str(tenant_id))


@register.simple_tag
def sentence(*parts: Any) -> str:
    """Join the pieces of a confirmation message (escaped by the template engine)."""
    return "".join(str(part) for part in parts if part is not None)
