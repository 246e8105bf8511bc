"""The Rollouts pages: list and detail through the page door (Django's test client), and in
Chromium at desktop and phone width — progress, readings, labelled controls that work, and the
tenant page's link to the rollout the tenant is in."""

import pytest

from onboarding.worker import drain
from rollouts.models import Rollout
from rollouts.services import rollout_create
from tests.rollouts.conftest import DOMAIN, make_fleet
from tests.runtime_config.activation_helpers import SETUP
from tests.ui.conftest import HTML, browser, console_failures, shot

WAVES = [{"tenants": ["T01"]}, {"tenants": ["T02", "T03"]}]


def rollout_of_three(**extra) -> Rollout:
    return rollout_create(
        principal=SETUP,
        domain=DOMAIN,
        domain_pack_version="v3.3",
        tenants=["T01", "T02", "T03"],
        waves=WAVES,
        bake_seconds=3600,
        **extra,
    ).rollout


@pytest.mark.django_db(transaction=True)  # the worker's task loop commits
def test_rollout_pages__admin__list_detail_and_tenant_link(small_fleet, admin):
    rollout = rollout_of_three()
    drain(queues=("rollouts",))
    client = browser(admin)
    listed = client.get("/admin/rollouts", **HTML)
    assert listed.status_code == 200
    assert f"/admin/rollouts/{rollout.pk}" in listed.content.decode()
    detail = client.get(f"/admin/rollouts/{rollout.pk}", **HTML).content.decode()
    assert "BAKING" in detail and "Apply the next wave now (skip the bake)" in detail
    assert "Raise alarm: halt and restore moved tenants" in detail
    tenant_page = client.get("/admin/tenants/T02", **HTML).content.decode()
    assert f'href="/admin/rollouts/{rollout.pk}"' in tenant_page


def test_rollout_pages__viewer__no_controls(small_fleet, viewer):
    rollout = rollout_of_three()
    detail = browser(viewer).get(f"/admin/rollouts/{rollout.pk}", **HTML).content.decode()
    assert "Controls" not in detail and "Raise alarm" not in detail


def test_rollout_page__pause_form__pauses(small_fleet, admin):
    rollout = rollout_of_three()
    response = browser(admin).post(f"/admin/rollouts/{rollout.pk}/pause", {}, **HTML)
    assert response.status_code == 303
    rollout.refresh_from_db()
    assert rollout.status == "PAUSED"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("phone", [False, True])
def test_rollout_pages__chromium_desktop_and_phone__advance_button_completes(
    open_page, admin, finance_domain, finance_tenant, phone
):
    make_fleet(finance_domain, finance_tenant, 3)
    rollout = rollout_of_three()
    drain(queues=("rollouts",))
    page = open_page(admin, phone=phone)
    page.goto("/admin/rollouts")
    page.click(f"a[href='/admin/rollouts/{rollout.pk}']")
    page.wait_for_url(f"**/admin/rollouts/{rollout.pk}")
    assert page.locator(".rollout-wave").count() == 2
    shot(page, "rollout-detail-phone" if phone else "rollout-detail")  # baking, with controls
    page.click("button[data-action=advance]")
    page.wait_for_url(f"**/admin/rollouts/{rollout.pk}")
    drain(queues=("rollouts",))
    page.reload()
    assert "COMPLETED" in page.inner_text("h1")
    assert page.locator("#rollout-tenants tbody tr").count() == 3
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= (390 if phone else 1366) + 1, width
    assert console_failures(page) == []
