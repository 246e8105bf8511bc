"""POST /admin/rollouts: every bad plan is a problem+json with its code and writes nothing; a dry
run answers the plan; a good plan is 201 (started) or 202 (four-eyes: one change request)."""

import pytest

from rollouts.models import Rollout, RolloutStatus, RolloutTenant
from runtime_config.models import ConfigChangeRequest
from tests.api.conftest import assert_problem, send
from tests.db_state import db_state
from tests.rollouts.conftest import DOMAIN, ROLLOUTS, plan


def _refused(client, body, status, code):
    before = db_state()
    response = send(client, "POST", ROLLOUTS, body)
    assert_problem(response, status, code)
    assert db_state() == before
    return response.json()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"domain": "NoSuchDomain"}, "unknown_domain"),
        ({"domain_pack_version": "v9.9"}, "unknown_pack_version"),
        ({"waves": []}, "empty_waves"),
        ({"waves": [{"tenants": []}, {"tenants": ["T01", "T02", "T03"]}]}, "empty_wave"),
        (
            {"waves": [{"tenants": ["T01", "T02"]}, {"tenants": ["T02", "T03"]}]},
            "overlapping_waves",
        ),
        ({"waves": [{"tenants": ["T01"]}]}, "tenants_not_in_wave"),
        ({"waves": [{"percent": 50}, {"percent": 40}]}, "percent_sum"),
        ({"waves": [{"percent": 0}, {"percent": 100}]}, "invalid_percent"),
        ({"waves": [{"percent": 150}]}, "invalid_percent"),
        ({"waves": [{"percent": 50}, {"tenants": ["T01"]}]}, "mixed_waves"),
        ({"waves": [{"percent": 99}, {"percent": 1}]}, "empty_wave"),
        ({"waves": [{"tenants": ["T01"], "percent": 5}]}, "invalid_wave"),
        ({"bake_seconds": -1}, "invalid_bake_seconds"),
        ({"bake_seconds": 10**9}, "invalid_bake_seconds"),
        ({"max_skipped": -1}, "invalid_max_skipped"),
        ({"guards": {"max_divergence_pct": 101}}, "invalid_guard"),
        ({"tenants": ["T01", "T01"]}, "duplicate_tenant"),
        ({"tenants": None, "all_on_domain": False}, "tenants_required"),
        ({"all_on_domain": True}, "conflicting_fields"),
        ({"bake_secs": 3}, "unknown_field"),
    ],
)
def test_rollout_create__bad_plan__400_and_nothing_written(fleet, admin, change, code):
    body = plan(["T01", "T02", "T03"])
    body.update(change)
    if body.get("tenants") is None:
        body.pop("tenants")
    _refused(admin.client, body, 400, code)


def test_rollout_create__tenant_on_another_domain__400_tenant_not_on_domain(fleet, admin, tenant_a):
    body = plan(["T01", "TENANT_A"])
    problem = _refused(admin.client, body, 400, "tenant_not_on_domain")
    assert problem["errors"][0]["path"] == "/tenants/1"


def test_rollout_create__unknown_tenant__404(fleet, admin):
    _refused(admin.client, plan(["T01", "NOPE"]), 404, "tenant_not_found")


def test_rollout_create__tenant_admin_of_another_tenant__404(fleet, outsider):
    _refused(outsider.client, plan(["T01", "T02"]), 404, "tenant_not_found")


def test_rollout_create__viewer__403(fleet, viewer):
    _refused(viewer.client, plan(["T01", "T02"]), 403, "admin_required")


def test_rollout_create__tenant_in_running_rollout__409_tenant_in_rollout(fleet, admin):
    first = send(admin.client, "POST", ROLLOUTS, plan(["T01", "T02"], bake_seconds=3600))
    assert first.status_code == 201, first.content
    problem = _refused(admin.client, plan(["T02", "T03"]), 409, "tenant_in_rollout")
    assert problem["rollouts"] == [first.json()["id"]]


def test_rollout_create__dry_run__plan_without_writing(fleet, admin):
    before = db_state()
    response = send(
        admin.client,
        "POST",
        ROLLOUTS,
        plan(fleet, waves=[{"percent": 34}, {"percent": 66}], dry_run=True),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert db_state() == before
    assert body["dry_run"] is True and body["outcome"] == "start"
    assert [len(wave["tenants"]) for wave in body["waves"]] == [3, 3]
    assert body["impact"]["tenants_evaluated"] == 6
    assert body["impact"]["samples"] > 0


def test_rollout_create__started__201_with_waves(fleet, admin):
    response = send(admin.client, "POST", ROLLOUTS, plan(fleet, bake_seconds=60))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "RUNNING"
    assert [len(wave["tenants"]) for wave in body["waves"]] == [1, 5]
    assert body["counts"] == {"PENDING": 6}
    rollout = Rollout.objects.get(pk=body["id"])
    assert RolloutTenant.objects.filter(rollout=rollout, holding=True).count() == 6
    listed = send(admin.client, "GET", ROLLOUTS).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    detail = send(admin.client, "GET", f"{ROLLOUTS}/{body['id']}").json()
    assert detail["waves"][1]["tenants"][0]["tenant_id"] == "T02"


def test_rollout_create__approval_applies__202_one_change_request_of_kind_rollout(
    fleet, admin, second_admin, settings
):
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = True
    response = send(admin.client, "POST", ROLLOUTS, plan(fleet))
    assert response.status_code == 202, response.content
    change_request = response.json()["change_request"]
    assert change_request["kind"] == "rollout"
    assert ConfigChangeRequest.objects.filter(kind="rollout").count() == 1
    rollout = Rollout.objects.get(change_request_id=change_request["id"])
    assert rollout.status == RolloutStatus.PENDING_APPROVAL
    review = send(second_admin.client, "GET", f"/admin/config-changes/{change_request['id']}")
    assert review.status_code == 200, review.content
    assert review.json()["impact"]["tenants_evaluated"] == 6
    own = send(admin.client, "POST", f"/admin/config-changes/{change_request['id']}/approve", {})
    assert_problem(own, 403, "self_approval")
    approved = send(
        second_admin.client, "POST", f"/admin/config-changes/{change_request['id']}/approve", {}
    )
    assert approved.status_code == 200, approved.content
    rollout.refresh_from_db()
    assert rollout.status == RolloutStatus.RUNNING
    assert rollout.acting_as == second_admin.username


def test_rollout_create__rejected_change_request__rollout_cancelled_tenants_free(
    fleet, admin, second_admin, settings
):
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = True
    response = send(admin.client, "POST", ROLLOUTS, plan(fleet))
    change_request_id = response.json()["change_request"]["id"]
    rejected = send(
        second_admin.client, "POST", f"/admin/config-changes/{change_request_id}/reject", {}
    )
    assert rejected.status_code == 200, rejected.content
    rollout = Rollout.objects.get(change_request_id=change_request_id)
    assert rollout.status == RolloutStatus.CANCELLED
    assert not RolloutTenant.objects.filter(holding=True).exists()


def test_rollout_detail__other_tenant_admin__404(fleet, admin, outsider):
    created = send(admin.client, "POST", ROLLOUTS, plan(["T01", "T02"])).json()
    response = send(outsider.client, "GET", f"{ROLLOUTS}/{created['id']}")
    assert_problem(response, 404, "rollout_not_found")
    assert send(outsider.client, "GET", ROLLOUTS).json()["count"] == 0


def test_rollout_create__all_on_domain__every_tenant_of_the_domain(fleet, admin):
    body = plan(None, waves=[{"percent": 50}, {"percent": 50}], all_on_domain=True)
    body.pop("tenants")
    response = send(admin.client, "POST", ROLLOUTS, body)
    assert response.status_code == 201, response.content
    assert response.json()["domain"] == DOMAIN
    assert sum(len(wave["tenants"]) for wave in response.json()["waves"]) == 6
