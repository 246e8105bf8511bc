"""SSO in Chromium: the real local OpenID provider (tests/sso/conftest.py), its own login and
consent pages, the live server. Login, group mapping, logout at both ends, a tampered state,
and password login switched off."""

import re

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from sso.models import OidcIdentity
from tenants.models import RoleBinding
from tests.conftest import make_actor
from tests.sso.conftest import ACCOUNTS, start_provider, stop_provider
from tests.ui.conftest import DESKTOP, chromium, shot  # noqa: F401 (chromium: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
User = get_user_model()


@pytest.fixture(scope="module")
def browser_provider(live_server, tmp_path_factory):
    provider = start_provider(tmp_path_factory.mktemp("oidc-browser"), [live_server.url])
    yield provider
    stop_provider(provider)


@pytest.fixture
def sso_page(browser_provider, settings, chromium, live_server):  # noqa: F811
    browser_provider.configure(settings)
    contexts = []

    def make():
        context = chromium.new_context(base_url=live_server.url, viewport=DESKTOP)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in_at_provider(page, username: str) -> None:
    """From the application's login page through the provider's login and consent pages."""
    page.goto("/login")
    page.click("#sso-login")
    page.wait_for_selector("#op-sign-in")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", ACCOUNTS[username]["password"])
    page.click("#op-sign-in")
    page.wait_for_selector("#op-allow")
    page.click("#op-allow")


def test_sso_browser__admin_group__user_created_and_admin_pages_open(sso_page):
    page = sso_page()
    page.goto("/login")
    shot(page, "login-sso")
    sign_in_at_provider(page, "alice")
    page.wait_for_url(re.compile(r"/admin/tenants$"))

    assert page.locator("#tenant-create").count() == 1  # the create form is an ADMIN's
    alice = User.objects.get(username="alice")
    assert OidcIdentity.objects.filter(user=alice, subject="alice").exists()
    assert list(RoleBinding.objects.filter(user=alice).values_list("role", "tenant")) == [
        ("ADMIN", None)
    ]
    page.goto("/admin/audit")
    assert page.locator("text=user.created").count() >= 1
    assert page.locator("text=role.granted").count() >= 1


def test_sso_browser__no_mapped_group__signed_in_without_role(sso_page):
    page = sso_page()
    sign_in_at_provider(page, "bob")
    page.wait_for_url(re.compile(r"/admin/tenants$"))

    assert page.locator("#tenant-create").count() == 0
    bob = User.objects.get(username="bob")
    assert not RoleBinding.objects.filter(user=bob).exists()
    assert AuditEvent.objects.filter(action="user.created", object_id="bob").exists()
    assert not AuditEvent.objects.filter(action="role.granted").exists()


def test_sso_browser__logout__ends_session_here_and_at_provider(sso_page, live_server):
    page = sso_page()
    sign_in_at_provider(page, "alice")
    page.wait_for_url(re.compile(r"/admin/tenants$"))

    page.goto("/logout")
    page.click("form[action='/logout'] button[type=submit]")
    page.click("button[name=logout]")  # the provider's "Yes, sign me out"
    page.wait_for_url(f"{live_server.url}/login*")

    page.goto("/admin/tenants")
    assert "/login" in page.url
    # The provider's session ended too: signing in again asks for the password again.
    page.click("#sso-login")
    page.wait_for_selector("#op-sign-in")


def test_sso_browser__tampered_state__400_page_and_no_user(sso_page):
    page = sso_page()

    def tamper(route):
        # The redirect to the provider, with another state than the one kept in the session: the
        # provider sends that state back, and the callback must refuse it.
        response = route.fetch(max_redirects=0)
        headers = dict(response.headers)
        headers["location"] = re.sub(r"state=[^&]+", "state=tampered", headers["location"])
        route.fulfill(response=response, headers=headers)

    page.route(re.compile(r".*/oidc/login$"), tamper)
    sign_in_at_provider(page, "alice")
    page.wait_for_selector("#problem-code")

    assert page.locator("#problem-code").inner_text() == "oidc_state_mismatch"
    assert page.locator(".error-status").inner_text() == "400"
    assert not User.objects.filter(username="alice").exists()
    assert not AuditEvent.objects.exists()
    shot(page, "sso-state-refused")


def test_sso_browser__local_login_off__password_refused(sso_page, settings):
    actor = make_actor("local-admin", "ADMIN")
    page = sso_page()
    page.goto("/login")
    page.fill("input[name=username]", actor.username)
    page.fill("input[name=password]", "pw-local-admin")
    settings.LOCAL_LOGIN = False  # switched off while the page was open

    page.click("form[action='/login'] button[type=submit]")

    page.wait_for_selector("#problem-code")
    assert page.locator("#problem-code").inner_text() == "local_login_disabled"
    page.goto("/login")
    assert page.locator("input[name=password]").count() == 0
    assert page.locator("#sso-login").count() == 1
    page.goto("/admin/tenants")
    assert "/login" in page.url
