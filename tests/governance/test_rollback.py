import pytest

from governance.services import config_rollback
from packs.models import PackStatus, TenantPack
from runtime_config.models import ActivationHistory, ConfigChangeRequest, TenantActiveConfig
from tests.runtime_config.activation_helpers import (
    ACTIVATE_URL,
    assert_problem,
    counts,
    domain_pack,
    history_url,
    review_url,
    rollback_url,
    tenant_pack,
)


@pytest.fixture
def three_revisions(admin, tenant_a, finance_domain, finance_tenant):
    """Revisions 1..3 activating tenant packs v1.4, v1.5, v1.6 on domain pack v3.2."""
    domain_pack(finance_domain)
    for index, version in enumerate(("v1.4", "v1.5", "v1.6")):
        tenant_pack(finance_tenant, version=version)
        body = {"tenant_id": "TENANT_A", "tenant_pack_version": version}
        if index == 0:
            body["domain_pack_version"] = "v3.2"
        response = admin.client.post(ACTIVATE_URL, body, format="json")
        assert response.status_code == 200, response.content
    return admin


def test_rollback__default__previous_revision_pair_as_new_revision(three_revisions):
    response = three_revisions.client.post(rollback_url(), {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["revision"] == 4
    assert body["active_tenant_pack_version"] == "v1.5"
    assert body["changed"] is True
    row = ActivationHistory.objects.get(revision=4)
    assert row.kind == "rollback"
    assert row.from_tenant_pack.version == "v1.6"
    assert row.to_tenant_pack.version == "v1.5"
    assert "revision 2" in row.comment


def test_rollback__named_revision__that_pair(three_revisions):
    response = three_revisions.client.post(
        rollback_url(), {"to_revision": 1, "comment": "back to basics"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["active_tenant_pack_version"] == "v1.4"
    assert ActivationHistory.objects.get(revision=4).comment == "back to basics"


def test_rollback__to_current_revision__unchanged(three_revisions):
    before = counts()
    response = three_revisions.client.post(rollback_url(), {"to_revision": 3}, format="json")
    assert response.status_code == 200
    assert response.json()["changed"] is False
    assert counts() == before


def test_rollback__unknown_revision__unknown_revision(three_revisions):
    before = counts()
    response = three_revisions.client.post(rollback_url(), {"to_revision": 42}, format="json")
    body = assert_problem(response, 400, "unknown_revision")
    assert body["errors"][0]["path"] == "/to_revision"
    assert counts() == before


def test_rollback__first_revision_only__no_previous_revision(admin, tenant_a, finance_domain):
    domain_pack(finance_domain)
    admin.client.post(
        ACTIVATE_URL,
        {"tenant_id": "TENANT_A", "domain": "CapitalMarketsTrading", "domain_pack_version": "v3.2"},
        format="json",
    )
    response = admin.client.post(rollback_url(), {}, format="json")
    assert_problem(response, 409, "no_previous_revision")


def test_rollback__never_activated__no_previous_revision(admin, tenant_a):
    response = admin.client.post(rollback_url(), {}, format="json")
    assert_problem(response, 409, "no_previous_revision")
    assert counts() == (0, 0, 0)


def test_rollback__target_pack_deprecated__pack_deprecated(three_revisions):
    TenantPack.objects.filter(version="v1.5").update(status=PackStatus.DEPRECATED)
    response = three_revisions.client.post(rollback_url(), {}, format="json")
    assert_problem(response, 409, "pack_deprecated")
    assert TenantActiveConfig.objects.get().revision == 3


def test_rollback__expected_revision_mismatch__revision_conflict(three_revisions):
    response = three_revisions.client.post(rollback_url(), {"expected_revision": 2}, format="json")
    assert_problem(response, 409, "revision_conflict")
    assert TenantActiveConfig.objects.get().revision == 3


def test_rollback__dry_run__preview_nothing_written(three_revisions):
    before = counts()
    response = three_revisions.client.post(rollback_url(), {"dry_run": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["changes"] == [{"field": "tenant_pack_version", "from": "v1.6", "to": "v1.5"}]
    assert counts() == before


def test_rollback__approval_required__pending_rollback_request(
    three_revisions, second_admin, settings
):
    settings.PACK_ACTIVATION_REQUIRES_APPROVAL = True
    response = three_revisions.client.post(rollback_url(), {}, format="json")
    assert response.status_code == 202
    change = response.json()["change_request"]
    assert (change["kind"], change["base_revision"]) == ("rollback", 3)
    assert change["tenant_pack_version"] == "v1.5"
    response = second_admin.client.post(review_url("approve", change["id"]), {}, format="json")
    assert response.status_code == 200
    row = ActivationHistory.objects.get(revision=4)
    assert row.kind == "rollback"
    assert str(row.change_request_id) == change["id"]
    assert ConfigChangeRequest.objects.get().status == "APPLIED"


def test_rollback__wrong_type__400(three_revisions):
    response = three_revisions.client.post(rollback_url(), {"to_revision": "1"}, format="json")
    assert response.status_code == 400
    response = three_revisions.client.post(rollback_url(), {"to_revison": 1}, format="json")
    assert_problem(response, 400, "unknown_field")


def test_rollback__service__same_result_as_api(three_revisions):
    outcome = config_rollback(principal=three_revisions.principal, tenant_id="TENANT_A")
    assert outcome.status == "applied"
    assert outcome.config.tenant_pack.version == "v1.5"


# --- history -------------------------------------------------------------------------------


def test_history__newest_first_with_versions_and_actor(three_revisions):
    three_revisions.client.post(rollback_url(), {}, format="json")
    response = three_revisions.client.get(history_url())
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert [row["revision"] for row in body["results"]] == [4, 3, 2, 1]
    newest = body["results"][0]
    assert newest["kind"] == "rollback"
    assert newest["from_tenant_pack_version"] == "v1.6"
    assert newest["to_tenant_pack_version"] == "v1.5"
    assert newest["to_domain_pack_version"] == "v3.2"
    assert newest["actor"] == three_revisions.username
    assert newest["change_request_id"] is None
    assert newest["activated_at"]
    oldest = body["results"][-1]
    assert oldest["from_domain_pack_version"] is None


def test_history__paginated(three_revisions):
    body = three_revisions.client.get(history_url() + "?page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


def test_history__unknown_tenant__404(admin, tenant_a):
    assert_problem(admin.client.get(history_url("NOPE")), 404, "tenant_not_found")
