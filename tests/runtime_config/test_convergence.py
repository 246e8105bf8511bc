"""Convergence (DESIGN §14): heartbeats of serving processes, GET /admin/tenants/{id}/convergence
with tenant-scoped access, and the panel of the tenant page."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from runtime_config import convergence
from runtime_config.models import RuntimeProcess, ServedConfig
from runtime_config.runtime import get_effective_config, invalidate
from tests.runtime_config.runtime_support import (
    FINANCE,
    activate_direct,
    make_finance_tenant,
    store_domain,
    store_tenant,
)
from tests.ui.conftest import HTMX, browser


@dataclass
class FakeListener:
    process_id: str
    host: str = "host-1"
    pid: int = 4242


def url(tenant_id: str = FINANCE) -> str:
    return f"/admin/tenants/{tenant_id}/convergence"


@pytest.fixture(autouse=True)
def cached(settings):
    settings.RUNTIME_CONFIG_TTL = 30
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 30
    invalidate()
    convergence.reset()
    yield
    invalidate()
    convergence.reset()


@pytest.fixture
def finance(db, finance_domain, finance_tenant):
    tenant = make_finance_tenant()
    old = store_domain(finance_domain, "v3.2")
    new = store_domain(finance_domain, "v3.3")
    tenant_pack = store_tenant(finance_tenant)
    activate_direct(FINANCE, old, tenant_pack)
    return tenant, old, new, tenant_pack


def test_report__serving_process__one_row_per_tenant_then_only_the_process_row(finance):
    get_effective_config(FINANCE)
    convergence.report(FakeListener("p1"))
    row = ServedConfig.objects.get(process_id="p1", tenant_id=FINANCE)
    assert row.revision == 1
    with CaptureQueriesContext(connection) as queries:
        convergence.report(FakeListener("p1"))
    assert not [q for q in queries.captured_queries if "runtime_served_configs" in q["sql"]]
    assert RuntimeProcess.objects.get(pk="p1").seen_at > row.updated_at


def test_convergence__all_processes_on_active_revision__converged(finance, viewer):
    get_effective_config(FINANCE)
    convergence.report(FakeListener("p1"))
    convergence.reset()
    convergence.report(FakeListener("p2", pid=4243))
    body = viewer.client.get(url()).json()
    assert body["revision"] == 1
    assert body["converged"] is True
    assert [p["process_id"] for p in body["processes"]] == ["p1", "p2"]
    first = body["processes"][0]
    assert set(first) >= {"process_id", "host", "pid", "revision", "checksum", "seen_at"}
    assert first["revision"] == 1 and first["checksum"] == body["checksum"]


def test_convergence__process_on_old_revision__not_converged_until_it_reports(finance, viewer):
    _, _, new, tenant_pack = finance
    get_effective_config(FINANCE)
    convergence.report(FakeListener("p1"))
    activate_direct(FINANCE, new, tenant_pack)  # p1 has not reported revision 2 yet
    body = viewer.client.get(url()).json()
    assert body["revision"] == 2 and body["converged"] is False
    assert body["processes"][0]["revision"] == 1 and body["processes"][0]["current"] is False
    invalidate()
    get_effective_config(FINANCE)
    convergence.report(FakeListener("p1"))
    body = viewer.client.get(url()).json()
    assert body["converged"] is True and body["processes"][0]["revision"] == 2


def test_convergence__process_silent_30s__drops_out(finance, viewer):
    get_effective_config(FINANCE)
    convergence.report(FakeListener("p1"))
    RuntimeProcess.objects.filter(pk="p1").update(seen_at=timezone.now() - timedelta(seconds=31))
    body = viewer.client.get(url()).json()
    assert body["processes"] == [] and body["converged"] is None
    assert body["state"] == "not_served"


def test_convergence__no_process_serves_the_tenant__converged_null_not_served(finance, viewer):
    """Issue 25 item 6: it answered `converged: true, processes: []` — vacuous truth."""
    body = viewer.client.get(url()).json()
    assert (body["converged"], body["state"], body["processes"]) == (None, "not_served", [])
    assert body["reason"]


def test_convergence__one_process_behind__converging_with_reason(finance, viewer):
    _, _, new, tenant_pack = finance
    get_effective_config(FINANCE)
    convergence.report(FakeListener("p1"))
    activate_direct(FINANCE, new, tenant_pack)
    body = viewer.client.get(url()).json()
    assert (body["converged"], body["state"]) == (False, "converging") and body["reason"]


def test_deregister__process_exits__its_rows_are_gone_and_others_stay(finance, viewer):
    get_effective_config(FINANCE)
    convergence.report(FakeListener("p1"))
    convergence.reset()
    convergence.report(FakeListener("p2", pid=4243))
    convergence.deregister(FakeListener("p1"))
    assert not RuntimeProcess.objects.filter(pk="p1").exists()
    assert not ServedConfig.objects.filter(process_id="p1").exists()
    body = viewer.client.get(url()).json()
    assert [p["process_id"] for p in body["processes"]] == ["p2"] and body["converged"] is True


def test_convergence__tenant_no_longer_cached__row_removed(finance, viewer):
    get_effective_config(FINANCE)
    convergence.report(FakeListener("p1"))
    invalidate()
    convergence.report(FakeListener("p1"))
    assert not ServedConfig.objects.filter(process_id="p1").exists()


def test_convergence__rbac__tenant_scoped(finance, owner, member, outsider, nobody, anon):
    # owner and member are bound to TENANT_A; the finance tenant is theirs only if platform-wide.
    from tests.conftest import make_actor

    finance_member = make_actor("finance-member", "VIEWER", finance[0])
    assert finance_member.client.get(url()).status_code == 200
    assert outsider.client.get(url()).status_code == 404
    assert outsider.client.get(url()).json()["code"] == "tenant_not_found"
    assert member.client.get(url()).status_code == 404
    assert nobody.client.get(url()).status_code == 403
    assert anon.get(url()).status_code == 401
    assert finance_member.client.get(url("NOPE_1")).status_code == 404


def test_convergence_panel__htmx__partial_with_each_process(finance, admin):
    get_effective_config(FINANCE)
    convergence.report(FakeListener("p1"))
    response = browser(admin).get(url(), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="convergence-panel"' in html and "<html" not in html
    assert "p1" in html and "CONVERGED" in html


def test_tenant_page__convergence_panel_polls(finance, admin):
    response = browser(admin).get(f"/admin/tenants/{FINANCE}", HTTP_ACCEPT="text/html")
    html = response.content.decode()
    assert f'hx-get="/admin/tenants/{FINANCE}/convergence"' in html
    assert f"/runtime/tenants/{FINANCE}/config?min_revision=1" in html
    assert f"/ops?tenant_id={FINANCE}&amp;min_revision=1" in html
