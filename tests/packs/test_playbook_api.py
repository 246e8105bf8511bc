"""GET /admin/playbooks, POST /admin/playbooks/links, DELETE /admin/playbooks/links/{id}."""

import copy

import pytest
from django.urls import reverse
from django.utils import timezone

from packs.models import PlaybookLink
from packs.services import domain_pack_create, tenant_pack_create
from runtime_config.models import TenantActiveConfig
from tenants.principals import Principal
from tests.api.conftest import assert_problem
from tests.db_state import db_state

DOMAIN = "CapitalMarketsTrading"
SETUP = Principal.system("setup")
LIST = reverse("playbook-list")
CREATE = reverse("playbook-link-create")


def delete_url(link_id: int) -> str:
    return reverse("playbook-link-delete", kwargs={"link_id": link_id})


def setup_tenant(tenant_id: str, domain_content: dict, tenant_content: dict | None):
    domain_pack = domain_pack_create(
        principal=SETUP, domain=DOMAIN, version="v3.2", content=domain_content
    )
    tenant_pack = None
    if tenant_content is not None:
        tenant_pack = tenant_pack_create(
            principal=SETUP, tenant_id=tenant_id, version="v1.4", content=tenant_content
        )
    TenantActiveConfig.objects.create(
        tenant_id=tenant_id,
        domain=DOMAIN,
        domain_pack=domain_pack,
        tenant_pack=tenant_pack,
        activated_at=timezone.now(),
        activated_by="setup",
        revision=1,
    )
    return domain_pack, tenant_pack


@pytest.fixture
def finance(tenant_a, finance_domain, finance_tenant):
    return setup_tenant("TENANT_A", finance_domain, finance_tenant)


def link(actor, playbook_id="SETTLEMENT_FAIL", **extra):
    body = {"tenant_id": "TENANT_A", "playbook_id": playbook_id, **extra}
    return actor.client.post(CREATE, body, format="json")


# --- list ------------------------------------------------------------------------------------


def test_list__tenant_member__rows_for_active_pair_with_link_state(
    finance, owner, member, django_assert_max_num_queries
):
    created = link(owner).json()

    with django_assert_max_num_queries(12):
        response = member.client.get(LIST, {"tenant_id": "TENANT_A"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    rows = {row["playbook_id"]: row for row in body["results"]}
    assert set(rows["SETTLEMENT_FAIL"]) >= {
        "playbook_id",
        "domain",
        "exception_type",
        "source",
        "pack_version",
        "tools",
        "linked",
        "link_id",
        "compatible",
        "reasons",
    }
    assert rows["SETTLEMENT_FAIL"]["linked"] is True
    assert rows["SETTLEMENT_FAIL"]["link_id"] == created["id"]
    assert rows["FAILED_ALLOCATION"]["linked"] is False
    assert rows["FAILED_ALLOCATION"]["link_id"] is None
    assert {"repairAllocation", "openCase"} <= set(rows["FAILED_ALLOCATION"]["tools"])
    assert all(row["compatible"] and row["reasons"] == [] for row in rows.values())
    assert {row["source"] for row in rows.values()} == {"domain"}
    assert {row["pack_version"] for row in rows.values()} == {"v3.2"}


def test_list__tenant_bound_principal_without_tenant_id__defaults_to_its_tenant(finance, member):
    response = member.client.get(LIST)

    assert response.status_code == 200
    assert response.json()["count"] == 5


def test_list__incompatible_tenant_pack__reasons_listed(
    tenant_a, owner, finance_domain, finance_tenant
):
    narrow = copy.deepcopy(finance_tenant)
    narrow["approvedTools"] = ["getSettlement"]
    setup_tenant("TENANT_A", finance_domain, narrow)

    rows = {
        row["playbook_id"]: row
        for row in owner.client.get(LIST, {"tenant_id": "TENANT_A"}).json()["results"]
    }

    assert rows["SETTLEMENT_FAIL"]["compatible"] is False
    assert {r["code"] for r in rows["SETTLEMENT_FAIL"]["reasons"]} == {"tool_not_approved"}
    assert len(rows["SETTLEMENT_FAIL"]["reasons"]) == 2  # triggerSettlementRetry, openCase


def test_list__platform_without_tenant__domain_catalogue_unlinked(finance, owner, viewer):
    link(owner)

    response = viewer.client.get(LIST, {"domain": DOMAIN, "page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"]
    assert all(row["linked"] is False for row in body["results"])


def test_list__platform_without_tenant_or_domain__400_naming_both_parameters(viewer):
    """Issue 25 item 10: it said "the tenant has no active domain" when no tenant was named."""
    before = db_state()
    problem = assert_problem(viewer.client.get(LIST), 400, "tenant_id_or_domain_required")
    assert [e["path"] for e in problem["errors"]] == ["/tenant_id", "/domain"]
    assert "active domain" not in problem["detail"]
    assert "tenant_id" in problem["detail"] and "domain" in problem["detail"]
    assert db_state() == before


def test_list__tenant_bound_without_parameters__its_tenant_is_named_and_domain_required(member):
    """A tenant-bound principal's tenant is its context: what is missing then is the domain
    (TENANT_A has no active domain and no tenant pack), and the problem says so."""
    problem = assert_problem(member.client.get(LIST), 400, "domain_required")
    assert [e["path"] for e in problem["errors"]] == ["/domain"]


def test_list__anonymous__401(finance, anon):
    assert_problem(anon.get(LIST, {"tenant_id": "TENANT_A"}), 401, "not_authenticated")


def test_list__other_tenant__404(finance, outsider):
    assert_problem(outsider.client.get(LIST, {"tenant_id": "TENANT_A"}), 404, "tenant_not_found")


def test_list__unknown_tenant__404(admin):
    assert_problem(admin.client.get(LIST, {"tenant_id": "NOPE"}), 404, "tenant_not_found")


def test_list__no_role__403(nobody):
    assert_problem(nobody.client.get(LIST, {"domain": DOMAIN}), 403, "no_role")


# --- create ----------------------------------------------------------------------------------


def test_create__tenant_admin__201_link(finance, owner):
    response = link(owner)

    assert response.status_code == 201
    body = response.json()
    assert body["tenant_id"] == "TENANT_A"
    assert body["domain"] == DOMAIN
    assert body["playbook_id"] == "SETTLEMENT_FAIL"
    assert body["domain_pack_version"] is None
    assert body["created_by"] == owner.username
    assert body["created_at"]
    assert PlaybookLink.objects.get(pk=body["id"]).playbook_id == "SETTLEMENT_FAIL"


def test_create__pinned_version__201_with_version(finance, admin):
    response = link(admin, domain=DOMAIN, domain_pack_version="v3.2")

    assert response.status_code == 201
    assert response.json()["domain_pack_version"] == "v3.2"


def test_create__duplicate__409_link_exists(finance, owner):
    link(owner)

    assert_problem(link(owner), 409, "link_exists")
    assert PlaybookLink.objects.count() == 1


def test_create__incompatible__409_with_every_reason(
    tenant_a, owner, finance_domain, finance_tenant
):
    narrow = copy.deepcopy(finance_tenant)
    narrow["approvedTools"] = ["getAllocations"]
    narrow["customGuardrails"]["blockLists"] = ["getAllocations"]
    setup_tenant("TENANT_A", finance_domain, narrow)

    body = assert_problem(link(owner, "FAILED_ALLOCATION"), 409, "incompatible_playbook")

    codes = sorted(error["code"] for error in body["errors"])
    assert codes == ["tool_blocked", "tool_not_approved", "tool_not_approved"]
    messages = " ".join(error["message"] for error in body["errors"])
    assert "repairAllocation" in messages
    assert "openCase" in messages
    assert not PlaybookLink.objects.exists()


def test_create__unknown_playbook__404(finance, owner):
    body = assert_problem(link(owner, "NO_SUCH_PLAYBOOK"), 404, "playbook_not_found")

    assert body["errors"][0]["path"] == "/playbook_id"
    assert not PlaybookLink.objects.exists()


def test_create__unknown_pinned_version__404(finance, owner):
    assert_problem(link(owner, domain_pack_version="v9.9"), 404, "domain_pack_not_found")
    assert not PlaybookLink.objects.exists()


def test_create__unknown_tenant__404(admin):
    body = {"tenant_id": "NOPE", "playbook_id": "SETTLEMENT_FAIL"}

    assert_problem(admin.client.post(CREATE, body, format="json"), 404, "tenant_not_found")
    assert not PlaybookLink.objects.exists()


def test_create__unknown_field__400_unknown_field(finance, owner):
    body = assert_problem(link(owner, domain_pack_verison="v3.2"), 400, "unknown_field")

    assert body["errors"][0]["path"] == "/domain_pack_verison"
    assert not PlaybookLink.objects.exists()


def test_create__missing_playbook_id__400(finance, owner):
    response = owner.client.post(CREATE, {"tenant_id": "TENANT_A"}, format="json")

    body = assert_problem(response, 400, "missing_required")
    assert body["errors"][0]["path"] == "/playbook_id"


def test_create__tenant_without_active_domain__400_domain_required(tenant_a, owner):
    assert_problem(link(owner), 400, "domain_required")


def test_create__anonymous__401(finance, anon):
    body = {"tenant_id": "TENANT_A", "playbook_id": "SETTLEMENT_FAIL"}

    assert_problem(anon.post(CREATE, body, format="json"), 401, "not_authenticated")
    assert not PlaybookLink.objects.exists()


@pytest.mark.parametrize("actor_name", ["member", "viewer"])
def test_create__viewer_role__403(finance, actor_name, request):
    actor = request.getfixturevalue(actor_name)

    assert_problem(link(actor), 403, "admin_required")
    assert not PlaybookLink.objects.exists()


def test_create__outsider__404(finance, outsider):
    assert_problem(link(outsider), 404, "tenant_not_found")
    assert not PlaybookLink.objects.exists()


# --- delete ----------------------------------------------------------------------------------


def test_delete__tenant_admin__204_then_404(finance, owner):
    link_id = link(owner).json()["id"]

    response = owner.client.delete(delete_url(link_id))

    assert response.status_code == 204
    assert not PlaybookLink.objects.exists()
    assert_problem(owner.client.delete(delete_url(link_id)), 404, "playbook_link_not_found")


def test_delete__outsider__404_link_kept(finance, owner, outsider):
    link_id = link(owner).json()["id"]

    assert_problem(outsider.client.delete(delete_url(link_id)), 404, "playbook_link_not_found")
    assert PlaybookLink.objects.filter(pk=link_id).exists()


def test_delete__member__403_link_kept(finance, owner, member):
    link_id = link(owner).json()["id"]

    assert_problem(member.client.delete(delete_url(link_id)), 403, "admin_required")
    assert PlaybookLink.objects.filter(pk=link_id).exists()


def test_delete__anonymous__401_link_kept(finance, owner, anon):
    link_id = link(owner).json()["id"]

    assert_problem(anon.delete(delete_url(link_id)), 401, "not_authenticated")
    assert PlaybookLink.objects.filter(pk=link_id).exists()


def test_delete__platform_admin__204(finance, owner, admin):
    link_id = link(owner).json()["id"]

    assert admin.client.delete(delete_url(link_id)).status_code == 204


def test_schema__documents_the_three_operations(admin):
    schema = admin.client.get("/api/schema/", {"format": "json"}).json()

    assert "get" in schema["paths"]["/admin/playbooks"]
    assert "post" in schema["paths"]["/admin/playbooks/links"]
    assert "delete" in schema["paths"]["/admin/playbooks/links/{link_id}"]


def test_link_and_unlink__audited_with_tenant_domain_version_and_playbook(finance, owner):
    from audit.models import AuditEvent

    link_id = link(owner).json()["id"]
    owner.client.delete(delete_url(link_id))
    link(owner, "NO_SUCH_PLAYBOOK")

    rows = list(AuditEvent.objects.filter(action__startswith="playbook.").order_by("id"))
    assert [row.action for row in rows] == ["playbook.linked", "playbook.unlinked"]
    for row in rows:
        assert row.actor == owner.username
        assert row.tenant_id == "TENANT_A"
        assert row.object_type == "playbook_link"
        assert row.object_id == "SETTLEMENT_FAIL"
        assert row.domain == DOMAIN
        assert row.version == "v3.2"
        assert row.details["link_id"] == link_id


def test_create__number_as_playbook_id__400_wrong_type(finance, owner):
    body = assert_problem(link(owner, 5), 400, "wrong_type")

    assert body["errors"][0]["path"] == "/playbook_id"
    assert not PlaybookLink.objects.exists()


def test_create__no_role__403(finance, nobody):
    assert_problem(link(nobody), 403, "no_role")


def test_list__platform_with_tenant_header__tenant_rows_with_links(finance, owner, viewer):
    link(owner)

    response = viewer.client.get(LIST, HTTP_X_TENANT_ID="TENANT_A")

    assert response.status_code == 200
    linked = [row["playbook_id"] for row in response.json()["results"] if row["linked"]]
    assert linked == ["SETTLEMENT_FAIL"]


def test_list__member_naming_other_tenant_in_header__403(finance, member, tenant_b):
    response = member.client.get(LIST, HTTP_X_TENANT_ID="TENANT_B")

    assert_problem(response, 403, "tenant_context_mismatch")
