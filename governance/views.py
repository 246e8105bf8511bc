"""Pages of change requests (DESIGN §8, §11, §14): activation and rollback (their previews and
confirmations), the Approvals list, the review page with approve, reject and cancel, and the
platform settings.

Each is the page side of a `two_doors` path in governance/urls.py; every write calls the same
services as the API."""

import re

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from governance import selectors, services
from onboarding import ratelimit
from onboarding.errors import InvalidInput, finding
from onboarding.inputs import parse_int
from onboarding.ui import (
    Column,
    Filter,
    Table,
    done,
    filters_from,
    form_data,
    is_htmx,
    page_view,
    render_page,
    wants_write,
)
from packs.diff import diff_view, entries_from_json
from packs.selectors import domain_pack_list, tenant_pack_get
from runtime_config.models import ChangeRequestStatus
from tenants.selectors import platform_settings_get, tenant_list

CHANGES_TABLE = "changes-table"
_TRUE = {"true", "1", "on", "yes"}


def _int_or_none(raw: str | None, field: str) -> int | None:
    raw = (raw or "").strip()
    return parse_int(raw, path=f"/{field}", minimum=0) if raw else None


def _pair_text(domain, domain_version, tenant_version, tenant_id) -> str:
    text = f"{domain} {domain_version}" if domain_version else f"{domain} (no domain pack)"
    if tenant_version:
        text += f" and tenant pack {tenant_version}"
    return f"{text} for {tenant_id}"


def _form_apply_at(raw: str) -> str | None:
    """A `datetime-local` field has no offset (and no seconds unless they are set): the form
    says UTC, so it is UTC, at second 0. A value that already names its offset (the confirm
    step carries the preview's) is kept. The result is then read as strict RFC 3339."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}", raw, re.ASCII):
        return raw + ":00Z"
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?", raw):
        return raw + "Z"
    return raw


def _outcome_message(outcome, tenant_id: str, verb: str = "Activated") -> str:
    if outcome.status == "scheduled":
        when = outcome.change_request.apply_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"Change scheduled for {tenant_id} at {when}: the worker applies it then."
    if outcome.status == "pending":
        return (
            f"Change request created for {tenant_id}: it waits for another ADMIN's approval "
            "on the Approvals page."
        )
    if outcome.status == "unchanged":
        return f"Nothing changed: this configuration is already active for {tenant_id}."
    config = outcome.config
    return (
        f"{verb} "
        + _pair_text(
            config.domain,
            config.domain_pack.version if config.domain_pack else None,
            config.tenant_pack.version if config.tenant_pack else None,
            tenant_id,
        )
        + f" (revision {config.revision})."
    )


@page_view
def activate_page(request):
    if not wants_write(request):
        return HttpResponseRedirect("/admin/tenants")
    data = form_data(request)
    tenant_id = data.get("tenant_id", "").strip()
    domain = data.get("domain", "").strip() or None
    domain_version = data.get("domain_pack_version", "").strip() or None
    if data.get("domain_pack"):
        domain, _, domain_version = data["domain_pack"].partition("::")
    dry_run = data.get("dry_run", "").lower() in _TRUE
    if dry_run:
        ratelimit.enforce(request, "impact")  # a preview runs the decision impact
    tenant_version = data.get("tenant_pack_version", "").strip() or None
    try:
        outcome = services.config_activate(
            principal=request.principal,
            tenant_id=tenant_id,
            domain=domain or None,
            domain_pack_version=domain_version or None,
            tenant_pack_version=tenant_version,
            expected_revision=_int_or_none(data.get("expected_revision"), "expected_revision"),
            comment=data.get("comment", "")[:2000],
            dry_run=dry_run,
            apply_at=_form_apply_at(data.get("apply_at", "")),
        )
    except InvalidInput as exc:
        if not dry_run or exc.code != "domain_pack_version_required":
            raise
        return _domain_chooser(request, tenant_id, domain, tenant_version)
    if dry_run:
        return _preview_response(request, outcome.preview)
    return done(request, f"/admin/tenants/{tenant_id}", _outcome_message(outcome, tenant_id))


def _domain_chooser(request, tenant_id: str, domain: str | None, tenant_version: str | None):
    """No dead end: a tenant pack whose domain runs no domain pack for this tenant yet asks for
    the domain pack version to pair it with, then previews the pair (the same dry run)."""
    principal = request.principal
    if not domain and tenant_version:
        domain = tenant_pack_get(
            principal=principal, tenant_id=tenant_id, version=tenant_version
        ).domain
    choices = list(
        domain_pack_list(principal=principal, domain=domain).exclude(status="DEPRECATED")[:100]
    )
    context = {
        "tenant_id": tenant_id,
        "domain": domain,
        "tenant_pack_version": tenant_version,
        "choices": choices,
    }
    template = "runtime/_domain_chooser.html" if is_htmx(request) else "runtime/domain_chooser.html"
    return TemplateResponse(request, template, context)


_TITLES = {
    "apply": "Confirm activation",
    "pending_approval": "Request approval of this activation",
    "unchanged": "Nothing to change",
    "refused": "Activation blocked",
}


def _preview_context(preview: dict, verb: str = "Activate", word: str = "activate") -> dict:
    proposed = preview.get("proposed") or {}
    current = preview.get("current") or {}
    diff = preview.get("effective_config_diff") or {}
    pair = _pair_text(
        proposed.get("domain"),
        proposed.get("domain_pack_version"),
        proposed.get("tenant_pack_version"),
        preview.get("tenant_id"),
    )
    return {
        "preview": preview,
        "proposed": proposed,
        "title": _TITLES.get(preview.get("outcome"), "Activation preview"),
        "blocked": blocked_reasons(preview, proposed),
        "sentence": f"{verb} {pair}",
        "blocked_sentence": f"Cannot {word} {pair}: nothing was changed",
        "expected_revision": current.get("revision", 0) if current else 0,
        "diff_view": diff_view(entries_from_json(diff)),
        "approvers": services.approvers_text(preview.get("tenant_id")),
    }


def _preview_response(request, preview: dict):
    context = _preview_context(preview)
    template = "runtime/_activate_preview.html" if is_htmx(request) else "runtime/activate.html"
    return TemplateResponse(request, template, context)


_LINK_LABEL = re.compile(r"^Playbook link \d+ \((?P<playbook>[^)]*)\): ")


def blocked_reasons(preview: dict, proposed: dict) -> list[dict]:
    """Each blocking problem of a dry run said the way the pages say it: what is wrong, and a
    link to the page that fixes it (the API's findings name API calls)."""
    tenant_id = preview.get("tenant_id") or ""
    tenant_url = f"/admin/tenants/{tenant_id}"
    packs_url = f"/admin/packs?tab=tenant&tenant_id={tenant_id}"
    domain_pack_url = (
        f"/admin/packs/domain/{proposed.get('domain')}/{proposed.get('domain_pack_version')}"
        if proposed.get("domain_pack_version")
        else "/admin/packs?tab=domain"
    )
    texts = {
        "tenant_suspended": (
            f"{tenant_id} is suspended: enable it before activating anything.",
            "Open the tenant page",
            tenant_url,
        ),
        "revision_conflict": (
            "The configuration changed since this preview: reload and preview again.",
            "Reload the tenant page",
            tenant_url,
        ),
        "pack_integrity_failure": (
            "A stored pack no longer matches its checksum: it cannot be served.",
            "Open the domain pack",
            domain_pack_url,
        ),
        "pack_deprecated": (
            "A chosen version is deprecated: restore it on its page or choose another version.",
            "Open the packs list",
            packs_url,
        ),
        "incompatible_packs": (
            "The tenant pack does not fit this domain pack: choose another pair.",
            "Open the tenant's packs",
            packs_url,
        ),
        "incompatible_playbook_links": (
            "Playbooks linked to the tenant would break with these packs: unlink them on the "
            "Playbooks page, or choose other packs.",
            "Open the Playbooks page",
            f"/admin/playbooks?tenant_id={tenant_id}",
        ),
    }
    reasons = []
    for code in preview.get("problems") or []:
        text, fix_label, fix_url = texts.get(
            code, ("This activation is refused.", "Open the tenant page", tenant_url)
        )
        errors = [_ui_finding(item) for item in preview.get("errors") or []]
        reasons.append(
            {
                "code": code,
                "text": text,
                "fix_label": fix_label,
                "fix_url": fix_url,
                "errors": [item for item in errors if item.get("problem") == code],
            }
        )
    return reasons


def _ui_finding(item: dict) -> dict:
    if item.get("code") != "incompatible_playbook_link":
        return item
    message = _LINK_LABEL.sub(
        lambda match: f"Linked playbook {match['playbook']}: ", item.get("message", "")
    )
    return {**item, "message": message, "hint": "Unlink it on the Playbooks page."}


_ROLLBACK_TITLES = {
    "apply": "Confirm rollback",
    "pending_approval": "Request approval of this rollback",
    "unchanged": "Nothing to change",
    "refused": "Rollback blocked",
}


@page_view
def rollback_page(request, tenant_id: str):
    if not wants_write(request):
        if "to_revision" in request.GET:
            return _rollback_preview(request, tenant_id)
        return HttpResponseRedirect(f"/admin/tenants/{tenant_id}")
    data = form_data(request)
    outcome = services.config_rollback(
        principal=request.principal,
        tenant_id=tenant_id,
        to_revision=_int_or_none(data.get("to_revision"), "to_revision"),
        expected_revision=_int_or_none(data.get("expected_revision"), "expected_revision"),
        comment=data.get("comment", "")[:2000],
    )
    return done(
        request,
        f"/admin/tenants/{tenant_id}",
        _outcome_message(outcome, tenant_id, verb="Rolled back to"),
    )


def _rollback_preview(request, tenant_id: str):
    """The rollback's dry run as a page (GET ?to_revision=N): what changes, the effective-config
    diff and the decision impact, then the same confirmation as the dialog, bound to the
    revision the preview was computed from."""
    ratelimit.enforce(request, "impact")
    to_revision = _int_or_none(request.GET.get("to_revision"), "to_revision")
    outcome = services.config_rollback(
        principal=request.principal, tenant_id=tenant_id, to_revision=to_revision, dry_run=True
    )
    context = _preview_context(outcome.preview, "Roll back to", "roll back to")
    context["title"] = _ROLLBACK_TITLES.get(outcome.preview.get("outcome"), "Rollback preview")
    context["to_revision"] = to_revision
    return TemplateResponse(request, "runtime/rollback_preview.html", context)


# --- approvals ---------------------------------------------------------------------------------


@page_view
def change_list_page(request):
    principal = request.principal
    filters = filters_from(
        request,
        Filter("status", "Status", options=[(s, s.title()) for s in ChangeRequestStatus.values]),
        Filter("tenant_id", "Tenant", options=_tenant_options(principal)),
    )
    values = {item.name: item.value for item in filters}
    rows = selectors.change_request_list(
        principal=principal,
        status=values.get("status") or None,
        tenant_id=values.get("tenant_id") or None,
    )
    table = Table(
        request,
        rows,
        [
            Column("requested_at", "Requested", "requested_at"),
            Column("tenant", "Tenant", "tenant_id"),
            Column("change", "Change"),
            Column("requested_by", "Requested by", "requested_by"),
            Column("status", "Status", "status"),
            Column("review", "Review"),
            Column("actions", "Actions"),
        ],
        table_id=CHANGES_TABLE,
        row_template="runtime/_change_row.html",
        default_sort="-requested_at",
        empty="No change requests match these filters.",
    )
    # The rows' actions are the review services' rules (change_request_actions), not the
    # template's: a page offers exactly what would succeed.
    table.stacked = True  # one card per request on phones: status and actions stay in view
    table.page.object_list = list(table.page.object_list)
    for row in table.page.object_list:
        row.actions = services.change_request_actions(principal=principal, change_request=row)
        row.policy_text = services.pair_text(row) if row.kind in ("policy", "access") else ""
    pending = selectors.change_request_list(principal=principal, status="PENDING").count()
    return render_page(
        request,
        "runtime/changes.html",
        {"table": table, "filters": filters, "keep": [], "pending_count": pending},
        partials={CHANGES_TABLE: "components/data_table.html"},
    )


def _tenant_options(principal) -> list[tuple[str, str]]:
    return [(t.tenant_id, t.tenant_id) for t in tenant_list(principal=principal)[:500]]


def _review(request, change_id, action: str):
    if not wants_write(request):
        return HttpResponseRedirect("/admin/config-changes")
    comment = form_data(request).get("comment", "")[:2000]
    service = {
        "approve": services.change_request_approve,
        "reject": services.change_request_reject,
        "cancel": services.change_request_cancel,
    }[action]
    result = service(principal=request.principal, change_request_id=change_id, comment=comment)
    change = result[0] if isinstance(result, tuple) else result
    past = {"approve": "approved and applied", "reject": "rejected", "cancel": "cancelled"}
    if action == "approve" and change.status == "SCHEDULED":
        past["approve"] = f"approved; it applies at {change.apply_at:%Y-%m-%d %H:%M} UTC"
    return done(
        request,
        "/admin/config-changes",
        f"Change request for {change.tenant_id or 'the platform'} {past[action]}.",
    )


@page_view
def change_detail_page(request, id):
    """The review page of a change request: the request, its effective-config diff and its
    decision impact, with the approve and reject forms (DESIGN §14)."""
    ratelimit.enforce(request, "impact")  # the review carries the decision impact
    principal = request.principal
    change = selectors.change_request_get(principal=principal, change_request_id=id)
    review = services.change_request_review(change)
    actions = services.change_request_actions(principal=principal, change_request=change)
    context = {
        "change": change,
        "review": review,
        "policy_text": services.pair_text(change) if change.kind in ("policy", "access") else "",
        "diff_view": diff_view(entries_from_json(review["diff"] or {})),
        "is_requester": actions.is_requester,
        "can_approve": actions.approve,
        "can_reject": actions.reject,
        "can_cancel": actions.cancel,
        "approvers": services.approvers_text(change.tenant_id),
    }
    return TemplateResponse(request, "runtime/change_detail.html", context)


@page_view
def change_approve_page(request, id):
    return _review(request, id, "approve")


@page_view
def change_reject_page(request, id):
    return _review(request, id, "reject")


@page_view
def change_cancel_page(request, id):
    return _review(request, id, "cancel")


# --- platform settings ------------------------------------------------------------------------


@page_view
def platform_settings_page(request):
    """The global settings (platform ADMIN): switching approval off waits for another one."""
    principal = request.principal
    if wants_write(request):
        data = form_data(request)
        raw = (data.get("require_activation_approval") or "").strip().lower()
        if raw not in ("true", "false"):
            raise InvalidInput(
                "require_activation_approval must be true or false.",
                code="wrong_type",
                errors=[
                    finding("wrong_type", "/require_activation_approval", "Expected true or false.")
                ],
            )
        change = services.platform_settings_update(
            principal=principal, require_activation_approval=raw == "true"
        )
        if change.change_request is not None:
            message = (
                "Switching global activation approval off awaits approval by another platform "
                "ADMIN."
            )
        else:
            word = "required" if change.settings.require_activation_approval else "not required"
            message = f"Global activation approval: {word}."
        return done(request, "/admin/platform/settings", message)
    row = platform_settings_get(principal=principal)
    pending = list(
        selectors.change_request_list(principal=principal)
        .filter(kind="policy", tenant__isnull=True, status="PENDING")
        .order_by("-requested_at")
    )
    for change_request in pending:
        change_request.text = services.pair_text(change_request)
    return TemplateResponse(
        request,
        "tenants/platform_settings.html",
        {"settings_row": row, "pending": pending},
    )
