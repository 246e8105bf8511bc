"""Browser tests of the operator console (issue 17): Debian's Chromium through Playwright at 1366
px and as a 390 px phone, against one live server and one browser for the module.

Each test names the promise it checks: exports and links follow the filters on screen, dialogs
never cut off their text, only allowed moves are offered, LIVE is the loudest state, every page
fits a phone, one history entry per user action, readable grouped diffs, and writes without
JavaScript."""

import copy
import csv
import io
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from governance.services import config_activate
from packs.services import domain_pack_import, pack_set_status, tenant_pack_import
from tenants.principals import Principal
from tests.conftest import REFERENCE, load_reference
from tests.ui.conftest import console_failures, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINANCE = "TENANT_FINANCE_001"
MARKETS = "TENANT_MARKETS_002"
DOMAIN = "CapitalMarketsTrading"


# --- the state every test starts from --------------------------------------------------------


def _finance_v33() -> dict:
    """v3.2 with a playbook inserted first and one step of SETTLEMENT_FAIL reworded: compared by
    position, every later playbook would look changed."""
    content = copy.deepcopy(load_reference("domain_capital_markets.json"))
    content["playbooks"].insert(
        0, {"exceptionType": "CASH_BREAK", "playbookId": "CASH_BREAK_FAST", "steps": []}
    )
    settlement = next(p for p in content["playbooks"] if p["exceptionType"] == "SETTLEMENT_FAIL")
    settlement["steps"][0]["action"] = "Fetch the settlement and its status history"
    return content


@pytest.fixture
def console(db):
    """FINANCE runs v3.2 + v1.4 (v1.5 ACTIVE but not live, SETTLEMENT_FAIL linked); MARKETS runs
    v3.3; v4.0 (the acme pack) is a DRAFT, v3.1 DEPRECATED."""
    from packs.services import playbook_link_create
    from tenants.services import tenant_create

    system = Principal.system("setup")
    tenant_create(principal=system, tenant_id=FINANCE, name="Finance Corp")
    tenant_create(principal=system, tenant_id=MARKETS, name="Markets Ltd")
    finance_domain = load_reference("domain_capital_markets.json")
    domain_pack_import(principal=system, content=finance_domain, version="v3.1")
    pack_set_status(
        principal=system, pack_type="domain", domain=DOMAIN, version="v3.1", status="DEPRECATED"
    )
    domain_pack_import(principal=system, content=finance_domain, version="v3.2")
    domain_pack_import(principal=system, content=_finance_v33(), version="v3.3")
    domain_pack_import(
        principal=system, content=load_reference("domain_capital_markets_acme.json"), version="v4.0"
    )
    tenant_content = load_reference("tenant_finance_001.json")
    for version in ("v1.4", "v1.5"):
        tenant_pack_import(
            principal=system,
            tenant_id=FINANCE,
            content=tenant_content,
            version=version,
            domain_pack_version="v3.2",
        )
    for tenant_version in ("v1.5", "v1.4"):
        config_activate(
            principal=system,
            tenant_id=FINANCE,
            domain=DOMAIN,
            domain_pack_version="v3.2",
            tenant_pack_version=tenant_version,
        )
    config_activate(principal=system, tenant_id=MARKETS, domain=DOMAIN, domain_pack_version="v3.3")
    playbook_link_create(principal=system, tenant_id=FINANCE, playbook_id="SETTLEMENT_FAIL")
    return system


def _pending_request(requester) -> None:
    """A change request of FINANCE (to v3.3) waiting for a second ADMIN."""
    from governance.services import tenant_set_approval_policy

    tenant_set_approval_policy(
        principal=Principal.system("setup"), tenant_id=FINANCE, require_activation_approval=True
    )
    outcome = config_activate(
        principal=requester.principal,
        tenant_id=FINANCE,
        domain=DOMAIN,
        domain_pack_version="v3.3",
        tenant_pack_version="v1.4",
    )
    assert outcome.status == "pending"


def _rows(page, table: str = "#audit-table") -> list[str]:
    return page.locator(f"{table} tbody tr").all_inner_texts()


def _history_length(page) -> int:
    return page.evaluate("history.length")


def _applied(page, pattern: str) -> None:
    """Wait until the URL shows `pattern` and no htmx request is in flight any more: an Apply
    after a select also fires the form's `change` request, and under load either may be the one
    that lands (the other is replaced or deduplicated). "networkidle" is no such condition (a
    loaded page has reached it long before) and neither is the URL alone (the later request may
    still be on its way)."""
    page.wait_for_url(re.compile(pattern))
    page.wait_for_function("() => document.querySelector('.htmx-request') === null")


# --- 1, 7: exports, links and history follow what is on screen --------------------------------


def test_audit__htmx_apply__csv_has_exactly_the_rows_on_screen(open_page, admin, console):
    page = open_page(admin)
    page.goto("/admin/audit")
    total = page.locator("#audit-table tbody tr").count()
    page.select_option(".filter-bar select[name=action]", "config.activated")
    page.click(".filter-bar button:has-text('Apply')")
    page.wait_for_function(
        "n => document.querySelectorAll('#audit-table tbody tr').length < n", arg=total
    )
    on_screen = page.locator("#audit-table tbody tr td:nth-child(3)").all_inner_texts()
    assert on_screen and set(on_screen) == {"config.activated"}

    href = page.locator("#audit-table a:has-text('Export CSV')").get_attribute("href")
    assert "action=config.activated" in href and "format=csv" in href
    response = page.request.get(href)
    assert response.ok
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert len(rows) == len(on_screen)
    assert {row["action"] for row in rows} == {"config.activated"}
    # Every link built from the filters keeps them: sorting, and the CSV after a sort too.
    for link in page.locator("#audit-table thead a.sort").all():
        assert "action=config.activated" in link.get_attribute("href")
    page.locator("#audit-table thead a.sort:has-text('Actor')").click()
    page.wait_for_selector("#audit-table th[aria-sort='ascending']")
    href = page.locator("#audit-table a:has-text('Export CSV')").get_attribute("href")
    assert "action=config.activated" in href
    assert len(list(csv.DictReader(io.StringIO(page.request.get(href).text())))) == len(on_screen)


def test_audit__each_apply_and_sort__one_history_entry_and_reload_shows_the_same(
    open_page, admin, console
):
    page = open_page(admin)
    page.goto("/admin/audit")
    start = _history_length(page)

    page.select_option(".filter-bar select[name=tenant_id]", FINANCE)
    page.click(".filter-bar button:has-text('Apply')")
    _applied(page, r"tenant_id=TENANT_FINANCE_001")
    assert _history_length(page) == start + 1
    assert "action=" not in page.url  # empty filters stay out of the URL

    page.fill(".filter-bar input[name=version]", "v1.4")
    page.click(".filter-bar button:has-text('Apply')")
    _applied(page, r"version=v1.4")
    assert _history_length(page) == start + 2

    page.locator("#audit-table thead a.sort:has-text('Action')").click()
    page.wait_for_selector("#audit-table th[aria-sort='ascending'] >> text=Action")
    _applied(page, r"sort=action")
    assert _history_length(page) == start + 3
    assert "version=v1.4" in page.url and "tenant_id=TENANT_FINANCE_001" in page.url

    # Applying a filter after sorting keeps the sort: the URL is still the screen.
    page.select_option(".filter-bar select[name=object_type]", "tenant_active_config")
    page.click(".filter-bar button:has-text('Apply')")
    _applied(page, r"object_type=tenant_active_config")
    assert _history_length(page) == start + 4
    assert "sort=action" in page.url
    rows = _rows(page)
    assert rows and all("config.activated" in row for row in rows)
    page.reload()
    assert _rows(page) == rows
    sorted_by = page.locator("#audit-table th[aria-sort='ascending']").inner_text()
    assert sorted_by.lower().startswith("action")
    page.go_back()
    # The URL before going back has `sort=action` too: wait for the one without the filter.
    page.wait_for_url(lambda url: "sort=action" in url and "object_type" not in url)


def test_audit__version_filter__finds_the_tenant_pack_activations(open_page, admin, console):
    page = open_page(admin)
    page.goto("/admin/audit?version=v1.4")
    actions = page.locator("#audit-table tbody tr td:nth-child(3)").all_inner_texts()
    assert "config.activated" in actions and "pack.imported" in actions


def test_audit__summary_column__wraps_between_words_only(open_page, admin, console):
    page = open_page(admin)
    page.goto("/admin/audit")
    split = page.evaluate(
        """() => {
        const split = [];
        for (const cell of document.querySelectorAll('#audit-table tbody td:nth-child(7)')) {
          const text = cell.firstChild;
          if (!text || text.nodeType !== Node.TEXT_NODE) continue;
          const re = /\\S+/g; let m;
          while ((m = re.exec(text.data))) {
            const range = document.createRange();
            range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
            const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
            if (lines.size > 1) split.push(m[0]);
          }
        }
        return split;
      }"""
    )
    assert split == []


# --- 2, 6: dialogs keep their text, and fit a phone -------------------------------------------


def _dialog_overflow(page) -> list[str]:
    """Elements of the open dialog wider than their box (text cut off or pushed outside)."""
    return page.evaluate(
        """() => {
        const dialog = document.querySelector('dialog[open]');
        const bad = [];
        const box = dialog.getBoundingClientRect();
        if (dialog.scrollWidth > dialog.clientWidth + 1) bad.push('dialog scrolls sideways');
        if (box.left < 0 || box.right > window.innerWidth) bad.push('dialog outside the viewport');
        for (const el of dialog.querySelectorAll('*')) {
          const style = getComputedStyle(el);
          if (style.display === 'none' || el.type === 'hidden') continue;
          if (style.whiteSpace === 'nowrap' && el.matches('p, h2, .confirm-message')) {
            bad.push('nowrap: ' + el.textContent.slice(0, 40));
          }
          if (el.scrollWidth > el.clientWidth + 1 && style.overflowX === 'visible'
              && !el.matches('table, thead, tbody, tr, td, th, pre, code')) {
            bad.push(el.tagName + ': ' + el.textContent.slice(0, 40));
          }
          const r = el.getBoundingClientRect();
          if (r.width && (r.right > box.right + 1 || r.left < box.left - 1)
              && !el.closest('.table-scroll, .diff')) {
            bad.push('outside: ' + el.tagName + ' ' + el.textContent.slice(0, 40));
          }
        }
        return bad;
      }"""
    )


CONFIRM_PAGES = (
    "/admin/tenants",
    f"/admin/tenants/{FINANCE}",
    "/admin/packs?tab=domain",
    "/admin/packs?tab=tenant",
    f"/admin/packs/domain/{DOMAIN}/v3.3",
    f"/admin/playbooks?tenant_id={FINANCE}",
    "/admin/config-changes",
)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_confirm_dialogs__every_dialog_on_every_page__content_fits_its_box(
    open_page, admin, second_admin, console, phone
):
    _pending_request(second_admin)
    page = open_page(admin, phone=phone)
    opened = 0
    for url in CONFIRM_PAGES:
        page.goto(url)
        triggers = page.locator("main [data-dialog-open]")
        for index in range(triggers.count()):
            trigger = triggers.nth(index)
            trigger.scroll_into_view_if_needed()
            trigger.click()
            dialog = page.locator("dialog[open]")
            dialog.wait_for()
            assert _dialog_overflow(page) == [], (url, trigger.inner_text())
            message = dialog.locator(".confirm-message")
            assert message.is_visible() and len(message.inner_text()) > 20
            if phone and opened == 0:
                shot(page, "mobile-confirm-dialog")
            dialog.locator("[data-dialog-close]").tap() if phone else page.keyboard.press("Escape")
            page.wait_for_selector("dialog[open]", state="detached", timeout=3000)
            opened += 1
    assert opened >= 10
    assert console_failures(page) == []


def test_dialog__esc__focus_returns_to_the_opener(open_page, admin, console):
    page = open_page(admin)
    page.goto(f"/admin/tenants/{FINANCE}")
    trigger = page.locator(".page-head [data-dialog-open]").first
    trigger.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog[open]", state="detached")
    opener = trigger.get_attribute("data-dialog-open")
    page.wait_for_function(
        "(name) => document.activeElement.getAttribute('data-dialog-open') === name",
        arg=opener,
        timeout=5_000,
    )
    # A dialog brought by a request (the activation preview) gives focus back to its button.
    preview = page.locator("button:has-text('Preview activation')")
    preview.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#activate-dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('#activate-dialog[open]')")
    # The dialog's close event (which moves focus back) is a task queued after the dialog
    # closes, so wait for it rather than read focus at once.
    page.wait_for_function(
        "() => (document.activeElement.textContent || '').startsWith('Preview activation')",
        timeout=5_000,
    )


def test_skip_link__first_tab__jumps_to_the_content(open_page, admin, console):
    page = open_page(admin)
    page.goto("/admin/packs")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


# --- 3, 4: LIVE is loud, moves are honest -------------------------------------------------------


def test_packs_list__a_tenants_live_versions__identifiable_from_the_list_alone(
    open_page, viewer, console
):
    page = open_page(viewer)
    page.goto("/admin/packs?tab=domain")
    rows = page.locator("#packs-table tbody tr")
    live = rows.filter(has=page.locator(f".live-badge:text-is('LIVE · {FINANCE}')"))
    assert live.count() == 1 and "v3.2" in live.inner_text()
    # Three versions are ACTIVE; only the badge says which one FINANCE is served.
    assert rows.filter(has_text="ACTIVE").count() == 2  # v3.2, v3.3 (v3.1 DEPRECATED, v4.0 DRAFT)
    assert page.get_by_text("Mark active").count() == 0
    shot(page, "packs-live")

    page.goto("/admin/packs?tab=tenant")
    rows = page.locator("#packs-table tbody tr")
    assert rows.filter(has_text="ACTIVE").count() == 2  # v1.4 and v1.5
    live = rows.filter(has=page.locator(f".live-badge:text-is('LIVE · {FINANCE}')"))
    assert live.count() == 1 and "v1.4" in live.inner_text()
    # Louder than the lifecycle badge: a solid fill, heavier type.
    weights = page.evaluate(
        """() => [document.querySelector('.live-badge'), document.querySelector('.badge-lifecycle')]
            .map(e => [getComputedStyle(e).fontWeight, getComputedStyle(e).backgroundColor])"""
    )
    assert int(weights[0][0]) > int(weights[1][0])
    assert weights[1][1] in ("rgba(0, 0, 0, 0)", "transparent")

    page.goto(f"/admin/packs/domain/{DOMAIN}/v3.2")
    assert page.locator(".page-head .live-banner").inner_text().startswith(f"LIVE · {FINANCE}")


def test_pack_moves__refused_ones__disabled_with_the_reason_before_any_click(
    open_page, admin, console
):
    page = open_page(admin)
    page.goto("/admin/packs?tab=domain")
    row = page.locator("#packs-table tbody tr", has_text="v3.2")
    button = row.locator("button:text-is('Deprecate')")
    assert button.is_disabled()
    reason = row.locator(".refusal").inner_text()
    assert f"Live for {FINANCE}" in reason
    assert button.get_attribute("aria-describedby") == row.locator(".refusal").get_attribute("id")
    deprecated = page.locator("#packs-table tbody tr", has_text="v3.1")
    assert deprecated.locator("[data-dialog-open]:text-is('Restore')").count() == 1
    assert deprecated.locator("button:has-text('Activate')").count() == 0
    draft = page.locator("#packs-table tbody tr", has_text="v4.0")
    assert draft.locator("[data-dialog-open]:text-is('Deprecate')").count() == 1

    # Allowed: deprecate the DRAFT through its dialog; the row says so afterwards.
    draft.locator("[data-dialog-open]:text-is('Deprecate')").click()
    page.locator("dialog[open] button[type=submit]").click()
    page.wait_for_selector(".toast-success:has-text('now DEPRECATED')")
    row = page.locator("#packs-table tbody tr", has_text="v4.0")
    assert "DEPRECATED" in row.inner_text()


def test_stale_page__refused_write__toast_says_why(open_page, admin, console):
    """A page older than the state: the service refuses, the toast says why."""
    page = open_page(admin)
    page.goto("/admin/packs?tab=domain")
    config_activate(
        principal=Principal.system("setup"),
        tenant_id=MARKETS,
        domain=DOMAIN,
        domain_pack_version="v4.0",
    )
    row = page.locator("#packs-table tbody tr", has_text="v4.0")
    row.locator("[data-dialog-open]:text-is('Deprecate')").click()
    page.locator("dialog[open] button[type=submit]").click()
    toast = page.locator(".toast-error")
    toast.wait_for()
    assert MARKETS in toast.inner_text()
    assert page.locator("dialog[open]").count() == 0


# --- 5, 8, 9, 11: in-place answers -------------------------------------------------------------


def test_ops__failed_evaluate__clears_the_decision_and_shows_the_error_in_place(
    open_page, admin, console
):
    page = open_page(admin)
    page.goto(f"/ops?tenant_id={FINANCE}")
    page.select_option("select[name=exception_type]", "SETTLEMENT_FAIL")
    page.click("button:has-text('Evaluate')")
    page.wait_for_selector("#decision .decision")
    page.fill("textarea[name=payload]", "[1,")
    page.click("button:has-text('Evaluate')")
    page.wait_for_selector("#decision .report-invalid")
    assert page.locator("#decision .decision").count() == 0
    assert "/payload" in page.inner_text("#decision")
    assert page.locator(".toast-error").count() == 0
    # Another tenant: the previous tenant's decision is gone too.
    page.fill("textarea[name=payload]", "{}")
    page.click("button:has-text('Evaluate')")
    page.wait_for_selector("#decision .decision")
    page.select_option("select[name=tenant_id]", MARKETS)
    page.wait_for_selector("#decision .empty-state")
    assert f"tenant_id={MARKETS}" in page.url  # the URL says which tenant is shown


def test_playbooks__tenant_chosen_with_apply__link_panel_appears(open_page, admin, console):
    page = open_page(admin)
    page.goto("/admin/playbooks")
    assert page.locator("text=Link a playbook").count() == 0
    page.select_option(".filter-bar select[name=tenant_id]", FINANCE)
    page.click(".filter-bar button:has-text('Apply')")
    page.wait_for_selector(f"h2:has-text('Link a playbook to {FINANCE}')")
    assert page.locator("#playbooks-table tbody tr").count() > 0
    page.reload()
    assert page.locator(f"h2:has-text('Link a playbook to {FINANCE}')").count() == 1


def test_create_tenant__bad_id__one_human_message_and_nothing_moves(open_page, admin, console):
    from tenants.models import Tenant

    page = open_page(admin)
    form = page.locator("#tenant-create")
    placeholder = form.locator("input[name=tenant_id]").get_attribute("placeholder")
    assert not Tenant.objects.filter(tenant_id__iexact=placeholder).exists()
    boxes = [
        form.locator(selector).bounding_box()
        for selector in ("input[name=tenant_id]", "input[name=name]", "button[type=submit]")
    ]
    form.locator("input[name=tenant_id]").fill("bad id!")
    form.locator("input[name=name]").fill("Bad")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#tenant-create input[aria-invalid=true]")
    form = page.locator("#tenant-create")
    text = page.inner_text("main")
    assert "letters, digits" in text
    assert text.count("letters, digits") == 1
    assert "^[" not in text and "{1,63}" not in text
    after = [
        form.locator(selector).bounding_box()
        for selector in ("input[name=tenant_id]", "input[name=name]", "button[type=submit]")
    ]
    for before, now in zip(boxes, after, strict=True):
        assert abs(before["y"] - now["y"]) < 1 and abs(before["x"] - now["x"]) < 1
    # An existing id: said once too, in words.
    form.locator("input[name=tenant_id]").fill(FINANCE.lower())
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#tenant-create .field-error:has-text('already exists')")
    assert page.inner_text("main").count("already exists") == 1


def test_activation_preview__blocked__speaks_ui_and_links_the_fix(open_page, admin, console):
    page = open_page(admin)
    page.goto(f"/admin/tenants/{FINANCE}")
    page.select_option("select[name=domain_pack]", f"{DOMAIN}::v4.0")
    page.select_option("select[name=tenant_pack_version]", "")
    page.click("button:has-text('Preview activation')")
    dialog = page.locator("#activate-dialog")
    dialog.wait_for(state="visible")
    text = dialog.inner_text()
    assert dialog.locator("h2").inner_text() == "Activation blocked"
    assert "DELETE" not in text and "/admin/playbooks/links" not in text
    assert "Playbook link 1" not in text
    assert "Linked playbook SETTLEMENT_FAIL" in text
    fix = dialog.locator("a:has-text('Open the Playbooks page')")
    assert fix.get_attribute("href") == f"/admin/playbooks?tenant_id={FINANCE}"
    assert dialog.locator("button[type=submit]").count() == 0
    shot(page, "activation-blocked")
    fix.click()
    page.wait_for_url(re.compile(r"/admin/playbooks\?tenant_id="))


def test_tenant_page__nothing_active__no_keep_current(open_page, admin, console):
    from tenants.services import tenant_create

    tenant_create(principal=Principal.system("setup"), tenant_id="TENANT_NEW_003", name="New")
    page = open_page(admin)
    page.goto("/admin/tenants/TENANT_NEW_003")
    assert page.get_by_text("Keep current").count() == 0
    page.goto(f"/admin/tenants/{FINANCE}")
    assert page.locator("option:has-text('Keep current (v3.2)')").count() == 1


# --- 10: diffs ----------------------------------------------------------------------------------


def test_diff__inserted_playbook__matched_by_identity_grouped_filterable_side_by_side(
    open_page, viewer, console
):
    page = open_page(viewer)
    page.goto(f"/admin/packs/domain/{DOMAIN}/diff?from=v3.2&to=v3.3")
    sections = page.locator(".diff-section > summary").all_inner_texts()
    # Only the inserted playbook and the reworded step: nothing paired by position.
    assert len(sections) == 1 and sections[0].startswith("playbooks")
    assert "1 changed" in sections[0].lower() and "1 added" in sections[0].lower()
    rows = page.locator(".diff-table tbody tr")
    assert rows.count() == 2
    changed = rows.filter(has_text="changed")
    assert "SETTLEMENT_FAIL" in changed.inner_text() and "(was /playbooks/" in changed.inner_text()
    assert "unchanged section" in page.inner_text(".diff-unchanged summary")
    shot(page, "pack-diff")

    page.goto(f"/admin/packs/domain/{DOMAIN}/diff?from=v3.2&to=v4.0")
    total = page.locator(".diff-table tbody tr").count()
    page.fill("input[name=path]", "/playbooks")
    page.select_option("select[name=view]", "side")
    page.click("button:has-text('Compare')")
    page.wait_for_selector(".diff-side")
    assert "path=%2Fplaybooks" in page.url and "view=side" in page.url
    pairs = page.locator(".diff-pair")
    assert 0 < pairs.count() < total
    assert all("/playbooks" in text for text in page.locator(".diff-where code").all_inner_texts())
    shot(page, "pack-diff-side")


# --- 6: every page at 390 px -------------------------------------------------------------------


def _page_paths(samples: dict[str, str]) -> list[str]:
    """Every path the URLconf serves to browsers, filled with sample values. A new page with a
    parameter this test does not know fails here: add a sample for it."""

    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, route)
            elif isinstance(pattern, URLPattern) and callable(
                getattr(pattern.callback, "page", None)
            ):
                yield route

    paths = []
    for route in walk(get_resolver()):

        def fill(match, route=route):
            name = match.group(2)
            key = f"tenant:{name}" if route.startswith("admin/packs/tenant/") else name
            assert key in samples or name in samples, f"no sample value for <{name}> in {route}"
            return samples.get(key, samples.get(name))

        paths.append("/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route))
    return paths


def test_every_page__390px_phone__nothing_wider_than_the_screen(
    open_page, admin, second_admin, console
):
    from audit.models import AuditEvent
    from governance.services import platform_settings_update, tenant_set_approval_policy
    from impact.services import sample_set_replace
    from packs.models import PlaybookLink
    from runtime_config.models import ConfigChangeRequest
    from tenants.models import PlatformSettings, RoleBinding
    from webhooks.services import webhook_create

    _pending_request(second_admin)
    # The sample set page shows its lines, long ones included; the review page its impact.
    sample_set_replace(
        principal=admin.principal,
        tenant_id=FINANCE,
        data=b'{"exception_type": "CASH_BREAK", "payload": {"note": "'
        + b"x" * 400
        + b'"}}\n{"exception_type": "POSITION_BREAK", "payload": {}}\n',
    )
    # Policy requests too: the tenant page's and the settings page's "awaiting approval" lines,
    # and their rows on the approvals page.
    tenant_set_approval_policy(
        principal=second_admin.principal, tenant_id=FINANCE, require_activation_approval=False
    )
    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})
    platform_settings_update(principal=second_admin.principal, require_activation_approval=False)
    hook = webhook_create(
        principal=admin.principal, url="https://hooks.example.com/in", events=["config.activated"]
    )
    samples = {
        "tenant_id": FINANCE,
        "pack_type": "domain",
        "domain": DOMAIN,
        "version": "v3.2",
        "tenant:version": "v1.4",
        "link_id": str(PlaybookLink.objects.first().pk),
        "id": str(ConfigChangeRequest.objects.exclude(kind="policy").first().pk),
        "webhook_id": str(hook.subscription.pk),
        "delivery_id": "1",
        # Pages added since (audit event page, people): a real row of each.
        "event_id": str(AuditEvent.objects.order_by("pk").first().pk),
        "username": admin.username,
        "binding_id": str(RoleBinding.objects.filter(user=admin.user).first().pk),
        "token_id": "1",  # the page or its 404: both must fit
    }
    paths = _page_paths(samples)
    assert len(paths) > 25
    paths += [
        "/admin/packs?tab=tenant",
        f"/admin/packs/domain/{DOMAIN}/diff?from=v3.2&to=v4.0",
        f"/admin/packs/domain/{DOMAIN}/diff?from=v3.2&to=v4.0&view=side",
        "/admin/audit?event=1",
        f"/admin/tenants/{FINANCE}/rollback?to_revision=1",
        "/",
        "/no/such/page",
        "/logout",
    ]
    page = open_page(admin, phone=True)
    too_wide = {}
    for path in paths:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[path] = width
    # The no-JS confirm page, reached from a trigger's own link.
    page.goto("/admin/config-changes")
    page.goto(page.locator("[data-dialog-open]").first.get_attribute("href"))
    assert page.locator(".confirm-page").count() == 1
    if page.evaluate("document.documentElement.scrollWidth") > 390:
        too_wide["/confirm"] = page.evaluate("document.documentElement.scrollWidth")
    assert too_wide == {}
    anonymous = open_page(None, phone=True)
    anonymous.goto("/login")
    assert anonymous.evaluate("document.documentElement.scrollWidth") <= 390


def test_top_bar__390px__wraps_every_link_reachable_and_name_readable(open_page, admin, console):
    page = open_page(admin, phone=True)
    page.goto("/admin/tenants")
    for link in page.locator(".topbar a, .topbar button").all():
        box = link.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
    ratio = page.evaluate(
        """() => {
        const lum = c => { const [r, g, b] = c.match(/\\d+/g).slice(0, 3).map(Number).map(v => {
            v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const name = document.querySelector('.who-name');
        let el = name, bg = 'rgba(0, 0, 0, 0)';
        while (el && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
          bg = getComputedStyle(el).backgroundColor; el = el.parentElement; }
        const name_box = name.getBoundingClientRect(), bar = document.querySelector('.topbar')
          .getBoundingClientRect();
        if (name_box.bottom > bar.bottom) return 0;
        const [a, b] = [lum(getComputedStyle(name).color), lum(bg)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
      }"""
    )
    assert ratio >= 4.5
    shot(page, "mobile-tenants")
    page.goto(f"/admin/tenants/{FINANCE}")
    shot(page, "mobile-tenant-detail")


def test_dialog_buttons__phone__tappable(open_page, admin, console):
    from runtime_config.models import TenantActiveConfig

    page = open_page(admin, phone=True)
    page.goto(f"/admin/tenants/{FINANCE}")
    page.select_option("select[name=domain_pack]", f"{DOMAIN}::v3.3")
    page.locator("button:has-text('Preview activation')").tap()
    dialog = page.locator("#activate-dialog")
    dialog.wait_for(state="visible")
    button = dialog.locator("button[type=submit]")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["x"] + box["width"] <= 390
    shot(page, "mobile-activation-preview")
    button.tap()
    page.wait_for_selector(".toast-success:has-text('Activated')")
    assert TenantActiveConfig.objects.get(tenant_id=FINANCE).domain_pack.version == "v3.3"


def test_placeholders__every_input__not_cut_off(open_page, admin, console):
    page = open_page(admin)
    cut = []
    for url in (
        "/admin/tenants",
        "/admin/packs?tab=domain",
        "/admin/packs?tab=tenant",
        "/admin/audit",
        f"/admin/packs/domain/{DOMAIN}/diff",
        "/admin/playbooks",
    ):
        page.goto(url)
        cut += page.evaluate(
            """url => {
            const canvas = document.createElement('canvas').getContext('2d');
            const cut = [];
            for (const input of document.querySelectorAll('input[placeholder]')) {
              const style = getComputedStyle(input);
              canvas.font = style.font;
              const room = input.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
              if (canvas.measureText(input.placeholder).width > room) {
                cut.push(url + ' ' + input.name + ': ' + input.placeholder);
              }
            }
            return cut;
          }""",
            url,
        )
    assert cut == []


def test_not_found__browser__styled_error_page(open_page, admin, console):
    page = open_page(admin)
    response = page.goto("/admin/nope/nothing")
    assert response.status == 404
    assert page.locator(".error-page h1").inner_text() == "Not found"
    assert page.locator(".topbar nav a").count() >= 6
    shot(page, "error-404")
    response = page.goto(f"/admin/packs/domain/{DOMAIN}/v9.9")
    assert response.status == 404
    assert page.locator(".error-page").count() == 1


def test_pack_size__one_way_everywhere(open_page, viewer, console):
    page = open_page(viewer)
    page.goto("/admin/packs?tab=domain")
    row = page.locator("#packs-table tbody tr", has_text="v3.2")
    in_list = row.locator("td:nth-child(6)").inner_text()
    page.goto(f"/admin/packs/domain/{DOMAIN}/v3.2")
    in_detail = page.locator("dl.props dd").filter(has_text=re.compile(r"\d\s(KB|bytes)"))
    assert in_detail.inner_text() == in_list
    assert re.fullmatch(r"\d+(\.\d)?\sKB", in_list)
    assert "KB" not in page.inner_text(".code-toolbar")


# --- 13: writes without JavaScript --------------------------------------------------------------


def test_without_javascript__admin_imports_activates_and_approves(
    open_page, admin, second_admin, db
):
    from governance.services import tenant_set_approval_policy
    from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
    from tenants.services import tenant_create

    system = Principal.system("setup")
    tenant_create(principal=system, tenant_id=FINANCE, name="Finance Corp")
    page = open_page(admin, js=False)

    # Import a domain pack and a tenant pack: the form posts, the page answers with the report.
    page.goto("/admin/packs?tab=domain")
    page.fill("#import-form input[name=version]", "v3.2")
    page.set_input_files(
        "#import-form input[type=file]", str(REFERENCE / "domain_capital_markets.json")
    )
    page.click("#import-form button:has-text('Import')")
    page.wait_for_selector("#import-result :text('Imported')")
    page.goto("/admin/packs?tab=tenant")
    page.select_option("#import-form select[name=tenant_id]", FINANCE)
    page.fill("#import-form input[name=version]", "v1.4")
    page.set_input_files(
        "#import-form input[type=file]", str(REFERENCE / "tenant_finance_001.json")
    )
    page.click("#import-form button:has-text('Import')")
    page.wait_for_selector("#import-result :text('Imported')")

    # Activate: the preview is a page of its own, then the confirmation posts.
    page.goto(f"/admin/tenants/{FINANCE}")
    page.select_option("select[name=domain_pack]", f"{DOMAIN}::v3.2")
    page.select_option("select[name=tenant_pack_version]", "v1.4")
    page.click("button:has-text('Preview activation')")
    page.wait_for_selector("h1:has-text('Confirm activation')")
    page.click("main button[type=submit]:has-text('Activate')")
    page.wait_for_selector(".toast-success:has-text('Activated')")
    assert TenantActiveConfig.objects.get(tenant_id=FINANCE).revision == 1

    # A ConfirmDialog's trigger is a link to the same confirmation as a page.
    page.goto("/admin/packs?tab=domain")
    page.click("#packs-table tr:has-text('v3.2') a:has-text('View')")
    assert page.locator("button:text-is('Deprecate')").is_disabled()

    # Approve: the second ADMIN's pending request, through the confirm page.
    tenant_set_approval_policy(
        principal=system, tenant_id=FINANCE, require_activation_approval=True
    )
    domain_pack_import(principal=system, content=_finance_v33(), version="v3.3")
    config_activate(
        principal=second_admin.principal,
        tenant_id=FINANCE,
        domain=DOMAIN,
        domain_pack_version="v3.3",
        tenant_pack_version="v1.4",
    )
    page.goto("/admin/config-changes?status=PENDING")
    page.click("#changes-table a:text-is('Approve')")
    page.wait_for_url(re.compile(r"/confirm\?c="))
    assert page.locator("h1").inner_text() == "Approve change request"
    assert "Approve and apply: activate CapitalMarketsTrading v3.3" in page.inner_text("main")
    shot(page, "confirm-page-nojs")
    page.fill("textarea[name=comment]", "checked without scripts")
    page.click("main button[type=submit]")
    page.wait_for_selector(".toast-success:has-text('approved and applied')")
    request = ConfigChangeRequest.objects.get()
    assert request.status == "APPLIED" and request.review_comment == "checked without scripts"
    assert TenantActiveConfig.objects.get(tenant_id=FINANCE).domain_pack.version == "v3.3"
    assert page.dialogs_seen == []


def test_confirm_page__altered_or_foreign_link__refused_and_nothing_written(
    open_page, admin, second_admin, console
):
    from packs.models import DomainPack

    page = open_page(admin, js=False)
    page.goto("/admin/packs?tab=domain")
    href = page.locator("#packs-table tr:has-text('v4.0') a:text-is('Deprecate')").get_attribute(
        "href"
    )
    # Someone else's link: refused.
    other = open_page(second_admin, js=False)
    response = other.goto(href)
    assert response.status == 400
    assert "invalid or has expired" in other.inner_text("main")
    # An altered link: refused.
    response = page.goto(href[:-3] + ("AAA" if not href.endswith("AAA") else "BBB"))
    assert response.status == 400
    assert DomainPack.objects.get(version="v4.0").status == "DRAFT"


def test_platform_settings__switch_off_waits__second_admin_approves_in_the_browser(
    open_page, admin, second_admin, console
):
    """Four-eyes on the setting itself (issue 15): the first platform ADMIN's "off" is a request
    (the page says so); the second approves it from the Approvals page."""
    from tenants.models import PlatformSettings

    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})
    page = open_page(admin)
    page.click("nav a:text-is('Settings')")
    page.wait_for_url(re.compile(r"/admin/platform/settings$"))
    page.click("main button:text-is('Request “not required” (needs a second platform ADMIN)')")
    page.wait_for_selector(".toast-success:has-text('awaits approval')")
    page.wait_for_selector("main :text('awaiting approval')")
    shot(page, "platform-settings")
    assert PlatformSettings.objects.get().require_activation_approval is True
    page.goto("/admin/config-changes?status=PENDING")
    assert page.locator("#changes-table a:text-is('Approve')").count() == 0  # own request

    reviewer = open_page(second_admin)
    reviewer.goto("/admin/config-changes?status=PENDING")
    row = reviewer.locator("#changes-table tbody tr", has_text="global activation approval")
    row.locator("[data-dialog-open]:text-is('Approve')").click()
    reviewer.locator("dialog[open] button[type=submit]").click()
    reviewer.wait_for_selector(".toast-success:has-text('approved')")
    assert PlatformSettings.objects.get().require_activation_approval is False
    reviewer.goto("/admin/platform/settings")
    assert "Not required" in reviewer.inner_text("main")
    assert console_failures(page) == [] and console_failures(reviewer) == []
