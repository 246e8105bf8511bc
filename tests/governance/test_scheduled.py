"""Scheduled activation (DESIGN §14): `apply_at` makes a SCHEDULED change request (PENDING first
when approval applies) that the worker applies when it comes due, re-running every check; a
failing check ends it STALE with the reason; it can be cancelled until applied."""

from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from governance.services import (
    change_request_apply_scheduled,
    config_activate,
    parse_apply_at,
    scheduled_recover,
    tenant_set_approval_policy,
)
from onboarding.worker import drain
from packs.models import PackStatus
from runtime_config.models import ChangeRequestStatus, ConfigChangeRequest, TenantActiveConfig
from tenants.models import RoleBinding
from tests.api.conftest import assert_problem, send
from tests.runtime_config.activation_helpers import SETUP, domain_pack, tenant_pack
from tests.waiting import wait_until

ACTIVATE = "/admin/packs/activate"


@pytest.fixture
def packs(tenant_a, finance_domain, finance_tenant):
    """TENANT_A active on domain v3.2 + tenant pack v1.4; tenant pack v1.5 is DRAFT."""
    domain = domain_pack(finance_domain)
    first = tenant_pack(finance_tenant, "v1.4")
    second = tenant_pack(finance_tenant, "v1.5")
    config_activate(
        principal=SETUP,
        tenant_id="TENANT_A",
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    )
    return domain, first, second


def _in(seconds: float) -> str:
    return (timezone.now() + timedelta(seconds=seconds)).isoformat()


def _schedule(actor, seconds: float = 60, **body):
    return send(
        actor.client,
        "POST",
        ACTIVATE,
        {"tenant_id": "TENANT_A", "tenant_pack_version": "v1.5", "apply_at": _in(seconds), **body},
    )


def _active_version() -> str:
    return (
        TenantActiveConfig.objects.select_related("tenant_pack")
        .get(pk="TENANT_A")
        .tenant_pack.version
    )


def _due(change_request_id, when=None) -> None:
    """Move apply_at (and its task's run_after) into the past, as time would."""
    from django_tasks_db.models import DBTaskResult

    when = when or timezone.now() - timedelta(seconds=1)
    ConfigChangeRequest.objects.filter(pk=change_request_id).update(apply_at=when)
    DBTaskResult.objects.filter(queue_name="activations", status="READY").update(run_after=when)


# --- apply_at ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("tomorrow", "invalid_apply_at"),
        ("2030-01-01", "invalid_apply_at"),  # a date, not a date-time
        ("2030-01-01T10:00:00", "invalid_apply_at"),  # no offset: which 10:00?
        ("2030-13-01T10:00:00Z", "invalid_apply_at"),
        ("9999-12-31T23:59:59-23:59", "apply_at_too_far"),
        ("", "invalid_apply_at"),
        ("2020-01-01T00:00:00Z", "apply_at_in_past"),
        ("2999-01-01T00:00:00Z", "apply_at_too_far"),
        ("2026-01-01T00:00:00Z" + " " * 100, "invalid_apply_at"),
        # Issue 25 item 4: RFC 3339 and nothing looser.
        ("\u0662\u0660\u0662\u0666-12-07T10:00:00Z", "invalid_apply_at"),  # Arabic-Indic digits
        ("\uff12\uff10\uff12\uff16-12-07T10:00:00Z", "invalid_apply_at"),  # full-width digits
        ("20261206T110709Z", "invalid_apply_at"),  # ISO 8601 basic format
        ("2026-12-07T10:00Z", "invalid_apply_at"),  # no seconds
        ("2026-12-07 10:00:00Z", "invalid_apply_at"),  # no T
        ("2026-12-07T10:00:00+2400", "invalid_apply_at"),  # offset without a colon
        ("2026-12-07T10:00:00+24:00", "invalid_apply_at"),  # past ±23:59
        ("2026-12-07T10:00:00-99:99", "invalid_apply_at"),
        ("2026-12-07T10:00:00+05", "invalid_apply_at"),
        ("2026-02-30T10:00:00Z", "invalid_apply_at"),
        ("2026-12-07T24:00:00Z", "invalid_apply_at"),
        ("0001-01-01T00:00:00+23:59", "apply_at_in_past"),  # before year 1 in UTC
    ],
)
def test_activate__bad_apply_at__400_with_code_and_nothing_written(admin, packs, value, code):
    before = (ConfigChangeRequest.objects.count(), AuditEvent.objects.count())
    response = send(
        admin.client,
        "POST",
        ACTIVATE,
        {"tenant_id": "TENANT_A", "tenant_pack_version": "v1.5", "apply_at": value},
    )
    problem = assert_problem(response, 400, code)
    assert problem["errors"][0]["path"] == "/apply_at"
    assert (ConfigChangeRequest.objects.count(), AuditEvent.objects.count()) == before


def test_activate__apply_at_not_a_string__400(admin, packs):
    response = send(admin.client, "POST", ACTIVATE, {"tenant_id": "TENANT_A", "apply_at": 5})
    assert_problem(response, 400, "wrong_type")


@pytest.mark.parametrize("offset", ["+23:59", "-23:59", "+16:00", "-15:59", "+15:59"])
def test_activate__apply_at_with_any_rfc3339_offset__202_stored_as_the_same_instant(
    admin, packs, offset
):
    """PostgreSQL refuses an offset past ±15:59 in a literal ("time zone displacement out of
    range", which was a 500): the instant is stored in UTC, whatever offset named it."""
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = timedelta(hours=hours, minutes=minutes) * (-1 if offset[0] == "-" else 1)
    moment = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    text = moment.astimezone(dt_timezone(zone)).isoformat()
    assert text.endswith(offset)
    response = send(
        admin.client,
        "POST",
        ACTIVATE,
        {"tenant_id": "TENANT_A", "tenant_pack_version": "v1.5", "apply_at": text},
    )
    assert response.status_code == 202, response.content
    change_id = response.json()["change_request"]["id"]
    assert ConfigChangeRequest.objects.get(pk=change_id).apply_at == moment


def test_parse_apply_at__offsets__normalised_instant():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    moment = parse_apply_at("2026-06-02T01:00:00+02:00", now=now)
    assert moment == datetime(2026, 6, 1, 23, 0, tzinfo=UTC)
    assert parse_apply_at("2026-08-30t00:00:00z", now=now)  # RFC 3339 allows lower case
    with pytest.raises(Exception, match="90 days"):
        parse_apply_at("2026-08-31T00:00:01Z", now=now)


# --- scheduling -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker's task loop commits
def test_activate__apply_at_without_approval__202_scheduled_nothing_applied_yet(admin, packs):
    response = _schedule(admin)
    assert response.status_code == 202, response.content
    change = response.json()["change_request"]
    assert change["status"] == "SCHEDULED" and change["apply_at"]
    assert _active_version() == "v1.4"
    actions = list(AuditEvent.objects.order_by("-id").values_list("action", flat=True)[:1])
    assert actions == ["change_request.scheduled"]
    drain()  # not due: the task waits for apply_at
    assert ConfigChangeRequest.objects.get(pk=change["id"]).status == "SCHEDULED"


def test_activate__dry_run_with_apply_at__preview_says_scheduled(admin, packs):
    response = _schedule(admin, dry_run=True)
    assert response.status_code == 200
    assert response.json()["outcome"] == "scheduled" and response.json()["apply_at"]
    assert ConfigChangeRequest.objects.count() == 0


def test_activate__blocked_now__refused_now_not_scheduled(admin, packs):
    _, _, second = packs
    second.status = PackStatus.DEPRECATED
    second.save(update_fields=["status"])
    assert_problem(_schedule(admin), 409, "pack_deprecated")
    assert ConfigChangeRequest.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_scheduled__comes_due__applied_within_2s_of_apply_at_with_events(admin, packs):
    change_id = _schedule(admin, seconds=1.5).json()["change_request"]["id"]
    apply_at = ConfigChangeRequest.objects.get(pk=change_id).apply_at

    def applied() -> bool:
        drain(queues=("activations",))
        return _active_version() == "v1.5"

    wait_until(applied, timeout=10, interval=0.05)
    applied_at = TenantActiveConfig.objects.get(pk="TENANT_A").activated_at
    assert _active_version() == "v1.5"
    assert apply_at <= applied_at <= apply_at + timedelta(seconds=2)
    change = ConfigChangeRequest.objects.get(pk=change_id)
    assert change.status == ChangeRequestStatus.APPLIED
    history = TenantActiveConfig.objects.get(pk="TENANT_A")
    assert history.activated_by == admin.username
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    # v1.5 goes live for the first time: its DRAFT → ACTIVE promotion is a row of its own.
    assert actions[-4:] == [
        "change_request.scheduled",
        "pack.status_changed",
        "config.activated",
        "change_request.applied",
    ]


@pytest.mark.django_db(transaction=True)
def test_scheduled__pack_deprecated_meanwhile__stale_with_the_reason(admin, packs):
    _, _, second = packs
    change_id = _schedule(admin, seconds=60).json()["change_request"]["id"]
    second.status = PackStatus.DEPRECATED  # allowed: nothing runs it yet
    second.save(update_fields=["status"])
    _due(change_id)
    drain(queues=("activations",))
    change = ConfigChangeRequest.objects.get(pk=change_id)
    assert change.status == ChangeRequestStatus.STALE
    assert change.status_reason.startswith("pack_deprecated:")
    assert "v1.5" in change.status_reason
    assert _active_version() == "v1.4"
    stale = AuditEvent.objects.filter(action="change_request.stale").latest("id")
    assert stale.details["change_request"]["status_reason"] == change.status_reason


def test_scheduled__revision_moved_meanwhile__stale_revision_conflict(admin, packs, finance_tenant):
    change_id = _schedule(admin).json()["change_request"]["id"]
    tenant_pack(finance_tenant, "v1.6")
    config_activate(principal=SETUP, tenant_id="TENANT_A", tenant_pack_version="v1.6")
    _due(change_id)
    assert change_request_apply_scheduled(change_request_id=change_id) == "stale"
    change = ConfigChangeRequest.objects.get(pk=change_id)
    assert change.status_reason.startswith("revision_conflict:")
    assert _active_version() == "v1.6"


def test_scheduled__requester_lost_admin_meanwhile__stale(owner, packs):
    change_id = _schedule(owner).json()["change_request"]["id"]
    RoleBinding.objects.filter(user=owner.user).update(role="VIEWER")
    _due(change_id)
    assert change_request_apply_scheduled(change_request_id=change_id) == "stale"
    assert ConfigChangeRequest.objects.get(pk=change_id).status_reason.startswith("admin_required")
    assert _active_version() == "v1.4"


def test_scheduled__tenant_suspended_meanwhile__stale(admin, packs):
    from tenants.services import tenant_set_status

    change_id = _schedule(admin).json()["change_request"]["id"]
    tenant_set_status(principal=SETUP, tenant_id="TENANT_A", status="SUSPENDED")
    _due(change_id)
    assert change_request_apply_scheduled(change_request_id=change_id) == "stale"
    assert ConfigChangeRequest.objects.get(pk=change_id).status_reason.startswith(
        "tenant_suspended"
    )


def test_scheduled__not_due__left_alone(admin, packs):
    change_id = _schedule(admin).json()["change_request"]["id"]
    assert change_request_apply_scheduled(change_request_id=change_id) == "not_due"
    assert ConfigChangeRequest.objects.get(pk=change_id).status == "SCHEDULED"


@pytest.mark.django_db(transaction=True)  # the worker's task loop commits
def test_scheduled__cancelled_before_due__never_applied(admin, packs):
    change_id = _schedule(admin).json()["change_request"]["id"]
    response = send(admin.client, "POST", f"/admin/config-changes/{change_id}/cancel", {})
    assert (
        response.status_code == 200 and response.json()["change_request"]["status"] == "CANCELLED"
    )
    _due(change_id)
    drain(queues=("activations",))
    assert change_request_apply_scheduled(change_request_id=change_id) == "skipped"
    assert _active_version() == "v1.4"
    again = send(admin.client, "POST", f"/admin/config-changes/{change_id}/cancel", {})
    assert_problem(again, 409, "not_pending")


def test_scheduled__applied__cannot_be_cancelled(admin, packs):
    change_id = _schedule(admin).json()["change_request"]["id"]
    _due(change_id)
    assert change_request_apply_scheduled(change_request_id=change_id) == "applied"
    assert_problem(
        send(admin.client, "POST", f"/admin/config-changes/{change_id}/cancel", {}),
        409,
        "not_pending",
    )


def test_scheduled__task_lost__recovery_applies_it_once(admin, packs):
    from django_tasks_db.models import DBTaskResult

    change_id = _schedule(admin).json()["change_request"]["id"]
    DBTaskResult.objects.all().delete()  # a worker died with it, or someone pruned it
    _due(change_id, timezone.now() - timedelta(minutes=5))
    assert scheduled_recover() == 1
    assert scheduled_recover() == 0
    assert ConfigChangeRequest.objects.get(pk=change_id).status == "APPLIED"
    assert _active_version() == "v1.5"


# --- with approval ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker's task loop commits
def test_scheduled_with_approval__pending_then_scheduled_on_approval_then_applied(
    admin, second_admin, packs
):
    tenant_set_approval_policy(
        principal=SETUP, tenant_id="TENANT_A", require_activation_approval=True
    )
    response = _schedule(admin)
    assert response.status_code == 202
    change = response.json()["change_request"]
    assert change["status"] == "PENDING" and change["apply_at"]
    approved = send(
        second_admin.client, "POST", f"/admin/config-changes/{change['id']}/approve", {}
    )
    assert approved.status_code == 202, approved.content
    assert approved.json()["change_request"]["status"] == "SCHEDULED"
    assert _active_version() == "v1.4"  # approved, not applied
    _due(change["id"])
    drain(queues=("activations",))
    assert ConfigChangeRequest.objects.get(pk=change["id"]).status == "APPLIED"
    # Applied as the approver: the person whose decision made it happen.
    assert TenantActiveConfig.objects.get(pk="TENANT_A").activated_by == second_admin.username


def test_scheduled_with_approval__approved_after_apply_at__409_apply_at_passed_and_stale(
    admin, second_admin, packs
):
    """Issue 25 item 4: a PENDING request whose window passed is not applied at approval (that
    would be a change at a time nobody chose); it ends STALE with the reason."""
    tenant_set_approval_policy(
        principal=SETUP, tenant_id="TENANT_A", require_activation_approval=True
    )
    change_id = _schedule(admin).json()["change_request"]["id"]
    _due(change_id)
    approved = send(second_admin.client, "POST", f"/admin/config-changes/{change_id}/approve", {})
    problem = assert_problem(approved, 409, "apply_at_passed")
    assert problem["errors"][0]["path"] == "/apply_at"
    change = ConfigChangeRequest.objects.get(pk=change_id)
    assert (change.status, change.status_reason) == ("STALE", "apply_at_passed")
    assert _active_version() == "v1.4"
    stale = AuditEvent.objects.filter(action="change_request.stale", object_id=str(change_id))
    assert stale.count() == 1
    assert not AuditEvent.objects.filter(action="config.activated", version="v1.5").exists()
    again = send(second_admin.client, "POST", f"/admin/config-changes/{change_id}/approve", {})
    assert again.status_code == 409 and _active_version() == "v1.4"  # no longer pending


def test_scheduled__webhook_events_for_scheduling_applying_and_failing(admin, packs):
    from webhooks.models import WebhookEvent
    from webhooks.services import webhook_create

    webhook_create(
        principal=SETUP,
        url="https://hooks.example.com/a",
        events=["change_request.scheduled", "change_request.applied", "change_request.stale"],
    )
    applied = _schedule(admin).json()["change_request"]["id"]
    _due(applied)
    change_request_apply_scheduled(change_request_id=applied)
    failed = send(
        admin.client,
        "POST",
        ACTIVATE,
        {"tenant_id": "TENANT_A", "tenant_pack_version": "v1.4", "apply_at": _in(60)},
    ).json()["change_request"]["id"]
    config_activate(principal=SETUP, tenant_id="TENANT_A", tenant_pack_version="v1.4")
    _due(failed)
    change_request_apply_scheduled(change_request_id=failed)
    types = list(WebhookEvent.objects.order_by("occurred_at").values_list("type", flat=True))
    assert types == [
        "change_request.scheduled",
        "change_request.applied",
        "change_request.scheduled",
        "change_request.stale",
    ]


def test_cancel__scheduled_by_someone_else__refused_tenant_admin_may_reject(
    admin, owner, member, packs
):
    change_id = _schedule(admin).json()["change_request"]["id"]
    before = ConfigChangeRequest.objects.get(pk=change_id).status
    assert_problem(
        send(member.client, "POST", f"/admin/config-changes/{change_id}/cancel", {}),
        403,
        "admin_required",
    )
    assert_problem(
        send(owner.client, "POST", f"/admin/config-changes/{change_id}/cancel", {}),
        403,
        "not_requester",
    )
    assert ConfigChangeRequest.objects.get(pk=change_id).status == before
    response = send(owner.client, "POST", f"/admin/config-changes/{change_id}/reject", {})
    assert response.status_code == 200
    assert ConfigChangeRequest.objects.get(pk=change_id).status == "REJECTED"


# --- pages ----------------------------------------------------------------------------------


def test_pages__schedule_from_the_tenant_page__listed_and_cancellable(admin, packs):
    from tests.ui.conftest import HTML, HTMX, browser

    client = browser(admin)
    when = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    preview = client.post(
        ACTIVATE,
        {
            "tenant_id": "TENANT_A",
            "tenant_pack_version": "v1.5",
            "dry_run": "true",
            "apply_at": when,
        },
        **HTMX,
    )
    html = preview.content.decode()
    assert preview.status_code == 200 and "SCHEDULED" in html and 'name="apply_at"' in html
    response = client.post(
        ACTIVATE,
        {"tenant_id": "TENANT_A", "tenant_pack_version": "v1.5", "apply_at": when},
        **HTML,
    )
    assert response.status_code == 303
    change = ConfigChangeRequest.objects.get()
    assert change.status == "SCHEDULED" and change.apply_at.strftime("%Y-%m-%dT%H:%M") == when
    tenant_page = client.get("/admin/tenants/TENANT_A", **HTML).content.decode()
    assert "SCHEDULED" in tenant_page and f"/admin/config-changes/{change.pk}/cancel" in tenant_page
    approvals = client.get("/admin/config-changes?status=SCHEDULED", **HTML).content.decode()
    assert f"/admin/config-changes/{change.pk}/cancel" in approvals
    assert f"/admin/config-changes/{change.pk}/approve" not in approvals
    cancelled = client.post(f"/admin/config-changes/{change.pk}/cancel", {}, **HTML)
    assert cancelled.status_code == 303
    assert ConfigChangeRequest.objects.get().status == "CANCELLED"


def test_pages__viewer__no_cancel_button_for_a_scheduled_change(admin, viewer, packs):
    from tests.ui.conftest import HTML, browser

    change_id = _schedule(admin).json()["change_request"]["id"]
    html = browser(viewer).get("/admin/config-changes", **HTML).content.decode()
    assert "SCHEDULED" in html and f"/admin/config-changes/{change_id}/cancel" not in html


def test_scheduled__other_admin__page_offers_reject_not_cancel_and_reject_ends_it(
    admin, second_admin, packs
):
    from django.test import Client

    change_id = _schedule(admin).json()["change_request"]["id"]
    browser = Client()
    browser.force_login(second_admin.user)

    page = browser.get("/admin/config-changes", HTTP_ACCEPT="text/html").content.decode()

    assert f"/admin/config-changes/{change_id}/reject" in page
    assert f"/admin/config-changes/{change_id}/cancel" not in page
    response = send(second_admin.client, "POST", f"/admin/config-changes/{change_id}/reject", {})
    assert response.status_code == 200
    assert response.json()["change_request"]["status"] == "REJECTED"
    _due(change_id)
    assert change_request_apply_scheduled(change_request_id=change_id) == "skipped"
    assert _active_version() == "v1.4"


def test_scheduled__requester__page_offers_cancel_not_reject(admin, packs):
    from django.test import Client

    change_id = _schedule(admin).json()["change_request"]["id"]
    browser = Client()
    browser.force_login(admin.user)

    page = browser.get("/admin/config-changes", HTTP_ACCEPT="text/html").content.decode()

    assert f"/admin/config-changes/{change_id}/cancel" in page
    assert f"/admin/config-changes/{change_id}/reject" not in page
