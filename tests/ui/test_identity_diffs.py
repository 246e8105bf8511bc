"""Array items with an identity are paired and named by it everywhere (issue 23, item 4): an
approval rule is named by its severity (humanApprovalRules, HIGH, requireApproval) on the version
diff, the activation preview (both doors) and the review page, never by its index."""

import copy
import re

import pytest

from governance.services import config_activate
from packs.services import tenant_pack_import
from runtime_config.models import ConfigChangeRequest
from tenants.models import Tenant
from tenants.principals import Principal
from tests.conftest import load_reference
from tests.ui.conftest import HTML, HTMX, browser, console_failures, seed_demo_packs

DEMO = "TENANT_FINANCE_001"
DOMAIN = "CapitalMarketsTrading"
SEP = " \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "  # how the pages join a label
LABEL = SEP.join(["humanApprovalRules", "HIGH", "requireApproval"])
POSITIONAL = re.compile("humanApprovalRules" + SEP + r"\d")


def _high_needs_approval_v15() -> None:
    """DEMO runs v3.2 + v1.4; v1.5 asks approval for HIGH and drops the LOW override."""
    seed_demo_packs()
    system = Principal.system("setup")
    config_activate(
        principal=system,
        tenant_id=DEMO,
        domain=DOMAIN,
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    )
    content = copy.deepcopy(load_reference("tenant_finance_001.json"))
    high = next(rule for rule in content["humanApprovalRules"] if rule["severity"] == "HIGH")
    high["requireApproval"] = True
    content["humanApprovalRules"].reverse()  # order alone must not read as changes
    tenant_pack_import(principal=system, tenant_id=DEMO, content=content, version="v1.5")


def _text(body: str) -> str:
    return re.sub(r"\s+", " ", body.replace("&rsaquo;", SEP.strip()))


@pytest.mark.django_db
def test_version_diff__approval_rule__named_by_severity(admin):
    _high_needs_approval_v15()
    body = browser(admin).get(f"/admin/packs/tenant/{DEMO}/diff?from=v1.4&to=v1.5", **HTML)
    text = _text(body.content.decode())
    assert LABEL in text and not POSITIONAL.search(text)
    assert "1 changed" in text


@pytest.mark.django_db
def test_preview__both_doors__approval_rule_named_by_severity(admin):
    _high_needs_approval_v15()
    fields = {"tenant_id": DEMO, "tenant_pack_version": "v1.5", "dry_run": "true"}
    page = _text(browser(admin).post("/admin/packs/activate", fields, **HTMX).content.decode())
    assert LABEL in page and not POSITIONAL.search(page)
    api = admin.client.post(
        "/admin/packs/activate",
        {"tenant_id": DEMO, "tenant_pack_version": "v1.5", "dry_run": True},
        format="json",
    )
    assert api.status_code == 200, api.content
    changed = api.json()["effective_config_diff"]["changed"]
    assert [item.get("label") for item in changed] == [LABEL.split(SEP)]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("phone", [False, True], ids=["1366", "390"])
def test_review_page__approval_rule__named_by_severity(open_page, admin, second_admin, phone):
    _high_needs_approval_v15()
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=True)
    browser(admin).post(
        "/admin/packs/activate", {"tenant_id": DEMO, "tenant_pack_version": "v1.5"}, **HTML
    )
    change = ConfigChangeRequest.objects.get(status="PENDING")
    page = open_page(second_admin, phone=phone)
    page.goto(f"/admin/config-changes/{change.pk}")
    diff = page.locator("#review-diff")
    text = diff.inner_text()
    assert LABEL in text and not POSITIONAL.search(text)
    cell = diff.locator(f".diff-where:has-text('{LABEL}')")
    box = cell.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= (390 if phone else 1366)
    assert console_failures(page) == []
