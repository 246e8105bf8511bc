"""HTTP behaviour of the pack endpoints beyond the RBAC matrix and the bad-input tables."""

import copy
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from packs.models import DomainPack
from runtime_config.models import TenantActiveConfig
from tests.api.conftest import (
    FINANCE,
    assert_problem,
    send,
    store_domain_pack,
    store_tenant_pack,
)
from tests.conftest import load_reference
from tests.db_state import db_state


def _versions(content: dict, versions: list[str]) -> None:
    for version in versions:
        store_domain_pack({**content, "v": version}, version)


def _activate(tenant_id: str, domain_pack, tenant_pack=None) -> None:
    TenantActiveConfig.objects.create(
        tenant_id=tenant_id,
        domain=domain_pack.domain,
        domain_pack=domain_pack,
        tenant_pack=tenant_pack,
        activated_at=timezone.now(),
        activated_by="setup",
        revision=1,
    )


def test_domain_pack_list__newest_first_by_parsed_version__no_content(admin, finance_domain):
    _versions(finance_domain, ["v1.9", "v1.10", "v1.2", "v2.0rc1", "v2.0"])
    response = admin.client.get(reverse("domain-pack-list"))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["version"] for row in rows] == ["v2.0", "v2.0rc1", "v1.10", "v1.9", "v1.2"]
    assert all("content_json" not in row for row in rows)
    assert set(rows[0]) >= {"id", "checksum", "size_bytes", "status", "active_for"}


def test_domain_pack_list__filters_and_pages(admin, finance_domain):
    _versions(finance_domain, ["v1.0", "v1.1", "v1.2"])
    store_domain_pack({**finance_domain, "domainName": "Other"}, "v1.0")
    client = admin.client
    only = client.get(reverse("domain-pack-list") + "?domain=Other").json()
    assert [row["domain"] for row in only["results"]] == ["Other"]
    page = client.get(reverse("domain-pack-list") + f"?domain={FINANCE}&page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    second = client.get(page["next"]).json()
    assert [row["version"] for row in second["results"]] == ["v1.0"]
    assert client.get(reverse("domain-pack-list") + "?search=oth").json()["count"] == 1
    assert client.get(reverse("domain-pack-list") + "?status=DRAFT").json()["count"] == 4
    assert_problem(client.get(reverse("domain-pack-list") + "?status=NOPE"), 400, "invalid_filter")
    assert_problem(client.get(reverse("domain-pack-list") + "?page=99"), 404, "not_found")


def test_domain_pack_list__query_count__independent_of_page_and_table_size(
    admin, tenant_a, tenant_b, finance_domain
):
    def queries(page_size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin.client.get(reverse("domain-pack-list") + f"?page_size={page_size}")
        assert response.status_code == 200
        return len(captured)

    _versions(finance_domain, ["v1.0", "v1.1"])
    _activate("TENANT_A", DomainPack.objects.get(version="v1.0"))
    queries(1)  # the token's first use records last_used_at (once a minute): not a page cost
    small = queries(1)
    _versions(finance_domain, [f"v2.{n}" for n in range(30)])
    _activate("TENANT_B", DomainPack.objects.get(version="v2.3"))
    assert queries(1) == small
    assert queries(200) == small


def test_tenant_pack_list__query_count__independent_of_page_size(admin, tenant_a, finance_tenant):
    for n in range(12):
        store_tenant_pack("TENANT_A", {**finance_tenant, "n": n}, f"v1.{n}")
    # The token's first use records last_used_at (once a minute): not a page cost.
    admin.client.get(reverse("tenant-pack-list", args=["TENANT_A"]))
    counts = []
    for size in (1, 12):
        with CaptureQueriesContext(connection) as captured:
            response = admin.client.get(
                reverse("tenant-pack-list", args=["TENANT_A"]) + f"?page_size={size}"
            )
        assert len(response.json()["results"]) == size
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_pack_rows__active_for__lists_only_visible_tenants(
    admin, owner, tenant_a, tenant_b, finance_domain
):
    pack = store_domain_pack(finance_domain)
    _activate("TENANT_A", pack)
    _activate("TENANT_B", pack)
    url = reverse("domain-pack-detail", args=[FINANCE, "v1.0"])
    assert admin.client.get(url).json()["active_for"] == ["TENANT_A", "TENANT_B"]
    assert owner.client.get(url).json()["active_for"] == ["TENANT_A"]


def test_domain_pack_status__active_pack_deprecated__409_pack_in_use(
    admin, tenant_a, finance_domain
):
    pack = store_domain_pack(finance_domain)
    _activate("TENANT_A", pack)
    url = reverse("domain-pack-status", args=[FINANCE, "v1.0"])
    before = db_state()
    problem = assert_problem(
        send(admin.client, "PATCH", url, {"status": "DEPRECATED"}), 409, "pack_in_use"
    )
    assert problem["code"] == "pack_in_use" and problem["tenants"] == ["TENANT_A"]
    assert db_state() == before


def test_domain_pack_status__draft_to_active__200(admin, finance_domain):
    store_domain_pack(finance_domain)
    url = reverse("domain-pack-status", args=[FINANCE, "1.0.0"])  # equal by parse
    response = send(admin.client, "PATCH", url, {"status": "ACTIVE"})
    assert response.status_code == 200 and response.json()["status"] == "ACTIVE"
    assert "content_json" not in response.json()


def test_tenant_pack_list__tenant_bound_other_tenant__404(owner, tenant_b):
    assert_problem(
        owner.client.get(reverse("tenant-pack-list", args=["TENANT_B"])), 404, "tenant_not_found"
    )


def test_diff__missing_versions__400_missing_required(admin, finance_domain):
    store_domain_pack(finance_domain)
    url = reverse("domain-pack-diff", args=[FINANCE])
    problem = assert_problem(admin.client.get(url + "?from=v1.0"), 400, "missing_required")
    assert [item["path"] for item in problem["errors"]] == ["/to"]


def test_diff__unknown_version__404(admin, tenant_a, finance_domain, finance_tenant):
    store_domain_pack(finance_domain)
    store_tenant_pack("TENANT_A", finance_tenant)
    url = reverse("domain-pack-diff", args=[FINANCE]) + "?from=v1.0&to=v9.9"
    assert_problem(admin.client.get(url), 404, "domain_pack_not_found")
    url = reverse("tenant-pack-diff", args=["TENANT_A"]) + "?from=v0.9&to=v1.0"
    assert_problem(admin.client.get(url), 404, "tenant_pack_not_found")


def test_diff__unparseable_version__400_invalid_version(admin, tenant_a):
    # DESIGN §7: a version over 50 characters or unparseable is invalid_version wherever given.
    url = reverse("tenant-pack-diff", args=["TENANT_A"]) + "?from=../x&to=v1.0"
    problem = assert_problem(admin.client.get(url), 400, "invalid_version")
    assert [item["path"] for item in problem["errors"]] == ["/from"]


@pytest.mark.parametrize("pack_type", ["domain", "tenant"])
def test_pack_schema__served__draft_2020_12(viewer, pack_type):
    response = viewer.client.get(reverse("pack-schema", args=[pack_type]))
    assert response.status_code == 200
    assert "2020-12" in response.json()["$schema"]


def test_pack_schema__unknown_type__404(viewer):
    assert_problem(
        viewer.client.get(reverse("pack-schema", args=["other"])), 404, "schema_not_found"
    )


def test_domain_import__http__201_then_200_then_409(admin, finance_domain):
    url = reverse("domain-pack-import")
    body = {"content": finance_domain, "version": "v3.2"}
    first = send(admin.client, "POST", url, body)
    assert first.status_code == 201
    again = send(admin.client, "POST", url, body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    changed = copy.deepcopy(finance_domain)
    changed["severityRules"][0]["severity"] = "LOW"
    assert_problem(
        send(admin.client, "POST", url, {"content": changed, "version": "v3.2"}),
        409,
        "version_exists",
    )


def test_domain_import__http_invalid__400_pack_invalid_with_report(admin):
    before = db_state()
    response = send(
        admin.client,
        "POST",
        reverse("domain-pack-import"),
        {"content": load_reference("domain_healthcare_legacy.json")},
    )
    problem = assert_problem(response, 400, "pack_invalid")
    assert problem["errors"] == problem["validation"]["errors"]
    assert any(item["path"] == "/playbooks/0/exceptionType" for item in problem["errors"])
    assert db_state() == before


def test_tenant_import__http_mismatch__400_tenant_mismatch(admin, tenant_a, finance_tenant):
    before = db_state()
    response = send(
        admin.client,
        "POST",
        reverse("tenant-pack-import"),
        {"tenant_id": "TENANT_A", "content": finance_tenant},
    )
    problem = assert_problem(response, 400, "tenant_mismatch")
    assert problem["errors"][0]["path"] == "/content/tenantId"
    assert db_state() == before


def test_domain_import__content_over_pack_limit__413(admin, finance_domain, settings):
    settings.PACK_MAX_BYTES = 4096
    before = db_state()
    response = send(
        admin.client, "POST", reverse("domain-pack-import"), {"content": finance_domain}
    )
    assert_problem(response, 413, "too_large")
    assert db_state() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_domain_import__10_concurrent_http__one_201_rest_200_or_409_never_500(admin):
    content = load_reference("domain_capital_markets.json")
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def run(index: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {admin.token}")
        item = copy.deepcopy(content)
        if index % 3 == 0:
            item["severityRules"][0]["severity"] = "LOW"
        try:
            barrier.wait()
            response = send(
                client, "POST", reverse("domain-pack-import"), {"content": item, "version": "v7"}
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {200, 201, 409}, statuses
    assert DomainPack.objects.filter(version="v7").count() == 1


def test_import__audit_rows__imported_once_and_rejection_kept(admin, finance_domain):
    from audit.models import AuditEvent

    url = reverse("domain-pack-import")
    for _ in range(2):
        send(admin.client, "POST", url, {"content": finance_domain, "version": "v3.2"})
    rejected = send(
        admin.client,
        "POST",
        url,
        {"content": load_reference("domain_healthcare_legacy.json"), "version": "v1.0"},
    )
    assert rejected.status_code == 400
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "version"))
    # The content says 1.0.0, equal by parse to the body's v1.0: the document's spelling is kept.
    assert actions == [("pack.imported", "v3.2"), ("pack.import_rejected", "1.0.0")]
    rejection = AuditEvent.objects.get(action="pack.import_rejected")
    assert rejection.details["errors"] == rejected.json()["errors"]
    assert rejection.actor == admin.username
