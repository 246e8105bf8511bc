"""Template helpers of the shared components: status badges, CodeViewer, ConfirmDialog."""

import json
from itertools import count
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer

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
    "CANCELLED": "muted",
    "STALE": "muted",
    "CRITICAL": "bad",
    "HIGH": "warn",
    "MEDIUM": "draft",
    "LOW": "muted",
    "CONVERGED": "ok",
    "CONVERGING": "warn",
    "BEHIND": "warn",
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


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@register.filter
def compact_json(value: Any) -> str:
    """One-line JSON for table cells and diffs (escaped by the template like any string)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


@register.inclusion_tag("components/code_viewer.html")
def code_viewer(value: Any, label: str = "JSON", max_height: str = "tall") -> dict[str, Any]:
    text = value if isinstance(value, str) else pretty_json(value)
    viewer_id = f"code-{next(_ids)}"
    if len(text) <= HIGHLIGHT_LIMIT:
        # Pygments escapes every token, so pack strings can never become markup.
        formatter = HtmlFormatter(linenos="table", cssclass="codehilite", wrapcode=True)
        html = mark_safe(highlight(text, JsonLexer(), formatter))  # noqa: S308
        plain = False
    else:
        html, plain = text, True
    return {
        "id": viewer_id,
        "html": html,
        "plain": plain,
        "label": label,
        "lines": text.count("\n") + 1,
        "size": len(text.encode()),
        "height": max_height,
    }


@register.inclusion_tag("components/confirm_dialog.html", takes_context=True)
def confirm_dialog(
    context,
    *,
    label: str,
    message: str,
    action: str,
    title: str = "Please confirm",
    confirm_label: str = "Confirm",
    danger: bool = False,
    comment: bool = False,
    button_class: str = "",
    **fields: Any,
) -> dict[str, Any]:
    """A button opening a native <dialog> that states exactly what will happen, then posts
    `fields` to `action` (htmx when available, a plain form post otherwise)."""
    return {
        "dialog_id": f"confirm-{next(_ids)}",
        "label": label,
        "message": message,
        "action": action,
        "title": title,
        "confirm_label": confirm_label,
        "danger": danger,
        "comment": comment,
        "button_class": button_class,
        "fields": sorted(fields.items()),
        "csrf_token": context.get("csrf_token"),
    }


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
