"""HTTP conventions of the activation endpoints: shapes, problem+json, OpenAPI."""

import pytest

from tests.runtime_config.activation_helpers import (
    ACTIVATE_URL,
    assert_problem,
    counts,
    domain_pack,
    history_url,
    tenant_pack,
)

OPERATIONS = {
    ("/admin/packs/activate", "post"): "config_activate",
    ("/admin/tenants/{tenant_id}/activations", "get"): "config_activations_list",
    ("/admin/tenants/{tenant_id}/rollback", "post"): "config_rollback",
    ("/admin/config-changes", "get"): "config_changes_list",
    ("/admin/config-changes/{id}/approve", "post"): "config_changes_approve",
    ("/admin/config-changes/{id}/reject", "post"): "config_changes_reject",
    ("/admin/config-changes/{id}/cancel", "post"): "config_changes_cancel",
}


@pytest.fixture
def packs(tenant_a, finance_domain, finance_tenant):
    return domain_pack(finance_domain), tenant_pack(finance_tenant)


def test_activate__response__exact_contract_keys(admin, packs):
    body = {"tenant_id": "TENANT_A", "domain_pack_version": "v3.2", "tenant_pack_version": "v1.4"}
    response = admin.client.post(ACTIVATE_URL, body, format="json")
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {
        "tenant_id",
        "domain",
        "active_domain_pack_version",
        "active_tenant_pack_version",
        "activated_at",
        "activated_by",
        "revision",
        "changed",
    }


def test_activate__malformed_json__400_problem(admin, packs):
    response = admin.client.post(ACTIVATE_URL, b'{"tenant_id": ', content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert counts() == (0, 0, 0)


def test_activate__duplicate_keys__400_problem(admin, packs):
    raw = b'{"tenant_id": "TENANT_A", "tenant_id": "TENANT_B", "domain_pack_version": "v3.2"}'
    response = admin.client.post(ACTIVATE_URL, raw, content_type="application/json")
    assert_problem(response, 400, "duplicate_key")
    assert counts() == (0, 0, 0)


def test_activate__get__405_problem(admin):
    response = admin.client.get(ACTIVATE_URL)
    assert_problem(response, 405, "method_not_allowed")


def test_activate__form_encoded__415_problem(admin, packs):
    response = admin.client.post(ACTIVATE_URL, {"tenant_id": "TENANT_A"}, format="multipart")
    assert response.status_code == 415
    assert counts() == (0, 0, 0)


def test_history__format_json_query__json(admin, packs):
    response = admin.client.get(history_url() + "?format=json")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_config_change__non_uuid_id__404_problem(admin):
    response = admin.client.post("/admin/config-changes/not-a-uuid/approve", {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_schema__every_activation_operation_documented(admin):
    response = admin.client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    for (path, method), operation_id in OPERATIONS.items():
        operation = schema["paths"][path][method]
        assert operation["operationId"] == operation_id
        statuses = set(operation["responses"])
        assert {"401", "403"} <= statuses, (path, statuses)
        if method == "post":
            assert "requestBody" in operation
            assert "409" in statuses
    activate = schema["paths"]["/admin/packs/activate"]["post"]
    assert {"200", "202", "400", "404", "409"} <= set(activate["responses"])
    assert "application/problem+json" in activate["responses"]["409"]["content"]
