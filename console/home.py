"""The home page (`/`, issue 23): what needs the signed-in person, each with its link — change
requests waiting for their review, their own open requests, webhook endpoints failing or paused,
tenants whose serving processes have not converged, then whatever the installed apps answer
through the kernel's `attention_items` signal (rollouts running or halted: rollouts/receivers.py).

Every section is read with the app's own selectors, scoped by the principal; a section the
principal has no role for is simply empty."""

from dataclasses import dataclass, field

from django.db.models import Q
from django.template.response import TemplateResponse

from governance.selectors import change_request_list
from governance.services import change_request_actions, pair_text
from onboarding.attention import AttentionItem, collect
from onboarding.errors import ServiceError
from onboarding.principal import Principal
from runtime_config.selectors import convergence_get, tenants_with_active_config
from webhooks.selectors import webhook_list

LIMIT = 50  # rows read per section; the section links to its full list
CONVERGENCE_TENANTS = 100  # tenants whose convergence the page checks


@dataclass
class Section:
    title: str
    items: list[AttentionItem] = field(default_factory=list)
    more: str = ""  # link to the full list
    empty: str = ""


def _kind_words(row) -> str:
    return {"activate": "Activation", "rollback": "Rollback", "policy": "Policy change"}.get(
        row.kind, row.kind.title()
    )


def _request_item(row, section: str, detail: str) -> AttentionItem:
    where = row.tenant_id or "the platform"
    return AttentionItem(
        section=section,
        title=f"{_kind_words(row)} for {where}: {pair_text(row)}",
        href=f"/admin/config-changes/{row.pk}",
        detail=detail,
        level="warn" if row.status == "PENDING" else "info",
    )


def waiting_for_review(principal: Principal) -> Section:
    section = Section(
        "Waiting for your review",
        more="/admin/config-changes?status=PENDING",
        empty="Nothing waits for your review.",
    )
    for row in change_request_list(principal=principal, status="PENDING")[:LIMIT]:
        if change_request_actions(principal=principal, change_request=row).approve:
            detail = f"requested by {row.requested_by} at {row.requested_at:%Y-%m-%d %H:%M} UTC"
            section.items.append(_request_item(row, section.title, detail))
    return section


def own_open_requests(principal: Principal) -> Section:
    section = Section(
        "Your open requests",
        more="/admin/config-changes",
        empty="You have no open requests.",
    )
    rows = change_request_list(principal=principal).filter(
        status__in=("PENDING", "SCHEDULED"), requested_by=principal.username
    )
    for row in rows[:LIMIT]:
        if row.status == "SCHEDULED":
            detail = f"scheduled for {row.apply_at:%Y-%m-%d %H:%M} UTC"
        else:
            detail = "waiting for a second ADMIN's approval"
        section.items.append(_request_item(row, section.title, detail))
    return section


def failing_webhooks(principal: Principal) -> Section | None:
    if not principal.is_admin_anywhere:
        return None
    section = Section(
        "Webhook endpoints failing or paused",
        more="/admin/webhooks",
        empty="Every webhook endpoint delivers.",
    )
    rows = webhook_list(principal=principal).filter(
        Q(paused_at__isnull=False) | Q(failure_streak__gt=0)
    )
    for hook in rows[:LIMIT]:
        if hook.paused_at:
            detail = f"paused since {hook.paused_at:%Y-%m-%d %H:%M} UTC"
            if hook.pause_reason:
                detail += f": {hook.pause_reason}"
        else:
            plural = "s" if hook.failure_streak != 1 else ""
            detail = f"{hook.failure_streak} failed attempt{plural} in a row"
        section.items.append(
            AttentionItem(
                section=section.title,
                title=f"{hook.url} ({hook.tenant_id or 'platform'})",
                href=f"/admin/webhooks/{hook.pk}",
                detail=detail,
                level="bad" if hook.paused_at else "warn",
            )
        )
    return section


def tenants_not_converged(principal: Principal) -> Section:
    section = Section(
        "Tenants not converged",
        empty="Every serving process answers with the active revision.",
    )
    for tenant_id in tenants_with_active_config(principal=principal)[:CONVERGENCE_TENANTS]:
        state = convergence_get(principal=principal, tenant_id=tenant_id)
        behind = [p for p in state["processes"] if not p["current"]]
        if not behind:
            continue
        served = sorted({f"r{p['revision']}" for p in behind})
        section.items.append(
            AttentionItem(
                section=section.title,
                title=tenant_id,
                href=f"/admin/tenants/{tenant_id}#convergence",
                detail=f"{len(behind)} of {len(state['processes'])} processes still serve "
                f"{', '.join(served)}; revision {state['revision']} is active",
                level="warn",
            )
        )
    return section


def _from_apps(principal: Principal) -> list[Section]:
    sections: dict[str, Section] = {}
    for item in collect(principal):
        sections.setdefault(item.section, Section(item.section)).items.append(item)
    return list(sections.values())


def home_sections(principal: Principal) -> list[Section]:
    sections = []
    for build in (waiting_for_review, own_open_requests, failing_webhooks, tenants_not_converged):
        try:
            section = build(principal)
        except ServiceError:  # no role for what the section reads: it has nothing to show
            continue
        if section is not None:
            sections.append(section)
    return sections + _from_apps(principal)


def home_page(request):
    sections = home_sections(request.principal)
    waiting = sum(len(section.items) for section in sections)
    return TemplateResponse(request, "home.html", {"sections": sections, "waiting": waiting})
