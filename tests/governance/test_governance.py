"""Four-eyes nobody can route around (DESIGN §14, issue 15): weakening the policy is itself a
change request; platform suspensions; requester, cancel and reject rules; one PENDING request per
tenant; a pack named by a waiting request cannot be deprecated; refused reviews are audited."""

import pytest

from audit.models import AuditEvent
from packs.models import PackStatus, TenantPack
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from tenants.models import PlatformSettings, Tenant
from tests.api.conftest import send
from tests.runtime_config.activation_helpers import (
    ACTIVATE_URL,
    assert_problem,
    domain_pack,
    review_url,
    tenant_pack,
)
from tests.ui.conftest import HTML, browser

TENANT_URL = "/admin/tenants/TENANT_A"
STATUS_URL = "/admin/tenants/TENANT_A/status"


@pytest.fixture
def packs(tenant_a, finance_domain, finance_tenant):
    return domain_pack(finance_domain), tenant_pack(finance_tenant)


def _global(value: bool) -> None:
    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": value})


@pytest.fixture
def approval_on(db):
    _global(True)


def activate(actor, **body):
    body = {
        "tenant_id": "TENANT_A",
        "domain_pack_version": "v3.2",
        "tenant_pack_version": "v1.4",
    } | body
    return send(actor.client, "POST", ACTIVATE_URL, body)


def pending(actor, **body) -> str:
    response = activate(actor, **body)
    assert response.status_code == 202, response.content
    return response.json()["change_request"]["id"]


def policy() -> bool | None:
    return Tenant.objects.get(pk="TENANT_A").require_activation_approval


def actions(**filters) -> list[str]:
    return list(
        AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True)
    )


# --- weakening the tenant's policy is a change request ----------------------------------------


def test_patch_policy__weakening_while_global_on__202_request_policy_unchanged(
    admin, owner, packs, approval_on
):
    response = send(admin.client, "PATCH", TENANT_URL, {"require_activation_approval": False})
    assert response.status_code == 202, response.content
    change = response.json()["change_request"]
    assert (change["kind"], change["status"], change["tenant_id"]) == (
        "policy",
        "PENDING",
        "TENANT_A",
    )
    assert change["policy"] == {
        "scope": "tenant",
        "require_activation_approval": False,
        "from": None,
    }
    assert policy() is None
    # Four-eyes still holds until the second ADMIN approves: nobody activates alone.
    assert activate(admin).status_code == 202
    assert TenantActiveConfig.objects.count() == 0


def test_policy_request__tenant_admin_not_requester__approves_and_policy_applies(
    admin, owner, packs, approval_on
):
    change_id = send(
        admin.client, "PATCH", TENANT_URL, {"require_activation_approval": False}
    ).json()["change_request"]["id"]
    assert_problem(
        send(admin.client, "POST", review_url("approve", change_id), {}), 403, "self_approval"
    )
    assert policy() is None
    response = send(owner.client, "POST", review_url("approve", change_id), {})
    assert response.status_code == 200, response.content
    assert response.json()["change_request"]["status"] == "APPLIED"
    assert policy() is False
    event = AuditEvent.objects.get(action="tenant.policy_changed")
    assert (event.actor, event.details["change_request_id"]) == (owner.username, change_id)
    assert "change_request.approved" in actions(object_id=change_id)
    assert activate(admin).status_code == 200


def test_policy_request__outsider__404_and_no_audit_row(admin, outsider, packs, approval_on):
    change_id = send(
        admin.client, "PATCH", TENANT_URL, {"require_activation_approval": False}
    ).json()["change_request"]["id"]
    before = AuditEvent.objects.count()
    for verb in ("approve", "reject", "cancel"):
        assert_problem(
            send(outsider.client, "POST", review_url(verb, change_id), {}),
            404,
            "change_request_not_found",
        )
    assert AuditEvent.objects.count() == before
    assert ConfigChangeRequest.objects.get(pk=change_id).status == "PENDING"


def test_policy_request__policy_strengthened_meanwhile__approval_ends_it_stale(
    admin, owner, packs, approval_on
):
    change_id = send(
        admin.client, "PATCH", TENANT_URL, {"require_activation_approval": False}
    ).json()["change_request"]["id"]
    assert (
        send(admin.client, "PATCH", TENANT_URL, {"require_activation_approval": True}).status_code
        == 200
    )
    assert_problem(
        send(owner.client, "POST", review_url("approve", change_id), {}),
        409,
        "stale_change_request",
    )
    change = ConfigChangeRequest.objects.get(pk=change_id)
    assert (change.status, change.status_reason) == ("STALE", "policy_moved")
    assert policy() is True
    assert actions(action="change_request.review_refused") == []


def test_patch_policy__required_to_follow_global_while_global_off__202(admin, packs):
    _global(False)
    Tenant.objects.filter(pk="TENANT_A").update(require_activation_approval=True)
    response = send(admin.client, "PATCH", TENANT_URL, {"require_activation_approval": None})
    assert response.status_code == 202
    assert policy() is True


@pytest.mark.parametrize(
    ("global_on", "before", "after"),
    [
        (False, None, True),  # strengthening
        (True, None, True),  # no change in effect
        (True, True, None),  # still required through the global setting
        (False, None, False),  # approval did not apply
    ],
)
def test_patch_policy__not_a_weakening__200_at_once(admin, packs, global_on, before, after):
    _global(global_on)
    Tenant.objects.filter(pk="TENANT_A").update(require_activation_approval=before)
    response = send(admin.client, "PATCH", TENANT_URL, {"require_activation_approval": after})
    assert response.status_code == 200, response.content
    assert response.json()["require_activation_approval"] is after
    assert policy() is after
    assert ConfigChangeRequest.objects.count() == 0


def test_patch__rename_and_weakening__name_now_policy_waits(admin, packs, approval_on):
    body = {"name": "Renamed", "require_activation_approval": False}
    response = send(admin.client, "PATCH", TENANT_URL, body)
    assert response.status_code == 202
    tenant = Tenant.objects.get(pk="TENANT_A")
    assert (tenant.name, tenant.require_activation_approval) == ("Renamed", None)


def test_page_policy__weakening__request_and_tenant_page_says_awaiting_approval(
    admin, packs, approval_on
):
    client = browser(admin)
    response = client.post(TENANT_URL, {"require_activation_approval": "false"}, **HTML)
    assert response.status_code == 303
    assert policy() is None
    assert ConfigChangeRequest.objects.get().kind == "policy"
    html = client.get(TENANT_URL, **HTML).content.decode()
    assert "awaiting approval" in html


# --- suspension scopes ------------------------------------------------------------------------


def test_status__platform_suspension__tenant_admin_cannot_lift_either_door(admin, owner, tenant_a):
    assert send(admin.client, "PATCH", STATUS_URL, {"status": "SUSPENDED"}).status_code == 200
    before = AuditEvent.objects.count()
    assert_problem(
        send(owner.client, "PATCH", STATUS_URL, {"status": "ACTIVE"}),
        403,
        "platform_admin_required",
    )
    page = browser(owner).post(STATUS_URL, {"status": "ACTIVE"}, **HTML)
    assert page.status_code == 403
    assert Tenant.objects.get(pk="TENANT_A").status == "SUSPENDED"
    assert AuditEvent.objects.count() == before
    assert send(admin.client, "PATCH", STATUS_URL, {"status": "ACTIVE"}).status_code == 200


def test_status__tenant_admin_suspension__tenant_admin_lifts_it(owner, tenant_a):
    assert send(owner.client, "PATCH", STATUS_URL, {"status": "SUSPENDED"}).status_code == 200
    assert not Tenant.objects.get(pk="TENANT_A").suspended_by_platform
    assert send(owner.client, "PATCH", STATUS_URL, {"status": "ACTIVE"}).status_code == 200


# --- requester, cancel, reject ----------------------------------------------------------------


def test_reject__own_request__403_self_rejection_pending_and_refusal_audited(
    owner, packs, approval_on
):
    change_id = pending(owner)
    assert_problem(
        send(owner.client, "POST", review_url("reject", change_id), {}), 403, "self_rejection"
    )
    change = ConfigChangeRequest.objects.get(pk=change_id)
    assert (change.status, change.reviewed_by) == ("PENDING", "")
    refused = AuditEvent.objects.get(action="change_request.review_refused")
    assert (refused.tenant_id, refused.details["attempted"], refused.details["code"]) == (
        "TENANT_A",
        "reject",
        "self_rejection",
    )


def test_cancel__other_admin__403_refusal_audited_platform_admin_rejects_instead(
    admin, owner, packs, approval_on
):
    change_id = pending(owner)
    assert_problem(
        send(admin.client, "POST", review_url("cancel", change_id), {}), 403, "not_requester"
    )
    assert actions(action="change_request.review_refused") == ["change_request.review_refused"]
    response = send(admin.client, "POST", review_url("reject", change_id), {})
    assert response.status_code == 200
    assert response.json()["change_request"]["status"] == "REJECTED"


def test_review_refused__rows_stay_in_the_requests_tenant(
    admin, owner, outsider, member, packs, approval_on
):
    change_id = pending(owner)
    send(member.client, "POST", review_url("approve", change_id), {})  # viewer: 403
    send(owner.client, "POST", review_url("approve", change_id), {})  # self: 403
    send(outsider.client, "POST", review_url("approve", change_id), {})  # other tenant: 404
    rows = AuditEvent.objects.filter(action="change_request.review_refused")
    assert sorted(rows.values_list("actor", "tenant_id")) == [
        (member.username, "TENANT_A"),
        (owner.username, "TENANT_A"),
    ]
    listed = outsider.client.get("/admin/audit?action=change_request.review_refused").json()
    assert listed["count"] == 0


# --- one PENDING per tenant -------------------------------------------------------------------


def test_second_request__older_stale_superseded_with_event(
    admin, owner, packs, approval_on, finance_tenant
):
    first = pending(admin)
    tenant_pack(finance_tenant, version="v1.5")
    second = pending(owner, tenant_pack_version="v1.5")
    old = ConfigChangeRequest.objects.get(pk=first)
    assert (old.status, old.status_reason) == ("STALE", "superseded")
    assert ConfigChangeRequest.objects.get(pk=second).status == "PENDING"
    assert actions(object_id=first) == ["config.activation_requested", "change_request.stale"]
    assert_problem(send(owner.client, "POST", review_url("approve", first), {}), 409, "not_pending")


def test_policy_request__does_not_supersede_an_activation_request(admin, owner, packs, approval_on):
    activation = pending(owner)
    send(admin.client, "PATCH", TENANT_URL, {"require_activation_approval": False})
    assert ConfigChangeRequest.objects.get(pk=activation).status == "PENDING"
    assert ConfigChangeRequest.objects.filter(status="PENDING").count() == 2


# --- pack_pending_approval --------------------------------------------------------------------


@pytest.mark.parametrize("door", ["api", "page"])
@pytest.mark.parametrize("which", ["tenant", "domain"])
def test_deprecate__pack_named_by_pending_request__409_nothing_written(
    admin, owner, packs, approval_on, door, which
):
    change_id = pending(owner)
    url = (
        "/admin/packs/tenant/TENANT_A/v1.4/status"
        if which == "tenant"
        else "/admin/packs/domain/CapitalMarketsTrading/v3.2/status"
    )
    before = AuditEvent.objects.count()
    if door == "api":
        body = assert_problem(
            send(admin.client, "PATCH", url, {"status": "DEPRECATED"}), 409, "pack_pending_approval"
        )
        assert body["change_requests"] == [change_id]
    else:
        assert browser(admin).post(url, {"status": "DEPRECATED"}, **HTML).status_code == 409
    pack = packs[1] if which == "tenant" else packs[0]
    pack.refresh_from_db()
    assert pack.status == PackStatus.DRAFT
    assert AuditEvent.objects.count() == before
    assert ConfigChangeRequest.objects.get(pk=change_id).status == "PENDING"


def test_deprecate__scheduled_request__409_then_after_cancel_allowed(admin, packs):
    from datetime import timedelta

    from django.utils import timezone

    apply_at = (timezone.now() + timedelta(hours=1)).isoformat()
    change_id = activate(admin, apply_at=apply_at).json()["change_request"]["id"]
    url = "/admin/packs/tenant/TENANT_A/v1.4/status"
    assert_problem(
        send(admin.client, "PATCH", url, {"status": "DEPRECATED"}), 409, "pack_pending_approval"
    )
    send(admin.client, "POST", review_url("cancel", change_id), {})
    assert send(admin.client, "PATCH", url, {"status": "DEPRECATED"}).status_code == 200


def test_approve__pack_deprecated_behind_the_api__stale_with_reason_never_stuck(
    admin, second_admin, packs, approval_on
):
    change_id = pending(admin)
    TenantPack.objects.filter(pk=packs[1].pk).update(status=PackStatus.DEPRECATED)
    assert_problem(
        send(second_admin.client, "POST", review_url("approve", change_id), {}),
        409,
        "pack_deprecated",
    )
    change = ConfigChangeRequest.objects.get(pk=change_id)
    assert change.status == "STALE" and change.status_reason.startswith("pack_deprecated")
    assert actions(object_id=change_id)[-1] == "change_request.stale"
    # Re-activating the pack does not bring the request back.
    TenantPack.objects.filter(pk=packs[1].pk).update(status=PackStatus.DRAFT)
    assert_problem(
        send(second_admin.client, "POST", review_url("approve", change_id), {}), 409, "not_pending"
    )
    assert TenantActiveConfig.objects.count() == 0


# --- the worker decides by the policy in force when it applies --------------------------------


def test_scheduled_without_approval__approval_on_before_due__stale_approval_required(admin, packs):
    from datetime import timedelta

    from django.utils import timezone

    from governance.services import change_request_apply_scheduled

    apply_at = (timezone.now() + timedelta(hours=1)).isoformat()
    change_id = activate(admin, apply_at=apply_at).json()["change_request"]["id"]
    _global(True)
    ConfigChangeRequest.objects.filter(pk=change_id).update(
        apply_at=timezone.now() - timedelta(seconds=1)
    )
    assert change_request_apply_scheduled(change_request_id=change_id) == "stale"
    change = ConfigChangeRequest.objects.get(pk=change_id)
    assert change.status == "STALE" and change.status_reason.startswith("approval_required")
    assert TenantActiveConfig.objects.count() == 0
