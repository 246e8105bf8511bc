"""Settings → People in Chromium at 390 px (issue 21): create a user, grant and revoke a role,
deactivate — with JavaScript and without, nothing wider than the screen."""

import pytest

from tenants.models import RoleBinding
from tests.conftest import make_tenant
from tests.ui.conftest import console_failures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("js", [True, False])
def test_people__phone__create_grant_revoke_deactivate(open_page, admin, second_admin, js):
    make_tenant("TENANT_A")
    page = open_page(admin, phone=True, js=js)
    page.goto("/admin/users")
    assert _fits(page)
    page.fill("input[name=username]", "carol")
    page.fill("input[name=display_name]", "Carol")
    page.click("button:has-text('Create user')")
    page.wait_for_url("**/admin/users/carol")
    assert _fits(page)
    page.select_option("select[name=role]", "VIEWER")
    page.select_option("select[name=tenant_id]", "TENANT_A")
    page.click("button:has-text('Grant')")
    page.wait_for_selector("button:has-text('Revoke')")
    assert RoleBinding.objects.get(user__username="carol").tenant_id == "TENANT_A"
    assert _fits(page)
    page.click("button:has-text('Revoke')")
    page.wait_for_selector("text=No role")
    assert not RoleBinding.objects.filter(user__username="carol").exists()
    page.click("button:has-text('Deactivate')")
    page.wait_for_selector("button:has-text('Reactivate')")
    assert page.locator("text=DEACTIVATED").count() >= 1
    assert _fits(page)
    page.goto("/admin/tokens")
    assert _fits(page)
    if js:
        assert console_failures(page) == []
