"""Browser tests: Debian's Chromium driven by Playwright against the live server.

They walk the demo of ../shared/packs/README.md through the pages only, a failing import, a
VIEWER session and an XSS probe, and save a screenshot of every page (to docs/screens/ with
`make screens`)."""

import copy
import re
from pathlib import Path

import pytest

from tests.conftest import REFERENCE
from tests.ui.conftest import console_failures, shot

XSS_SCRIPT = "</script><script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def import_pack(page, *, tab: str, path: Path, version: str, tenant: str | None = None):
    page.goto(f"/admin/packs?tab={tab}")
    if tenant:
        page.select_option("#import-form select[name=tenant_id]", tenant)
    page.fill("#import-form input[name=version]", version)
    page.set_input_files("#import-form input[type=file]", str(path))
    page.click("#import-form button:has-text('Validate')")
    page.wait_for_selector("#import-result .report")
    return page


def test_demo_flow__through_the_pages__activates_links_and_evaluates(open_page, admin):
    page = open_page(admin, login_shot="login")
    shot(page, "tenants-empty")

    # Create the tenant.
    page.fill("#tenant-create input[name=tenant_id]", "TENANT_FINANCE_001")
    page.fill("#tenant-create input[name=name]", "Finance Corp")
    page.click("#tenant-create button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/tenants/TENANT_FINANCE_001$"))
    assert page.locator(".toast-success").first.inner_text().startswith("Tenant TENANT_FINANCE_001")

    # Domain pack: validate (shows the self-test warning), then import.
    import_pack(page, tab="domain", path=REFERENCE / "domain_capital_markets.json", version="v3.2")
    result = page.locator("#import-result")
    assert "Valid" in result.inner_text()
    assert "self_test_failed" in result.inner_text()
    assert "/testSuites/0" in result.inner_text()
    shot(page, "packs-domain-validate")
    page.click("#import-form button:has-text('Import')")
    page.wait_for_selector("#import-result :text('Imported')")
    page.wait_for_selector("#packs-table :text('v3.2')")
    shot(page, "packs-domain")

    # Tenant pack.
    import_pack(
        page,
        tab="tenant",
        path=REFERENCE / "tenant_finance_001.json",
        version="v1.4",
        tenant="TENANT_FINANCE_001",
    )
    assert "Valid" in page.locator("#import-result").inner_text()
    page.click("#import-form button:has-text('Import')")
    page.wait_for_selector("#import-result :text('Imported')")
    page.wait_for_selector("#packs-table :text('v1.4')")
    shot(page, "packs-tenant")

    # Activate both through the dry-run preview and the ConfirmDialog.
    page.goto("/admin/tenants/TENANT_FINANCE_001")
    page.select_option("select[name=domain_pack]", "CapitalMarketsTrading::v3.2")
    page.select_option("select[name=tenant_pack_version]", "v1.4")
    page.click("button:has-text('Preview activation')")
    dialog = page.locator("#activate-dialog")
    dialog.wait_for(state="visible")
    assert (
        "Activate CapitalMarketsTrading v3.2 and tenant pack v1.4 for TENANT_FINANCE_001"
        in dialog.inner_text()
    )
    shot(page, "activation-preview")
    dialog.locator("button[type=submit]:has-text('Activate')").click()
    page.wait_for_selector(".toast-success:has-text('Activated')")
    active = page.locator("section.card:has(h2:text('Active configuration'))")
    assert "v3.2" in active.inner_text() and "v1.4" in active.inner_text()
    shot(page, "tenant-detail")

    # Pack detail, with its CodeViewer.
    page.goto("/admin/packs/domain/CapitalMarketsTrading/v3.2")
    assert page.locator(".code-viewer .codehilite").count() == 1
    assert "TENANT_FINANCE_001" in page.locator(".page-head").inner_text()
    shot(page, "pack-detail")

    # Link the SETTLEMENT_FAIL playbook.
    page.goto("/admin/playbooks?tenant_id=TENANT_FINANCE_001")
    row = page.locator("#playbooks-table tr:has(td code:text-is('SETTLEMENT_FAIL'))").first
    row.locator("button:has-text('Link')").click()
    page.wait_for_selector(".toast-success:has-text('SETTLEMENT_FAIL linked')")
    row = page.locator("#playbooks-table tr:has(td code:text-is('SETTLEMENT_FAIL'))").first
    assert row.locator(".badge-ok", has_text="linked").count() == 1
    shot(page, "playbooks")

    # Evaluate on /ops.
    page.goto("/ops")
    page.select_option("select[name=exception_type]", "SETTLEMENT_FAIL")
    page.click("button:has-text('Evaluate')")
    decision = page.locator("#decision .decision")
    decision.wait_for()
    assert "HIGH" in decision.inner_text()
    assert "Not required" in decision.inner_text()
    assert page.locator("#decision ol.steps li").count() > 0
    page.select_option("select[name=exception_type]", "POSITION_BREAK")
    page.click("button:has-text('Evaluate')")
    page.wait_for_selector("#decision .decision :text('CRITICAL')")
    assert "Required" in page.locator("#decision .decision").inner_text()
    shot(page, "ops")

    page.goto("/admin/audit")
    assert page.locator("#audit-table tbody tr").count() >= 5
    page.locator("#audit-table tbody tr").first.locator("a:has-text('Details')").click()
    page.wait_for_selector("dialog.drawer[open]")
    shot(page, "audit")
    # A move that would be refused is not offered: the button is disabled and says why.
    page.goto("/admin/packs?tab=domain")
    row = page.locator("#packs-table tbody tr", has_text="v3.2")
    assert row.locator("button:text-is('Deprecate')").is_disabled()
    assert "Live for TENANT_FINANCE_001" in row.locator(".refusal").inner_text()
    assert row.locator("[data-dialog-open]:text-is('Deprecate')").count() == 0

    # FilterBar: htmx swaps the table and the filters land in the URL.
    page.goto("/admin/tenants")
    page.fill(".filter-bar input[name=search]", "nomatch")
    page.wait_for_selector("#tenants-table .empty-state")
    assert "search=nomatch" in page.url
    page.select_option(".filter-bar select[name=status]", "ACTIVE")
    page.fill(".filter-bar input[name=search]", "")
    page.wait_for_selector("#tenants-table :text('TENANT_FINANCE_001')")
    shot(page, "tenants")
    assert page.dialogs_seen == []
    # Refused requests are logged by Chromium; anything else (a CSP violation) is a failure.
    assert console_failures(page) == []


def test_failing_import__legacy_domain_pack__shows_each_error_with_its_path(open_page, admin):
    page = open_page(admin)
    import_pack(
        page, tab="domain", path=REFERENCE / "domain_healthcare_legacy.json", version="v1.0"
    )
    text = page.locator("#import-result").inner_text()
    assert "Invalid" in text
    assert "/severityRules/0/if" in text
    assert "/playbooks/0/exceptionType" in text
    page.click("#import-form button:has-text('Import')")
    page.wait_for_selector("#import-result :text('Import refused')")
    text = page.locator("#import-result").inner_text()
    assert "/severityRules/0/if" in text
    assert "nothing was stored" in text
    shot(page, "packs-import-errors")
    from packs.models import DomainPack

    assert not DomainPack.objects.exists()


def test_viewer_session__every_page__has_no_write_controls(open_page, viewer, admin):
    from governance.services import config_activate
    from tenants.principals import Principal
    from tests.ui.conftest import seed_demo_packs

    seed_demo_packs()
    config_activate(
        principal=Principal.system("setup"),
        tenant_id="TENANT_FINANCE_001",
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
        domain="CapitalMarketsTrading",
    )
    page = open_page(viewer)
    for url in (
        "/admin/tenants",
        "/admin/tenants/TENANT_FINANCE_001",
        "/admin/packs?tab=domain",
        "/admin/packs?tab=tenant",
        "/admin/packs/domain/CapitalMarketsTrading/v3.2",
        "/admin/packs/tenant/TENANT_FINANCE_001/v1.4",
        "/admin/playbooks?tenant_id=TENANT_FINANCE_001",
        "/admin/config-changes",
        "/admin/audit",
    ):
        page.goto(url)
        posts = page.locator("main form[method=post]")
        assert posts.count() == 0, url
        assert page.locator("main dialog.confirm-dialog").count() == 0, url
        for word in ("Create tenant", "Import", "Activate", "Suspend", "Deprecate", "Link"):
            assert page.locator(f"main button:text-is('{word}')").count() == 0, (url, word)
    page.goto("/admin/tenants/TENANT_FINANCE_001")
    assert "Read-only" in page.inner_text("main")
    shot(page, "viewer-tenant-detail")


def test_four_eyes__second_admin_approves_through_the_dialog(open_page, admin, second_admin):
    from tests.ui.conftest import seed_demo_packs

    seed_demo_packs()
    page = open_page(admin)
    page.goto("/admin/tenants/TENANT_FINANCE_001")
    page.click("button:text-is('Set “required” now')")
    page.wait_for_selector(".toast-success:has-text('required')")
    page.select_option("select[name=domain_pack]", "CapitalMarketsTrading::v3.2")
    page.click("button:has-text('Preview activation')")
    dialog = page.locator("#activate-dialog")
    dialog.wait_for(state="visible")
    assert "another ADMIN of TENANT_FINANCE_001 or a platform ADMIN" in dialog.inner_text()
    dialog.locator("button:text-is('Request activation (needs a second ADMIN)')").click()
    page.wait_for_selector(".toast-success:has-text('Change request created')")
    page.goto("/admin/config-changes")
    assert "another ADMIN must approve it" in page.inner_text("#changes-table")
    assert page.locator("#changes-table button:text-is('Approve')").count() == 0

    reviewer = open_page(second_admin)
    reviewer.goto("/admin/config-changes?status=PENDING")
    shot(reviewer, "config-changes")
    reviewer.locator("#changes-table [data-dialog-open]:text-is('Approve')").click()
    confirm = reviewer.locator("dialog[open]")
    assert "Approve and apply: activate CapitalMarketsTrading v3.2" in confirm.inner_text()
    confirm.locator("button[type=submit]").click()
    reviewer.wait_for_selector(".toast-success:has-text('approved and applied')")
    assert "APPLIED" in reviewer.inner_text("#changes-table")


def _xss_domain_pack(content: dict) -> dict:
    hostile = copy.deepcopy(content)
    first = next(iter(hostile["exceptionTypes"]))
    hostile["exceptionTypes"][first]["description"] = XSS_SCRIPT + " " + XSS_IMG
    hostile["playbooks"][0]["steps"][0]["action"] = "Call " + XSS_IMG
    return hostile


def test_xss__hostile_pack_strings__render_as_text_everywhere(open_page, admin, finance_domain):
    from packs.services import domain_pack_import
    from tenants.principals import Principal
    from tenants.services import tenant_create

    system = Principal.system("setup")
    tenant_create(principal=system, tenant_id="TENANT_XSS", name="Evil " + XSS_IMG)
    domain_pack_import(principal=system, content=finance_domain, version="v1.0")
    domain_pack_import(principal=system, content=_xss_domain_pack(finance_domain), version="v1.1")
    page = open_page(admin)

    # Table (the tenant's name) and audit (the summary names it).
    assert XSS_IMG in page.inner_text("#tenants-table")
    page.goto("/admin/audit")
    assert XSS_IMG in page.inner_text("#audit-table")
    # CodeViewer.
    page.goto("/admin/packs/domain/CapitalMarketsTrading/v1.1")
    code = page.inner_text(".code-viewer .code-body")
    # JSON-encoded by the viewer: the quote is escaped, everything else is shown verbatim.
    assert XSS_SCRIPT in code
    assert XSS_IMG.replace('"', '\\"') in code
    # Diff.
    page.goto("/admin/packs/domain/CapitalMarketsTrading/diff?from=v1.0&to=v1.1")
    diff = page.inner_text(".diff-table")
    assert "<script>alert(1)</script>" in diff
    assert XSS_IMG.replace('"', '\\"') in diff
    shot(page, "pack-diff-escaped")
    # No image or script element was created from pack content anywhere.
    for url in ("/admin/tenants", "/admin/audit", "/admin/packs/domain/CapitalMarketsTrading/v1.1"):
        page.goto(url)
        assert page.locator("main img").count() == 0, url
        assert page.locator("main script").count() == 0, url
    assert page.dialogs_seen == []
