"""No dead end (issue 23, item 2): "Activate…" on a tenant pack whose domain runs no domain pack
for the tenant asks for the domain pack version (a chooser), then previews and activates the
pair, with and without JavaScript, at desktop and phone size."""

import re

import pytest

from packs.services import domain_pack_import, tenant_pack_import
from runtime_config.models import TenantActiveConfig
from tenants.principals import Principal
from tenants.services import tenant_create
from tests.conftest import load_reference
from tests.db_state import db_state
from tests.ui.conftest import HTML, HTMX, browser, console_failures, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO = "TENANT_FINANCE_001"
DOMAIN = "CapitalMarketsTrading"


def _fresh_tenant_pack(*, domain_versions=("v3.1", "v3.2")) -> None:
    system = Principal.system("setup")
    tenant_create(principal=system, tenant_id=DEMO, name="Finance Corp")
    for version in domain_versions:
        domain_pack_import(
            principal=system, content=load_reference("domain_capital_markets.json"), version=version
        )
    tenant_pack_import(
        principal=system,
        tenant_id=DEMO,
        content=load_reference("tenant_finance_001.json"),
        version="v1.4",
    )


@pytest.mark.parametrize("phone", [False, True], ids=["1366", "390"])
def test_activate_tenant_pack__no_domain_pack_active__chooser_then_pair_activates(
    open_page, admin, phone
):
    _fresh_tenant_pack()
    page = open_page(admin, phone=phone)
    page.goto(f"/admin/packs?tab=tenant&tenant_id={DEMO}")
    page.locator(
        "#packs-table button:text-is('Activate…'), main button:text-is('Activate…')"
    ).first.click()
    dialog = page.locator("#activate-dialog")
    dialog.wait_for(state="visible")
    assert f"No {DOMAIN} domain pack is active for {DEMO} yet" in dialog.inner_text()
    options = dialog.locator("input[name=domain_pack_version]")
    assert [options.nth(i).get_attribute("value") for i in range(options.count())] == [
        "v3.2",
        "v3.1",
    ]
    assert page.locator(".toast-error").count() == 0
    shot(page, "mobile-domain-chooser" if phone else "domain-chooser")
    dialog.locator("label:has-text('v3.1') input").check()
    dialog.locator("button:text-is('Preview this pair')").click()
    page.wait_for_selector(
        f"#activate-dialog:has-text('Activate {DOMAIN} v3.1 and tenant pack v1.4')"
    )
    page.locator("#activate-dialog button[type=submit]:text-is('Activate now')").click()
    page.wait_for_selector(".toast-success:has-text('Activated')")
    config = TenantActiveConfig.objects.get(tenant_id=DEMO)
    assert (config.domain_pack.version, config.tenant_pack.version) == ("v3.1", "v1.4")
    assert console_failures(page) == []


def test_activate_tenant_pack__no_js__chooser_page_posts_the_pair(open_page, admin):
    _fresh_tenant_pack()
    page = open_page(admin, js=False)
    page.goto(f"/admin/packs/tenant/{DEMO}/v1.4")
    page.locator("main button:text-is('Activate…')").first.click()
    page.wait_for_selector("h1:text('Choose a domain pack to activate with')")
    page.click("button:text-is('Preview this pair')")
    page.wait_for_selector(f"main :text('Activate {DOMAIN} v3.2 and tenant pack v1.4')")
    page.click("main button[type=submit]:text-is('Activate now')")
    page.wait_for_url(re.compile(rf"/admin/tenants/{DEMO}$"))
    assert TenantActiveConfig.objects.get(tenant_id=DEMO).domain_pack.version == "v3.2"


def test_activate_tenant_pack__no_domain_pack_imported__links_to_import_writes_nothing(admin):
    _fresh_tenant_pack(domain_versions=())
    before = db_state()
    response = browser(admin).post(
        "/admin/packs/activate",
        {"tenant_id": DEMO, "tenant_pack_version": "v1.4", "dry_run": "true"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert f"Import a {DOMAIN} domain pack" in body and 'href="/admin/packs?tab=domain"' in body
    assert db_state() == before


def test_activate__not_a_dry_run__still_refuses_without_a_domain_pack(admin):
    _fresh_tenant_pack()
    before = db_state()
    response = browser(admin).post(
        "/admin/packs/activate", {"tenant_id": DEMO, "tenant_pack_version": "v1.4"}, **HTML
    )
    assert response.status_code == 400
    assert db_state() == before
