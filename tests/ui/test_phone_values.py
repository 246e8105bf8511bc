"""At 390 px the review page, the activation preview and the Approvals list show every value and
action without scrolling sideways (issue 23, item 5): each cell, button and link is measured
against the viewport, and the page itself is no wider than the screen."""

import pytest

from runtime_config.models import ConfigChangeRequest
from tenants.models import Tenant
from tests.ui.conftest import HTML, PHONE, browser, console_failures, shot
from tests.ui.test_identity_diffs import DEMO, _high_needs_approval_v15

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every value and action a person reads or taps, inside the region under test.
VALUES = "td, th:not(thead th), dd, dt, .btn, button, a, ins, del, code, .badge"

_OUTSIDE = """([root, selector, width]) => {
  const out = [];
  const scoped = selector.split(',').map((part) => root + ' ' + part.trim()).join(', ');
  for (const node of document.querySelectorAll(scoped)) {
    const box = node.getBoundingClientRect();
    const style = getComputedStyle(node);
    if (!box.width || !box.height || style.visibility === 'hidden') continue;
    if (node.closest('dialog:not([open]), thead, .visually-hidden')) continue;
    if (box.left < -0.5 || box.right > width + 0.5) {
      out.push(node.tagName + ' "' + (node.innerText || '').slice(0, 40) + '" ' +
               Math.round(box.left) + '..' + Math.round(box.right));
    }
  }
  return out;
}"""


def _off_screen(page, root: str) -> list[str]:
    return page.evaluate(_OUTSIDE, [root, VALUES, PHONE["width"]])


def _fits(page, root: str) -> None:
    assert page.locator(root).count() >= 1
    assert _off_screen(page, root) == []
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


@pytest.fixture
def pending_request(db):
    _high_needs_approval_v15()
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=True)
    return None


def test_phone__review_page__every_value_and_action_on_screen(
    open_page, admin, second_admin, pending_request
):
    browser(admin).post(
        "/admin/packs/activate", {"tenant_id": DEMO, "tenant_pack_version": "v1.5"}, **HTML
    )
    change = ConfigChangeRequest.objects.get(status="PENDING")
    page = open_page(second_admin, phone=True)
    page.goto(f"/admin/config-changes/{change.pk}")
    page.locator("#review-diff td.diff-new").first.wait_for()
    _fits(page, "main")
    shot(page, "mobile-config-change-review")
    # The values themselves are there: base and requested, before → after.
    assert page.locator("#review-diff td.diff-old").first.inner_text() == "false"
    assert page.locator("#review-diff td.diff-new").first.inner_text() == "true"
    assert console_failures(page) == []


def test_phone__activation_preview__every_value_and_action_on_screen(
    open_page, admin, pending_request
):
    page = open_page(admin, phone=True)
    page.goto(f"/admin/tenants/{DEMO}")
    page.select_option("select[name=tenant_pack_version]", "v1.5")
    page.locator("button:has-text('Preview activation')").tap()
    dialog = page.locator("#activate-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("details.diff-details > summary").click()
    dialog.locator("td.diff-new").first.wait_for()
    _fits(page, "#activate-dialog")
    assert dialog.locator("button[type=submit]").is_visible()


def test_phone__approvals_list__status_and_actions_on_screen(
    open_page, admin, second_admin, pending_request
):
    browser(admin).post(
        "/admin/packs/activate", {"tenant_id": DEMO, "tenant_pack_version": "v1.5"}, **HTML
    )
    page = open_page(second_admin, phone=True)
    page.goto("/admin/config-changes")
    row = page.locator("#changes-table tbody tr").first
    row.locator("td[data-label=Status]").wait_for()
    _fits(page, "#changes-table")
    shot(page, "mobile-config-changes")
    assert "PENDING" in row.locator("td[data-label=Status]").inner_text()
    assert row.locator("[data-dialog-open]:text-is('Approve')").is_visible()
    assert console_failures(page) == []
