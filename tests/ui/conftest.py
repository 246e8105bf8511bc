"""Browser-session helpers for the page tests: a Django test client logged in as an actor, and
for the browser tests one Chromium per module (Playwright) with pages logged in at desktop or
phone size, with or without JavaScript."""

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.test import Client

from packs.services import domain_pack_import, tenant_pack_import
from tenants.principals import Principal
from tests.conftest import load_reference

HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml"}
HTMX = {"HTTP_ACCEPT": "text/html", "HTTP_HX_REQUEST": "true"}


def browser(actor=None, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    if actor is not None:
        client.force_login(actor.user)
    return client


def seed_demo_packs():
    """TENANT_FINANCE_001 and the demo's two packs, imported (not activated)."""
    from tenants.services import tenant_create

    system = Principal.system("setup")
    tenant_create(principal=system, tenant_id="TENANT_FINANCE_001", name="Finance Corp")
    domain = domain_pack_import(
        principal=system, content=load_reference("domain_capital_markets.json"), version="v3.2"
    ).pack
    tenant = tenant_pack_import(
        principal=system,
        tenant_id="TENANT_FINANCE_001",
        content=load_reference("tenant_finance_001.json"),
        version="v1.4",
    ).pack
    return domain, tenant


@pytest.fixture
def demo_packs(db):
    return seed_demo_packs()


@pytest.fixture
def demo_active(demo_packs):
    from governance.services import config_activate

    config_activate(
        principal=Principal.system("setup"),
        tenant_id="TENANT_FINANCE_001",
        domain="CapitalMarketsTrading",
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    )
    return demo_packs


@pytest.fixture
def finance_tenant_row_id(db):
    from tenants.services import tenant_create

    tenant_create(principal=Principal.system("setup"), tenant_id="TENANT_FINANCE_001", name="F")
    return "TENANT_FINANCE_001"


# --- Chromium (tests marked `browser`) -----------------------------------------------------------

# Screenshots refresh docs/screens only on request (`make screens`): a plain test run must leave
# the checkout as it found it.
SCREENS = Path(os.environ.get("SCREENS_DIR") or Path(tempfile.gettempdir()) / "onboarding-screens")
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def _chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread while the module runs; the tests'
    # own ORM calls (fixtures, database flushes) are plain synchronous code, so Django's
    # async-safety guard would be a false alarm. Restored when the module is done.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as driver:
            browser_ = driver.chromium.launch(
                executable_path=_chromium_path(),
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            yield browser_
            browser_.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def open_page(chromium, live_server):
    """open_page(actor, phone=False, js=True): a logged-in page (at /admin/tenants). Dialogs of
    the browser itself (alert, confirm) are dismissed and recorded in `page.dialogs_seen`,
    console errors in `page.console_errors`."""
    contexts = []

    def make(actor, *, phone: bool = False, js: bool = True, login_shot: str | None = None):
        options = {"base_url": live_server.url, "java_script_enabled": js}
        if phone:
            options.update(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        else:
            options.update(viewport=DESKTOP)
        context = chromium.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.dialogs_seen = []
        page.console_errors = []
        page.on(
            "dialog", lambda dialog: (page.dialogs_seen.append(dialog.message), dialog.dismiss())
        )
        page.on(
            "console",
            lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        if actor is None:
            return page
        page.goto("/login")
        if login_shot:
            shot(page, login_shot)
        page.fill("input[name=username]", actor.username)
        page.fill("input[name=password]", "pw-" + actor.username)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/admin/tenants"))
        return page

    yield make
    for context in contexts:
        # Let requests in flight finish first: the live server would otherwise still be writing
        # while the test database is flushed. ("networkidle" is no such wait: a loaded page has
        # reached it long before; htmx marks the element of a request in flight.)
        for page in context.pages:
            with contextlib.suppress(Exception):  # a page that never settles is closed anyway
                page.wait_for_function(
                    "() => document.querySelector('.htmx-request') === null", timeout=5000
                )
        context.close()


def shot(page, name: str) -> None:
    """A screenshot for docs/screens/ (the docs show the pages as the tests leave them)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def console_failures(page) -> list[str]:
    """Console errors other than refused requests (a CSP violation is a failure)."""
    return [e for e in page.console_errors if "Failed to load resource" not in e]
