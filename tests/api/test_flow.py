"""The onboarding flow through HTTP on a real database (issue 4, Tests)."""

import copy

from django.urls import reverse

from tests.api.conftest import FINANCE, send

TENANT = "TENANT_FINANCE_001"


def test_flow__create_import_list_get_diff__answers_as_specified(
    admin, finance_domain, finance_tenant
):
    client = admin.client
    created = send(
        client, "POST", reverse("tenant-list"), {"tenant_id": TENANT, "name": "Finance 001"}
    )
    assert created.status_code == 201, created.content
    assert created.json()["created_by"] == admin.username

    domain = send(
        client,
        "POST",
        reverse("domain-pack-import"),
        {"content": finance_domain, "version": "v3.2"},
    )
    assert domain.status_code == 201, domain.content
    body = domain.json()
    assert body["version"] == "v3.2" and body["domain"] == FINANCE
    assert body["status"] == "DRAFT" and body["pack_type"] == "domain"
    assert body["validation"]["valid"] is True
    assert body["checksum"] == body["validation"]["checksum"]
    assert "content_json" not in body

    tenant_pack = send(
        client,
        "POST",
        reverse("tenant-pack-import"),
        {"tenant_id": TENANT, "content": finance_tenant, "version": "v1.4"},
    )
    assert tenant_pack.status_code == 201, tenant_pack.content
    report = tenant_pack.json()["validation"]
    assert report["checked_against"] == {"domain": FINANCE, "version": "v3.2"}
    assert tenant_pack.json()["tenant_id"] == TENANT

    listing = client.get(reverse("domain-pack-list"))
    assert listing.status_code == 200
    rows = listing.json()["results"]
    assert [row["version"] for row in rows] == ["v3.2"]
    assert all("content_json" not in row for row in rows)

    detail = client.get(reverse("domain-pack-detail", args=[FINANCE, "v3.2"]))
    assert detail.status_code == 200
    assert detail.json()["content_json"] == finance_domain
    assert detail.json()["active_for"] == []

    tenant_list = client.get(reverse("tenant-pack-list", args=[TENANT]))
    assert [row["version"] for row in tenant_list.json()["results"]] == ["v1.4"]
    tenant_detail = client.get(reverse("tenant-pack-detail", args=[TENANT, "v1.4"]))
    assert tenant_detail.json()["content_json"] == finance_tenant

    tenant = client.get(reverse("tenant-detail", args=[TENANT]))
    assert tenant.status_code == 200 and tenant.json()["active_config"] is None

    same = client.get(reverse("tenant-pack-diff", args=[TENANT]) + "?from=v1.4&to=v1.4")
    assert same.status_code == 200
    assert same.json()["added"] == same.json()["removed"] == same.json()["changed"] == []


def test_flow__diff_between_versions__lists_changed_pointers(admin, finance_domain):
    changed = copy.deepcopy(finance_domain)
    changed["severityRules"][0]["severity"] = "LOW"
    del changed["testSuites"]
    for version, content in (("v3.2", finance_domain), ("v3.3", changed)):
        response = send(
            admin.client,
            "POST",
            reverse("domain-pack-import"),
            {"content": content, "version": version},
        )
        assert response.status_code == 201, response.content
    diff = admin.client.get(reverse("domain-pack-diff", args=[FINANCE]) + "?from=v3.2&to=v3.3")
    assert diff.status_code == 200
    body = diff.json()
    assert body["from"]["version"] == "v3.2" and body["to"]["version"] == "v3.3"
    assert body["changed"] == [
        {
            "path": "/severityRules/0/severity",
            "old": finance_domain["severityRules"][0]["severity"],
            "new": "LOW",
        }
    ]
    assert body["removed"] == [{"path": "/testSuites", "old": finance_domain["testSuites"]}]
    assert body["added"] == []
