"""Every write control names its effect in the state it is in (issue 23, item 1): a rollback or
activation under four-eyes says it only files a request and who can approve it; without
four-eyes it says it applies now. The rollback request works without JavaScript, at desktop and
phone size, and approving a rollback from the Approvals list says rollback."""

import copy
import re

import pytest

from governance.services import config_activate
from packs.services import domain_pack_import
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from tenants.models import Tenant
from tenants.principals import Principal
from tests.conftest import load_reference
from tests.ui.conftest import HTML, browser, console_failures, seed_demo_packs, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO = "TENANT_FINANCE_001"
DOMAIN = "CapitalMarketsTrading"


def _two_revisions(*, approval: bool) -> None:
    """DEMO runs v3.3 (revision 2) after v3.2 (revision 1): rolling back to 1 is offered."""
    seed_demo_packs()
    system = Principal.system("setup")
    content = copy.deepcopy(load_reference("domain_capital_markets.json"))
    content["severityRules"][0]["severity"] = "LOW"
    domain_pack_import(principal=system, content=content, version="v3.3")
    for version in ("v3.2", "v3.3"):
        config_activate(
            principal=system,
            tenant_id=DEMO,
            domain=DOMAIN,
            domain_pack_version=version,
            tenant_pack_version="v1.4",
        )
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=approval)


def _revision() -> int:
    return TenantActiveConfig.objects.get(tenant_id=DEMO).revision


@pytest.mark.parametrize("phone", [False, True], ids=["1366", "390"])
def test_rollback__four_eyes_without_js__requests_and_names_who_approves(open_page, admin, phone):
    _two_revisions(approval=True)
    page = open_page(admin, phone=phone, js=False)
    page.goto(f"/admin/tenants/{DEMO}")
    trigger = page.locator("main a:text-is('Request rollback (needs a second ADMIN)')")
    assert trigger.count() == 1
    assert page.locator("main :text-is('Roll back now')").count() == 0
    box = trigger.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= (390 if phone else 1366)
    trigger.click()
    page.wait_for_url(re.compile(r"/confirm\?"))
    text = page.inner_text("main")
    assert "Nothing changes now: revision 2 stays live" in text
    assert f"Who can approve: another ADMIN of {DEMO} or a platform ADMIN" in text
    shot(page, "mobile-rollback-request-nojs" if phone else "rollback-request-nojs")
    page.fill("textarea[name=comment]", "incident 42")
    page.click("main button[type=submit]:text-is('Request rollback')")
    page.wait_for_url(re.compile(rf"/admin/tenants/{DEMO}$"))
    assert "Change request created" in page.inner_text("body")
    assert _revision() == 2  # only a request: the old revision stays live
    request = ConfigChangeRequest.objects.get(tenant_id=DEMO, status="PENDING")
    assert request.kind == "rollback" and request.comment == "incident 42"


def test_rollback__no_four_eyes__says_roll_back_now_and_applies(open_page, admin):
    _two_revisions(approval=False)
    page = open_page(admin)
    page.goto(f"/admin/tenants/{DEMO}")
    assert page.locator("main :text-is('Request rollback (needs a second ADMIN)')").count() == 0
    page.locator("main [data-dialog-open]:text-is('Roll back now')").click()
    dialog = page.locator("dialog[open]")
    assert "served at once (no approval needed for this tenant)" in dialog.inner_text()
    dialog.locator("button[type=submit]:text-is('Roll back now')").click()
    page.wait_for_selector(".toast-success:has-text('Rolled back to')")
    assert _revision() == 3
    assert console_failures(page) == []


@pytest.mark.parametrize("phone", [False, True], ids=["1366", "390"])
def test_approvals__rollback_request__approve_says_rollback(open_page, admin, second_admin, phone):
    _two_revisions(approval=True)
    client = browser(admin)
    client.post(f"/admin/tenants/{DEMO}/rollback", {"to_revision": "1"}, **HTML)
    assert ConfigChangeRequest.objects.get(status="PENDING").kind == "rollback"
    page = open_page(second_admin, phone=phone)
    page.goto("/admin/config-changes?status=PENDING")
    row = page.locator("#changes-table tbody tr").first
    assert row.locator("[data-dialog-open]:text-is('Approve')").count() == 0
    row.locator("[data-dialog-open]:text-is('Approve rollback')").click()
    dialog = page.locator("dialog[open]")
    text = dialog.inner_text()
    assert f"roll back to {DOMAIN} v3.2 and tenant pack v1.4 for {DEMO}" in text
    assert "activate" not in text.lower()
    dialog.locator("button[type=submit]:text-is('Approve and roll back')").click()
    page.wait_for_selector(".toast-success:has-text('approved and applied')")
    assert _revision() == 3
    assert console_failures(page) == []


def test_activation_preview__four_eyes__button_and_dialog_name_the_effect(open_page, admin):
    seed_demo_packs()
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=True)
    page = open_page(admin)
    page.goto(f"/admin/tenants/{DEMO}")
    page.select_option("select[name=domain_pack]", f"{DOMAIN}::v3.2")
    page.click("button:has-text('Preview activation')")
    dialog = page.locator("#activate-dialog")
    dialog.wait_for(state="visible")
    assert f"Who can approve: another ADMIN of {DEMO} or a platform ADMIN" in dialog.inner_text()
    assert dialog.locator("button[type=submit]").inner_text() == (
        "Request activation (needs a second ADMIN)"
    )
    shot(page, "activation-request-preview")
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=False)
    page.goto(f"/admin/tenants/{DEMO}")
    page.select_option("select[name=domain_pack]", f"{DOMAIN}::v3.2")
    page.click("button:has-text('Preview activation')")
    dialog.wait_for(state="visible")
    assert "Who can approve" not in dialog.inner_text()
    assert dialog.locator("button[type=submit]").inner_text() == "Activate now"


def test_tenant_policy__buttons_name_request_or_immediate_change(open_page, admin):
    seed_demo_packs()
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=True)
    page = open_page(admin)
    page.goto(f"/admin/tenants/{DEMO}")
    weaken = page.locator("main button:text-is('Request “not required” (needs a second ADMIN)')")
    assert weaken.count() == 1
    weaken.click()
    page.wait_for_selector(".toast-success:has-text('awaiting approval by a second ADMIN')")
    assert Tenant.objects.get(pk=DEMO).require_activation_approval is True
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=False)
    page.goto(f"/admin/tenants/{DEMO}")
    page.click("main button:text-is('Set “required” now')")
    page.wait_for_selector(".toast-success:has-text('required')")
    assert Tenant.objects.get(pk=DEMO).require_activation_approval is True


@pytest.mark.parametrize(
    ("approval", "button", "who"),
    [(True, "Request rollback (needs a second ADMIN)", True), (False, "Roll back now", False)],
)
def test_rollback_preview_page__no_js__button_names_the_effect(admin, approval, button, who):
    _two_revisions(approval=approval)
    body = browser(admin).get(f"/admin/tenants/{DEMO}/rollback?to_revision=1", **HTML)
    text = body.content.decode()
    assert body.status_code == 200
    assert f'<button type="submit" class="btn primary">{button}</button>' in text
    assert ("Who can approve:</strong> another ADMIN of " + DEMO in text) is who
