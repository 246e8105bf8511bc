"""The home page in Chromium (issue 23, item 7): at 1366 and 390 px every item's link is on
screen and leads to its page."""

import pytest

from tests.console.test_home import _needs_attention
from tests.ui.conftest import console_failures, shot


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("phone", [False, True], ids=["1366", "390"])
def test_home__browser__links_on_screen_and_lead_to_the_item(
    open_page, admin, second_admin, settings, phone
):
    state = _needs_attention(admin, settings)
    page = open_page(second_admin, phone=phone)
    page.goto("/")
    links = page.locator("main .attention-item a")
    assert links.count() == 4
    width = 390 if phone else 1366
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    shot(page, "mobile-home" if phone else "home")
    page.locator(f"main a[href='/admin/config-changes/{state['pending'].pk}']").click()
    page.wait_for_selector("h1:text('Review change request')")
    assert console_failures(page) == []
