"""Decision impact in Chromium (issue 15): ADMIN A requests an activation that needs approval,
seeing its impact in the preview; ADMIN B opens the review page from the approvals list, sees the
effective-config diff and the impact table, and approves there."""

import copy

import pytest

from impact.runs import IMPACT_QUEUE
from onboarding.worker import drain
from tests.conftest import load_reference
from tests.ui.conftest import console_failures, seed_demo_packs, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINANCE = "TENANT_FINANCE_001"


@pytest.fixture
def pending_world(db):
    """FINANCE runs v3.2 + v1.4 and requires approval; v3.3 raises CASH_BREAK to CRITICAL and
    FINANCE's own sample set holds a CASH_BREAK with a hostile string."""
    from governance.services import config_activate
    from impact.services import sample_set_replace
    from packs.services import domain_pack_import
    from tenants.models import Tenant
    from tenants.principals import Principal

    system = Principal.system("setup")
    seed_demo_packs()
    config_activate(
        principal=system,
        tenant_id=FINANCE,
        domain="CapitalMarketsTrading",
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    )
    raised = copy.deepcopy(load_reference("domain_capital_markets.json"))
    raised["severityRules"][1]["severity"] = "CRITICAL"
    domain_pack_import(principal=system, content=raised, version="v3.3")
    sample_set_replace(
        principal=system,
        tenant_id=FINANCE,
        data=b'{"exception_type": "CASH_BREAK", '
        b'"payload": {"note": "<img src=x onerror=alert(1)>"}}\n',
    )
    Tenant.objects.filter(tenant_id=FINANCE).update(require_activation_approval=True)


def test_four_eyes__second_admin_reviews_diff_and_impact_then_approves(
    open_page, admin, second_admin, pending_world
):
    page = open_page(admin)
    page.goto(f"/admin/tenants/{FINANCE}")
    page.select_option("select[name=domain_pack]", "CapitalMarketsTrading::v3.3")
    page.click("button:has-text('Preview activation')")
    dialog = page.locator("#activate-dialog")
    dialog.wait_for(state="visible")
    assert "Decision impact" in dialog.inner_text()
    dialog.locator("button:has-text('Request activation')").click()
    page.wait_for_selector(".toast-success:has-text('Change request created')")

    reviewer = open_page(second_admin)
    reviewer.goto("/admin/config-changes?status=PENDING")
    reviewer.locator("#changes-table a:text-is('Review')").first.click()
    reviewer.wait_for_selector("h1:text('Review change request')")
    diff = reviewer.locator("#review-diff").inner_text()
    assert "/severityRules/1/severity" in diff
    # The impact is the worker's (issue 25): the page says so, then fills in once it has run.
    assert "Computing the decision impact" in reviewer.locator("#review-impact").inner_text()
    drain(queues=(IMPACT_QUEUE,))
    reviewer.wait_for_selector("#review-impact tr:has-text('tenant samples #1')")
    impact = reviewer.locator("#review-impact")
    assert "tenant samples #1" in impact.inner_text()
    row = impact.locator("tr:has-text('tenant samples #1')")
    assert "HIGH" in row.inner_text() and "CRITICAL" in row.inner_text()
    assert reviewer.dialogs_seen == []  # the hostile sample stays text
    shot(reviewer, "config-change-review")
    reviewer.fill("form[action$='/approve'] textarea[name=comment]", "Impact checked")
    reviewer.click("button:has-text('Approve and activate')")
    reviewer.wait_for_selector(".toast-success:has-text('approved and applied')")
    assert "APPLIED" in reviewer.inner_text("#changes-table")
    assert console_failures(page) == [] and console_failures(reviewer) == []
