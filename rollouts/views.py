"""Pages of fleet rollouts (DESIGN §16): the Rollouts list, and a detail page whose progress shows
at a glance (waves as a bar, guard readings, every tenant's outcome) with the controls. The page
side of the `two_doors` paths in rollouts/urls.py; every write calls the same services as the
API."""

from django.template.response import TemplateResponse

from onboarding.ui import done, form_data, page_view, render_page, wants_write
from rollouts import selectors, services
from rollouts.models import ACTIVE_STATUSES, OPEN_STATUSES, RolloutStatus

# Controls, each with a label that says what it does, offered only where it would succeed.
CONTROLS = {
    "pause": ("Pause before the next wave", ACTIVE_STATUSES),
    "resume": ("Resume: apply the next wave when due", (RolloutStatus.PAUSED,)),
    "advance": ("Apply the next wave now (skip the bake)", ACTIVE_STATUSES),
    "abort": ("Abort and restore moved tenants", (*ACTIVE_STATUSES, RolloutStatus.PAUSED)),
}
_SERVICES = {
    "pause": services.rollout_pause,
    "resume": services.rollout_resume,
    "advance": services.rollout_advance,
    "abort": services.rollout_abort,
}


@page_view
def rollout_list_page(request):
    rollouts = list(selectors.rollout_list(principal=request.principal)[:200])
    counts = selectors.rollouts_counts(rollouts)
    progress = selectors.waves_applied(rollouts)
    rows = []
    for rollout in rollouts:
        applied, waves = progress.get(rollout.pk, (0, 0))
        rows.append(
            {
                "rollout": rollout,
                "applied": applied,
                "waves": waves,
                "counts": counts.get(rollout.pk, {}),
                "open": rollout.status in OPEN_STATUSES,
            }
        )
    return render_page(request, "rollouts/list.html", {"rows": rows})


@page_view
def rollout_detail_page(request, id):
    rollout = selectors.rollout_get(principal=request.principal, rollout_id=id)
    return _detail(request, rollout)


def _detail(request, rollout) -> TemplateResponse:
    waves = selectors.rollout_waves(rollout)
    total = sum(len(members) for _, members in waves) or 1
    bar = [
        {
            "wave": wave,
            "members": members,
            "share": round(100 * len(members) / total, 2),
            "moved": sum(m.status == "MOVED" for m in members),
            "skipped": sum(m.status == "SKIPPED" for m in members),
        }
        for wave, members in waves
    ]
    can_write = _can_write(request.principal, rollout)
    controls = [
        {"action": action, "label": label}
        for action, (label, allowed) in CONTROLS.items()
        if can_write and rollout.status in allowed
    ]
    if not rollout.auto_rollback:
        for control in controls:
            if control["action"] == "abort":
                control["label"] = "Abort (moved tenants stay moved)"
    return render_page(
        request,
        "rollouts/detail.html",
        {
            "rollout": rollout,
            "bar": bar,
            "counts": selectors.rollout_counts(rollout),
            "readings": rollout.readings or {},
            "guards": rollout.guards or {},
            "canary": selectors.canary_arms(rollout) if rollout.canary else None,
            "controls": controls,
            "can_alarm": can_write and rollout.status in CONTROLS["abort"][1],
        },
    )


def _can_write(principal, rollout) -> bool:
    try:
        selectors.rollout_for_write(principal=principal, rollout_id=rollout.pk)
    except Exception:  # 403: a reader sees the page without its controls
        return False
    return True


def _control(request, id, action: str):
    if not wants_write(request):
        rollout = selectors.rollout_get(principal=request.principal, rollout_id=id)
        return _detail(request, rollout)
    data = form_data(request)
    kwargs = {}
    if action == "abort":
        kwargs["reason"] = (data.get("reason") or "").strip()[:2000]
    rollout = _SERVICES[action](principal=request.principal, rollout_id=id, **kwargs)
    return done(request, f"/admin/rollouts/{rollout.pk}", f"Rollout {action}: {rollout.status}.")


@page_view
def rollout_pause_page(request, id):
    return _control(request, id, "pause")


@page_view
def rollout_resume_page(request, id):
    return _control(request, id, "resume")


@page_view
def rollout_advance_page(request, id):
    return _control(request, id, "advance")


@page_view
def rollout_abort_page(request, id):
    return _control(request, id, "abort")


@page_view
def rollout_alarm_page(request, id):
    if not wants_write(request):
        rollout = selectors.rollout_get(principal=request.principal, rollout_id=id)
        return _detail(request, rollout)
    reason = (form_data(request).get("reason") or "").strip()[:2000] or "raised from the page"
    rollout = services.rollout_alarm(principal=request.principal, rollout_id=id, reason=reason)
    return done(request, f"/admin/rollouts/{rollout.pk}", f"Alarm raised: {rollout.status}.")
