"""min_revision on the config endpoint and the evaluator (DESIGN §14 Read-your-writes): a cache
older than the revision a client just wrote is never the answer; the freshness check is one
indexed query; a revision the tenant has not reached is 409, a malformed one 400."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runtime_config.models import TenantActiveConfig
from runtime_config.runtime import invalidate
from tests.runtime_config.runtime_support import (
    FINANCE,
    activate_direct,
    assert_problem,
    make_finance_tenant,
    store_domain,
    store_tenant,
)

URL = f"/runtime/tenants/{FINANCE}/config"
EVALUATE = "/ops/exceptions/evaluate"


@pytest.fixture(autouse=True)
def long_lived_cache(settings):
    settings.RUNTIME_CONFIG_TTL = 30
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 30
    invalidate()
    yield
    invalidate()


@pytest.fixture
def stale_cache(db, finance_domain, finance_tenant, viewer):
    """Revision 1 cached in this process, revision 2 committed behind its back (the test's
    transaction never commits, so no bump reaches the cache)."""
    make_finance_tenant()
    old = store_domain(finance_domain, "v3.2")
    finance_domain["severityRules"][2]["severity"] = "CRITICAL"
    new = store_domain(finance_domain, "v3.3")
    tenant_pack = store_tenant(finance_tenant)
    activate_direct(FINANCE, old, tenant_pack)
    assert viewer.client.get(URL).json()["revision"] == 1
    activate_direct(FINANCE, new, tenant_pack)
    assert viewer.client.get(URL).json()["revision"] == 1  # stale on purpose
    return viewer


def test_config__min_revision_newer_than_cache__fresh_revision(stale_cache):
    response = stale_cache.client.get(URL, {"min_revision": 2})
    assert response.status_code == 200
    assert response.json()["revision"] == 2
    # ...and the fresh entry now serves everyone.
    assert stale_cache.client.get(URL).json()["revision"] == 2


def test_config__min_revision_met_by_cache__no_query(stale_cache):
    with CaptureQueriesContext(connection) as queries:
        response = stale_cache.client.get(URL, {"min_revision": 1})
    assert response.json()["revision"] == 1
    assert queries.captured_queries == []


def test_config__min_revision_ahead_of_database__409_one_query(stale_cache):
    with CaptureQueriesContext(connection) as queries:
        response = stale_cache.client.get(URL, {"min_revision": 3})
    assert_problem(response, 409, "revision_not_available")
    assert response.json()["current_revision"] == 2
    assert len(queries.captured_queries) == 1
    assert "tenant_active_config" in queries.captured_queries[0]["sql"]


@pytest.mark.parametrize("raw", ["-1", "x", "", "1e3", "0x10", "2147483648", "9" * 5000, "\uff11"])
def test_config__bad_min_revision__400_invalid_min_revision(stale_cache, raw):
    response = stale_cache.client.get(URL, {"min_revision": raw})
    assert_problem(response, 400, "invalid_min_revision")


def test_evaluate__min_revision__decided_by_fresh_revision(stale_cache):
    body = {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL", "payload": {}}
    assert stale_cache.client.post(EVALUATE, body, format="json").json()["severity"] == "HIGH"
    response = stale_cache.client.post(EVALUATE, {**body, "min_revision": 2}, format="json")
    assert response.status_code == 200
    assert response.json()["severity"] == "CRITICAL"
    assert response.json()["explanation"]["packs"]["revision"] == 2


@pytest.mark.parametrize("value", [-1, "2", 1.5, True, 2**31])
def test_evaluate__bad_min_revision__400_nothing_evaluated(stale_cache, value):
    body = {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL", "payload": {}}
    response = stale_cache.client.post(EVALUATE, {**body, "min_revision": value}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/min_revision"


def test_evaluate__min_revision_ahead__409(stale_cache):
    body = {"tenant_id": FINANCE, "exception_type": "SETTLEMENT_FAIL", "min_revision": 9}
    response = stale_cache.client.post(EVALUATE, body, format="json")
    assert_problem(response, 409, "revision_not_available")


def test_activation_rollback_approve__responses__carry_revision(
    admin, second_admin, tenant_a, finance_domain, finance_tenant
):
    from tests.runtime_config.activation_helpers import domain_pack, tenant_pack

    domain_pack(finance_domain, "v3.2")
    domain_pack(finance_domain, "v3.3")
    tenant_pack(finance_tenant)
    first = admin.client.post(
        "/admin/packs/activate",
        {"tenant_id": "TENANT_A", "domain_pack_version": "v3.2", "tenant_pack_version": "v1.4"},
        format="json",
    )
    assert first.status_code == 200 and first.json()["revision"] == 1
    second = admin.client.post(
        "/admin/packs/activate",
        {"tenant_id": "TENANT_A", "domain_pack_version": "v3.3"},
        format="json",
    )
    assert second.json()["revision"] == 2
    back = admin.client.post("/admin/tenants/TENANT_A/rollback", {}, format="json")
    assert back.status_code == 200 and back.json()["revision"] == 3
    tenant_a.require_activation_approval = True
    tenant_a.save()
    pending = admin.client.post(
        "/admin/packs/activate",
        {"tenant_id": "TENANT_A", "domain_pack_version": "v3.3"},
        format="json",
    )
    assert pending.status_code == 202
    change_id = pending.json()["change_request"]["id"]
    approved = second_admin.client.post(
        f"/admin/config-changes/{change_id}/approve", {}, format="json"
    )
    assert approved.status_code == 200
    assert approved.json()["revision"] == 4
    assert approved.json()["active_config"]["revision"] == 4
    assert TenantActiveConfig.objects.get(tenant_id="TENANT_A").revision == 4


def test_ops_page__min_revision__shows_fresh_revision_and_carries_it(stale_cache, admin):
    from tests.ui.conftest import HTML, browser

    page = browser(admin)
    html = page.get(f"/ops?tenant_id={FINANCE}&min_revision=2", **HTML).content.decode()
    assert "revision 2" in html
    assert 'name="min_revision" value="2"' in html
    response = page.post(
        EVALUATE,
        {
            "tenant_id": FINANCE,
            "exception_type": "SETTLEMENT_FAIL",
            "payload": "{}",
            "min_revision": "3",
        },
        **HTML,
    )
    assert response.status_code == 409
    assert "revision 3" in response.content.decode()
