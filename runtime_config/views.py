"""Pages of activation, rollback, approvals and the evaluator (DESIGN §8, §9, §11).

Each is the page side of a `two_doors` path in runtime_config/urls.py or runtime_urls.py (/ops is
`page_only`); every write calls the same services as the API."""

import json
import re

from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from onboarding.errors import InvalidInput, ServiceError, finding
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
from runtime_config import selectors, services
from runtime_config.models import ChangeRequestStatus
from runtime_config.runtime import get_effective_config, parse_min_revision
from runtime_config.services.records import policy_text

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
    """A `datetime-local` field has no offset: the form says UTC, so it is UTC. A value that
    already names its offset (the confirm step carries the preview's) is kept."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?", raw):
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
    outcome = services.config_activate(
        principal=request.principal,
        tenant_id=tenant_id,
        domain=domain or None,
        domain_pack_version=domain_version or None,
        tenant_pack_version=data.get("tenant_pack_version", "").strip() or None,
        expected_revision=_int_or_none(data.get("expected_revision"), "expected_revision"),
        comment=data.get("comment", "")[:2000],
        dry_run=dry_run,
        apply_at=_form_apply_at(data.get("apply_at", "")),
    )
    if dry_run:
        return _preview_response(request, outcome.preview)
    return done(request, f"/admin/tenants/{tenant_id}", _outcome_message(outcome, tenant_id))


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
    to_revision = _int_or_none(request.GET.get("to_revision"), "to_revision")
    outcome = services.config_rollback(
        principal=request.principal, tenant_id=tenant_id, to_revision=to_revision, dry_run=True
    )
    context = _preview_context(outcome.preview, "Roll back to", "roll back to")
    context["title"] = _ROLLBACK_TITLES.get(outcome.preview.get("outcome"), "Rollback preview")
    context["to_revision"] = to_revision
    return TemplateResponse(request, "runtime/rollback_preview.html", context)


@page_view
def activations_page(request, tenant_id: str):
    from tenants.selectors import tenant_get

    tenant = tenant_get(principal=request.principal, tenant_id=tenant_id)
    rows = selectors.activation_history_list(principal=request.principal, tenant_id=tenant_id)
    table = Table(
        request,
        rows,
        [
            Column("revision", "Revision", "revision"),
            Column("kind", "Kind"),
            Column("domain_pack", "Domain pack"),
            Column("tenant_pack", "Tenant pack"),
            Column("actor", "By", "actor"),
            Column("activated_at", "At", "activated_at"),
            Column("comment", "Comment"),
        ],
        table_id="activations-table",
        row_template="runtime/_activation_row.html",
        default_sort="-revision",
        empty="No activations yet.",
    )
    return render_page(
        request,
        "runtime/activations.html",
        {"tenant": tenant, "table": table},
        partials={"activations-table": "components/data_table.html"},
    )


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
    table.page.object_list = list(table.page.object_list)
    for row in table.page.object_list:
        row.actions = services.change_request_actions(principal=principal, change_request=row)
        row.policy_text = policy_text(row.policy) if row.kind == "policy" else ""
    pending = selectors.change_request_list(principal=principal, status="PENDING").count()
    return render_page(
        request,
        "runtime/changes.html",
        {"table": table, "filters": filters, "keep": [], "pending_count": pending},
        partials={CHANGES_TABLE: "components/data_table.html"},
    )


def _tenant_options(principal) -> list[tuple[str, str]]:
    from tenants.selectors import tenant_list

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
    principal = request.principal
    change = selectors.change_request_get(principal=principal, change_request_id=id)
    review = services.change_request_review(change)
    actions = services.change_request_actions(principal=principal, change_request=change)
    context = {
        "change": change,
        "review": review,
        "policy_text": policy_text(change.policy) if change.kind == "policy" else "",
        "diff_view": diff_view(entries_from_json(review["diff"] or {})),
        "is_requester": actions.is_requester,
        "can_approve": actions.approve,
        "can_reject": actions.reject,
        "can_cancel": actions.cancel,
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


# --- /ops: the live behaviour of a tenant's configuration ---------------------------------------

DEFAULT_PAYLOAD = {"tradeId": "T-1001", "amount": 125000, "currency": "USD"}


@page_view
def ops_page(request):
    context = ops_context(
        request,
        request.GET.get("tenant_id", "").strip(),
        request.GET.get("exception_type", "").strip(),
        request.GET.get("payload", ""),
        parse_min_revision(request.GET.get("min_revision") or None),
    )
    return render_page(request, "ops/ops.html", context, partials={"ops-panel": "ops/_form.html"})


def ops_context(
    request, tenant_id: str, exception_type: str, payload_text: str, min_revision=None
) -> dict:
    """Tenants with an active configuration, and the exception types of the chosen one (never
    older than `min_revision`, the revision the tenant page just wrote)."""
    principal = request.principal
    tenant_ids = selectors.tenants_with_active_config(principal=principal)
    if tenant_id not in tenant_ids:
        tenant_id = tenant_ids[0] if tenant_ids else ""
    types, config, note = [], None, ""
    if tenant_id:
        try:
            config = get_effective_config(tenant_id, min_revision)
            types = sorted(config.plans)
        except ServiceError as exc:
            note = exc.detail
    if exception_type not in types:
        exception_type = types[0] if types else ""
    return {
        "tenant_ids": tenant_ids,
        "tenant_id": tenant_id,
        "exception_types": types,
        "exception_type": exception_type,
        "config": config,
        "note": note,
        "payload_text": payload_text or json.dumps(DEFAULT_PAYLOAD, indent=2),
    }


# --- runtime -----------------------------------------------------------------------------------


@page_view
def runtime_config_page(request, tenant_id: str):
    from tenants.selectors import tenant_get

    tenant = tenant_get(principal=request.principal, tenant_id=tenant_id)
    min_revision = parse_min_revision(request.GET.get("min_revision"))
    config = get_effective_config(tenant.tenant_id, min_revision)
    return TemplateResponse(
        request,
        "runtime/effective.html",
        {"tenant": tenant, "config": config, "document": json.loads(config.body)},
    )


@page_view
def evaluate_page(request):
    from runtime_config.evaluator import evaluate
    from tenants.access import tenant_not_found

    if not wants_write(request):
        return HttpResponseRedirect("/ops")
    data = form_data(request)
    tenant_id = data.get("tenant_id", "").strip()
    exception_type = data.get("exception_type", "").strip()
    if not request.principal.can_read_tenant(tenant_id):
        raise tenant_not_found(tenant_id)
    context: dict = {}
    status = 200
    try:
        payload = _payload(data.get("payload", ""))
        # The revision the page showed: the decision never comes from an older configuration.
        min_revision = parse_min_revision(data.get("min_revision") or None)
        context["decision"] = evaluate(
            tenant_id=tenant_id,
            exception_type=exception_type,
            payload=payload,
            min_revision=min_revision,
        )
    except ServiceError as exc:
        # Shown where the decision was: a failed evaluation never leaves the previous decision
        # on screen as if it were the answer.
        context["failure"] = exc
        status = exc.status
        min_revision = None
    if is_htmx(request):
        template = "ops/_decision.html" if "decision" in context else "ops/_failure.html"
        return TemplateResponse(request, template, context, status=status)
    context.update(
        ops_context(request, tenant_id, exception_type, data.get("payload", ""), min_revision)
    )
    return TemplateResponse(request, "ops/ops.html", context, status=status)


def _payload(raw: str):
    from onboarding.intake import load_json_bytes

    raw = raw.strip() or "{}"
    try:
        value = load_json_bytes(raw.encode("utf-8"))
    except InvalidInput as exc:
        exc.errors = [
            {**item, "path": "/payload" + (item.get("path") or "")} for item in exc.errors
        ]
        raise
    if not isinstance(value, dict):
        raise InvalidInput(
            "The payload must be a JSON object.",
            code="wrong_type",
            errors=[finding("wrong_type", "/payload", "Expected a JSON object.")],
        )
    return value


@page_view
def convergence_page(request, tenant_id: str):
    convergence = selectors.convergence_get(principal=request.principal, tenant_id=tenant_id)
    template = "runtime/_convergence.html" if is_htmx(request) else "runtime/convergence.html"
    return TemplateResponse(
        request, template, {"convergence": convergence, "tenant_id": convergence["tenant_id"]}
    )
