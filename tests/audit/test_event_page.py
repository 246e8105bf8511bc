"""One audit event by a plain link (issue 23 item 4) and rows named in words (item 8)."""

import re

import pytest

from audit.models import AuditEvent
from tenants.services import tenant_set_status
from tests.api.conftest import assert_problem
from tests.audit.helpers import events
from tests.ui.conftest import HTML, HTMX, browser, shot


@pytest.fixture
def pack_row(imported_tenant_pack) -> AuditEvent:
    return AuditEvent.objects.get(object_type="tenant_pack", action="pack.imported")


def test_audit_event_page__plain_link__details_in_the_page_without_a_dialog(admin, pack_row):
    response = browser(admin).get(f"/admin/audit/{pack_row.pk}", **HTML)
    body = response.content.decode()
    assert response.status_code == 200
    assert f"Event #{pack_row.pk}" in body and pack_row.hash in body
    assert "<dialog" not in body
    assert "Audit trail</a>" in body  # the way back


def test_audit_event_page__htmx__the_drawer(admin, pack_row):
    response = browser(admin).get(f"/admin/audit/{pack_row.pk}", **HTMX)
    assert '<dialog class="drawer" data-autoopen' in response.content.decode()


def test_audit_event__api_door__the_row_as_json(admin, pack_row):
    response = admin.client.get(f"/admin/audit/{pack_row.pk}")
    assert response.status_code == 200
    assert response.json()["hash"] == pack_row.hash
    assert response.json()["id"] == pack_row.pk


def test_audit_list__event_parameter__redirects_to_the_event_page(admin, pack_row):
    response = browser(admin).get("/admin/audit", {"event": pack_row.pk}, **HTML)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/audit/{pack_row.pk}"


def test_audit_event__another_tenants_event__404_on_both_doors(outsider, pack_row):
    before = events()
    assert_problem(outsider.client.get(f"/admin/audit/{pack_row.pk}"), 404, "audit_event_not_found")
    assert browser(outsider).get(f"/admin/audit/{pack_row.pk}", **HTML).status_code == 404
    assert events() == before


def test_audit_event__unknown_id__404_audit_event_not_found(admin, db):
    assert_problem(admin.client.get("/admin/audit/999999"), 404, "audit_event_not_found")


def test_audit_rows__tenant_pack_event__named_in_words_not_by_internal_id(admin, pack_row):
    list_body = browser(admin).get("/admin/audit", **HTML).content.decode()
    page_body = browser(admin).get(f"/admin/audit/{pack_row.pk}", **HTML).content.decode()
    named = f"tenant pack {pack_row.domain} {pack_row.version} of tenant Tenant A (TENANT_A)"
    for body in (list_body, page_body):
        assert named in body
        assert f"tenant_pack {pack_row.object_id}<" not in body
        assert "tenant_pack <span" not in body


def test_audit_rows__tenant_and_domain_pack_events__named(admin, pack_row):
    tenant_set_status(principal=admin.principal, tenant_id="TENANT_A", status="SUSPENDED")
    body = browser(admin).get("/admin/audit", **HTML).content.decode()
    assert "tenant Tenant A (TENANT_A)" in body
    assert f"domain pack {pack_row.domain} 1.0.0" in body


@pytest.mark.browser
def test_audit_details__without_javascript__reached_by_the_link(open_page, admin, pack_row):
    page = open_page(admin, js=False)
    page.goto("/admin/audit")
    page.click(f"a[href='/admin/audit/{pack_row.pk}']")
    page.wait_for_url(re.compile(rf"/admin/audit/{pack_row.pk}$"))
    assert pack_row.hash in page.inner_text("main")
    assert "of tenant Tenant A (TENANT_A)" in page.inner_text("main")
    shot(page, "audit-event-nojs")
    page.goto(f"/admin/audit?event={pack_row.pk}")
    page.wait_for_url(re.compile(rf"/admin/audit/{pack_row.pk}$"))
