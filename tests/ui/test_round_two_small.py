"""Smaller promises of issue 23 (item 6): history names requester and approver, convergence
says "not served by any process yet" before anything fetched the configuration, the import
result states both sizes in the one format, and /ops logs no console error."""

import json
import re

import pytest

from governance.services import change_request_approve, config_activate
from packs.models import DomainPack
from tenants.models import Tenant
from tenants.principals import Principal
from tests.conftest import load_reference
from tests.ui.conftest import HTML, HTMX, browser, console_failures, seed_demo_packs

DEMO = "TENANT_FINANCE_001"
DOMAIN = "CapitalMarketsTrading"


@pytest.mark.django_db
def test_history__approved_request__names_requester_and_approver(admin, second_admin):
    seed_demo_packs()
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=True)
    pending = config_activate(
        principal=admin.principal,
        tenant_id=DEMO,
        domain=DOMAIN,
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    ).change_request
    change_request_approve(principal=second_admin.principal, change_request_id=pending.pk)
    for url in (f"/admin/tenants/{DEMO}", f"/admin/tenants/{DEMO}/activations"):
        body = re.sub(r"\s+", " ", browser(admin).get(url, **HTML).content.decode())
        assert (
            f'{admin.username} <span class="muted">requested</span><br>'
            f'{second_admin.username} <span class="muted">approved</span>'
        ) in body, url


@pytest.mark.django_db
def test_convergence__nothing_fetched_yet__not_served_by_any_process(admin):
    seed_demo_packs()
    config_activate(
        principal=Principal.system("setup"),
        tenant_id=DEMO,
        domain=DOMAIN,
        domain_pack_version="v3.2",
    )
    body = browser(admin).get(f"/admin/tenants/{DEMO}/convergence", **HTMX).content.decode()
    assert "Revision 1 is not served by any process yet" in body
    assert "has reported" not in body


@pytest.mark.django_db
def test_import_result__pretty_file__stored_and_sent_sizes_in_one_format(admin):
    text = json.dumps(load_reference("domain_capital_markets.json"), indent=4)
    response = browser(admin).post(
        "/admin/packs/domain/import", {"content": text, "version": "v3.2"}, **HTMX
    )
    assert response.status_code == 201
    stored = DomainPack.objects.get().size_bytes
    body = response.content.decode()
    sent_kb = f"{len(text.encode()) / 1024:.1f}\xa0KB"
    stored_kb = f"{stored / 1024:.1f}\xa0KB"
    assert (
        f'Stored size <span title="{stored:,} bytes of canonical JSON">{stored_kb}</span>' in body
    )
    assert f"the document sent was {sent_kb}" in body
    listing = browser(admin).get("/admin/packs?tab=domain", **HTML).content.decode()
    assert stored_kb in listing


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_ops__tenant_switch__no_console_error(open_page, admin):
    seed_demo_packs()
    config_activate(
        principal=Principal.system("setup"),
        tenant_id=DEMO,
        domain=DOMAIN,
        domain_pack_version="v3.2",
    )
    page = open_page(admin)
    page.goto("/ops")
    with page.expect_response(re.compile(r"/ops\?")):
        page.dispatch_event("select[name=tenant_id]", "change")
    page.wait_for_selector("#ops-panel select[name=tenant_id]")
    page.click("#ops-panel button:text-is('Evaluate')")
    page.wait_for_selector("#decision :text('Severity'), #decision .decision, #decision .notice")
    assert console_failures(page) == []
