"""View tests of the page door: every page and partial, read-only pages for viewers, tenant
isolation, CSRF on page writes, and writes through the same services as the API."""

import re

import pytest
from django.test import Client

from packs.models import DomainPack, PlaybookLink, TenantPack
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from tenants.models import Tenant
from tenants.principals import Principal
from tests.ui.conftest import HTML, HTMX, browser

DEMO = "TENANT_FINANCE_001"
DOMAIN = "CapitalMarketsTrading"

PAGES = {
    "/admin/tenants": "Tenants",
    f"/admin/tenants/{DEMO}": "Activation history",
    f"/admin/tenants/{DEMO}/activations": "Activation history of",
    "/admin/packs": "Domain Packs",
    "/admin/packs?tab=tenant": "Tenant Packs",
    "/admin/packs/domain": "Domain Packs",
    f"/admin/packs/tenant/{DEMO}": "Tenant Packs",
    f"/admin/packs/domain/{DOMAIN}/v3.2": "Version history",
    f"/admin/packs/tenant/{DEMO}/v1.4": "Version history",
    f"/admin/packs/domain/{DOMAIN}/diff": "grouped by section",
    f"/admin/packs/tenant/{DEMO}/diff": "grouped by section",
    "/admin/packs/schema/domain": "JSON Schema",
    f"/admin/playbooks?tenant_id={DEMO}": "SETTLEMENT_FAIL",
    "/admin/config-changes": "change requests",
    "/admin/audit": "Audit trail",
    "/ops": "Live behaviour",
    f"/runtime/tenants/{DEMO}/config": "Effective configuration",
}
WRITE_MARKERS = (
    'method="post" action="/admin',
    "hx-post=",
    "data-dialog-open",
    "Create tenant",
    "Import a",
)


def html(response) -> str:
    return response.content.decode()


# --- every page --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", list(PAGES))
def test_page__admin_browser__renders_html_with_key_content(url, admin, demo_active):
    response = browser(admin).get(url, **HTML)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert PAGES[url] in html(response)
    assert "<script>" not in html(response)  # CSP: every script is a static file


# /ops stays usable: evaluating is a read (no state changes), open to VIEWERs like the API.
@pytest.mark.parametrize("url", [u for u in PAGES if not u.startswith(("/runtime", "/ops"))])
def test_page__viewer__has_no_write_controls(url, viewer, demo_active):
    response = browser(viewer).get(url, **HTML)
    assert response.status_code == 200
    body = html(response)
    main = body[body.index("<main") :]
    for marker in WRITE_MARKERS:
        assert marker not in main, marker


@pytest.mark.parametrize("url", ["/admin/tenants", "/admin/packs", "/ops", "/admin/audit"])
def test_page__anonymous_browser__redirects_to_login(url, db):
    response = Client().get(url, **HTML)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_page__anonymous_htmx__401_with_hx_redirect(db):
    response = Client().get("/admin/tenants", **HTMX)
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/login?next=")


def test_page__rest_client__still_gets_json(admin, tenant_a):
    response = browser(admin).get("/admin/tenants", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["count"] == 1


def test_page__security_headers__csp_forbids_inline_scripts_and_framing(admin, db):
    response = browser(admin).get("/admin/tenants", **HTML)
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert 'hx-headers=\'{"X-CSRFToken": "' in html(response)
    assert "includeIndicatorStyles" in html(response)


def test_login__valid_password__lands_on_tenants(admin):
    client = Client()
    response = client.post(
        "/login", {"username": admin.username, "password": "pw-" + admin.username}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/tenants"
    assert client.get("/", **HTML).status_code == 200  # the home page (console/home.py)


def test_login__wrong_password__shows_error(admin):
    response = Client().post("/login", {"username": admin.username, "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in html(response)


def test_logout__post__ends_the_session(admin):
    client = browser(admin)
    assert client.post("/logout").status_code == 302
    assert client.get("/admin/tenants", **HTML)["Location"].startswith("/login")


# --- tenant isolation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/tenants/TENANT_B",
        "/admin/tenants/TENANT_B/activations",
        "/admin/packs/tenant/TENANT_B",
        "/admin/packs/tenant/TENANT_B/v1.0",
        "/admin/packs/tenant/TENANT_B/diff",
        "/admin/playbooks?tenant_id=TENANT_B",
    ],
)
def test_page__other_tenant__404(url, owner, tenant_b):
    response = browser(owner).get(url, **HTML)
    assert response.status_code == 404
    assert "Tenant B" not in html(response)  # the name would prove the tenant exists


def test_tenant_list__tenant_bound_principal__sees_only_its_tenant(owner, tenant_b):
    body = html(browser(owner).get("/admin/tenants", **HTML))
    assert "TENANT_A" in body
    assert "TENANT_B" not in body


def test_audit__tenant_bound_principal__sees_only_its_events(owner, tenant_b, admin):
    from tenants.services import tenant_set_status

    tenant_set_status(principal=admin.principal, tenant_id="TENANT_B", status="SUSPENDED")
    body = html(browser(owner).get("/admin/audit", **HTML))
    assert "TENANT_B" not in body


# --- partials ------------------------------------------------------------------------------------


def test_tenant_table_partial__htmx_filter__returns_only_the_table(admin, tenant_a, tenant_b):
    response = browser(admin).get(
        "/admin/tenants?search=TENANT_B&sort=-tenant_id", HTTP_HX_TARGET="tenants-table", **HTMX
    )
    body = html(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="tenants-table"')
    assert "TENANT_B" in body and "TENANT_A" not in body
    assert 'aria-sort="descending"' in body


def test_tenant_table__sort_and_pagination_links__keep_the_filters(admin, db):
    for index in range(30):
        Tenant.objects.create(tenant_id=f"T{index:03d}", name=f"N{index}", created_by="x")
    body = html(browser(admin).get("/admin/tenants?status=ACTIVE", **HTML))
    assert "page 1 of 2" in body
    assert "status=ACTIVE&amp;page=2" in body
    assert re.search(r'href="/admin/tenants\?status=ACTIVE&amp;sort=-tenant_id"', body)


def test_tenant_table__no_match__empty_state(admin, tenant_a):
    body = html(browser(admin).get("/admin/tenants?search=zzz", **HTML))
    assert "No tenants match these filters." in body


def test_packs_table_partial__htmx__returns_only_the_table(admin, demo_packs):
    response = browser(admin).get(
        "/admin/packs?tab=domain&status=DRAFT", HTTP_HX_TARGET="packs-table", **HTMX
    )
    assert html(response).lstrip().startswith('<div id="packs-table"')
    assert "v3.2" in html(response)


def test_audit_drawer_partial__htmx__event_details(admin, demo_packs):
    from audit.models import AuditEvent

    event = AuditEvent.objects.filter(action="pack.imported").first()
    response = browser(admin).get(f"/admin/audit?event={event.pk}", **HTMX)
    assert response.status_code == 200
    assert '<dialog class="drawer" data-autoopen' in html(response)
    assert event.hash in html(response)


def test_audit_csv_link__format_csv__streams_csv(admin, demo_packs):
    response = browser(admin).get("/admin/audit?format=csv", **HTML)
    assert response.status_code == 200
    assert "csv" in response["Content-Type"]


def test_ops_panel_partial__tenant_change__returns_the_form(admin, demo_active):
    response = browser(admin).get(f"/ops?tenant_id={DEMO}", HTTP_HX_TARGET="ops-panel", **HTMX)
    body = html(response)
    assert body.lstrip().startswith('<div id="ops-panel"')
    assert "SETTLEMENT_FAIL" in body


# --- writes ---------------------------------------------------------------------------------------


def test_tenant_create__without_csrf_token__403_and_nothing_written(admin, db):
    client = browser(admin, csrf=True)
    response = client.post("/admin/tenants", {"tenant_id": "T_NEW", "name": "New"}, **HTML)
    assert response.status_code == 403
    assert b"security token" in response.content  # the error page of the layout
    assert b"/static/js/app.js" in response.content
    assert not Tenant.objects.filter(tenant_id="T_NEW").exists()


def test_tenant_create__with_csrf_token__creates_and_redirects(admin, db):
    client = browser(admin, csrf=True)
    client.get("/admin/tenants", **HTML)
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/admin/tenants",
        {"tenant_id": "T_NEW", "name": "New", "csrfmiddlewaretoken": token},
        **HTML,
    )
    assert response.status_code == 303
    assert response["Location"] == "/admin/tenants/T_NEW"
    assert Tenant.objects.get(tenant_id="T_NEW").created_by == admin.username


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (f"/admin/tenants/{DEMO}/status", {"status": "SUSPENDED"}),
        (f"/admin/packs/domain/{DOMAIN}/v3.2/status", {"status": "DEPRECATED"}),
        ("/admin/packs/activate", {"tenant_id": DEMO, "domain_pack_version": "v3.2"}),
        (f"/admin/tenants/{DEMO}/rollback", {}),
        ("/admin/playbooks/links", {"tenant_id": DEMO, "playbook_id": "SETTLEMENT_FAIL"}),
        ("/ops/exceptions/evaluate", {"tenant_id": DEMO, "exception_type": "SETTLEMENT_FAIL"}),
    ],
)
def test_page_write__without_csrf_token__403(url, data, admin, demo_packs):
    response = browser(admin, csrf=True).post(url, data, **HTMX)
    # htmx gets the page door's problem (a toast), not Django's own HTML 403 page.
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "csrf_failed"
    assert Tenant.objects.get(tenant_id=DEMO).status == "ACTIVE"
    assert DomainPack.objects.get(version="v3.2").status == "DRAFT"
    assert not TenantActiveConfig.objects.exists()
    assert not PlaybookLink.objects.exists()


def test_tenant_create__invalid_id__inline_error_and_nothing_written(admin, db):
    response = browser(admin).post("/admin/tenants", {"tenant_id": "-bad", "name": "X"}, **HTMX)
    assert response.status_code == 400
    body = html(response)
    assert 'id="tenant-create"' in body
    assert 'aria-invalid="true"' in body
    assert not Tenant.objects.exists()


def test_tenant_create__existing_id__inline_409(admin, tenant_a):
    response = browser(admin).post("/admin/tenants", {"tenant_id": "TENANT_A", "name": "X"}, **HTMX)
    assert response.status_code == 409
    assert "already exists" in html(response)


def test_tenant_create__viewer__403_problem_and_nothing_written(viewer, db):
    response = browser(viewer).post("/admin/tenants", {"tenant_id": "T_V", "name": "X"}, **HTMX)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert not Tenant.objects.exists()


def test_tenant_status__htmx_post__suspends_and_redirects(admin, tenant_a):
    response = browser(admin).post(
        "/admin/tenants/TENANT_A/status", {"status": "SUSPENDED"}, **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/admin/tenants/TENANT_A"
    assert Tenant.objects.get(pk="TENANT_A").status == "SUSPENDED"


def test_tenant_status__member_viewer__403_problem(member):
    response = browser(member).post(
        "/admin/tenants/TENANT_A/status", {"status": "SUSPENDED"}, **HTMX
    )
    assert response.status_code == 403
    assert response.json()["code"] == "admin_required"
    assert Tenant.objects.get(pk="TENANT_A").status == "ACTIVE"


def test_tenant_status__outsider__404(outsider, tenant_a):
    response = browser(outsider).post(
        "/admin/tenants/TENANT_A/status", {"status": "SUSPENDED"}, **HTMX
    )
    assert response.status_code == 404
    assert Tenant.objects.get(pk="TENANT_A").status == "ACTIVE"


def test_tenant_policy__post__sets_four_eyes(admin, tenant_a):
    browser(admin).post("/admin/tenants/TENANT_A", {"require_activation_approval": "true"}, **HTMX)
    assert Tenant.objects.get(pk="TENANT_A").require_activation_approval is True


def test_validate__legacy_pack__report_with_paths_and_nothing_written(admin, db):
    from tests.conftest import REFERENCE

    text = (REFERENCE / "domain_healthcare_legacy.json").read_text()
    response = browser(admin).post(
        "/admin/packs/validate", {"pack_type": "domain", "content": text}, **HTMX
    )
    assert response.status_code == 200
    body = html(response)
    assert "Invalid" in body and "/severityRules/0/if" in body
    assert not DomainPack.objects.exists()


def test_validate__finance_domain__valid_with_self_test_warning(admin, db):
    from tests.conftest import REFERENCE

    with open(REFERENCE / "domain_capital_markets.json", "rb") as upload:
        response = browser(admin).post(
            "/admin/packs/validate", {"pack_type": "domain", "file": upload}, **HTMX
        )
    body = html(response)
    assert "Valid" in body and "self_test_failed" in body and "/testSuites/0" in body


def test_import__legacy_pack__400_inline_errors_nothing_stored(admin, db):
    from tests.conftest import REFERENCE

    text = (REFERENCE / "domain_healthcare_legacy.json").read_text()
    response = browser(admin).post("/admin/packs/domain/import", {"content": text}, **HTMX)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Import refused" in html(response) and "/playbooks/0/exceptionType" in html(response)
    assert not DomainPack.objects.exists()


def test_import__malformed_json__inline_intake_error(admin, db):
    response = browser(admin).post(
        "/admin/packs/domain/import", {"content": '{"a": 1, "a": 2}'}, **HTMX
    )
    assert response.status_code == 400
    assert "duplicate_key" in html(response)
    assert not DomainPack.objects.exists()


def test_import__domain_and_tenant__stored_and_table_refresh_triggered(
    admin, finance_tenant_row_id, finance_domain
):
    import json

    response = browser(admin).post(
        "/admin/packs/domain/import",
        {"content": json.dumps(finance_domain), "version": "v3.2"},
        **HTMX,
    )
    assert response.status_code == 201
    assert response["HX-Trigger"] == "packs-changed"
    assert "Imported" in html(response)
    assert DomainPack.objects.get().version == "v3.2"


def test_import__tenant_pack_of_other_tenant__404_nothing_stored(owner, tenant_b, finance_tenant):
    import json

    response = browser(owner).post(
        "/admin/packs/tenant/import",
        {"tenant_id": "TENANT_B", "content": json.dumps(finance_tenant)},
        **HTMX,
    )
    assert response.status_code == 404
    assert not TenantPack.objects.exists()


def test_import__viewer__403(viewer, finance_domain):
    import json

    response = browser(viewer).post(
        "/admin/packs/domain/import", {"content": json.dumps(finance_domain)}, **HTMX
    )
    assert response.status_code == 403
    assert not DomainPack.objects.exists()


def test_activate__dry_run__preview_dialog_names_the_change(admin, demo_packs):
    response = browser(admin).post(
        "/admin/packs/activate",
        {
            "tenant_id": DEMO,
            "domain_pack": f"{DOMAIN}::v3.2",
            "tenant_pack_version": "v1.4",
            "dry_run": "true",
        },
        **HTMX,
    )
    body = html(response)
    assert response.status_code == 200
    assert "<dialog" in body and "data-autoopen" in body
    assert f"Activate {DOMAIN} v3.2 and tenant pack v1.4 for {DEMO}" in body
    assert not TenantActiveConfig.objects.exists()


def test_activate__dry_run_without_js__full_confirmation_page(admin, demo_packs):
    response = browser(admin).post(
        "/admin/packs/activate",
        {"tenant_id": DEMO, "domain_pack": f"{DOMAIN}::v3.2", "dry_run": "true"},
        **HTML,
    )
    assert response.status_code == 200
    assert "Confirm activation" in html(response) and "<html" in html(response)


def test_activate__confirmed__applies_and_redirects(admin, demo_packs):
    response = browser(admin).post(
        "/admin/packs/activate",
        {
            "tenant_id": DEMO,
            "domain": DOMAIN,
            "domain_pack_version": "v3.2",
            "tenant_pack_version": "v1.4",
            "expected_revision": "0",
        },
        **HTMX,
    )
    assert response["HX-Redirect"] == f"/admin/tenants/{DEMO}"
    config = TenantActiveConfig.objects.get()
    assert (config.domain_pack.version, config.tenant_pack.version) == ("v3.2", "v1.4")


def test_activate__incompatible_pair__problem_toast_and_nothing_written(
    admin, demo_packs, acme_domain
):
    from packs.services import domain_pack_import

    domain_pack_import(principal=admin.principal, content=acme_domain, version="v9.0")
    response = browser(admin).post(
        "/admin/packs/activate",
        {
            "tenant_id": DEMO,
            "domain": DOMAIN,
            "domain_pack_version": "v9.0",
            "tenant_pack_version": "v1.4",
        },
        **HTMX,
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"]
    assert not TenantActiveConfig.objects.exists()


def test_activate__viewer__403(viewer, demo_packs):
    response = browser(viewer).post(
        "/admin/packs/activate", {"tenant_id": DEMO, "domain_pack_version": "v3.2"}, **HTMX
    )
    assert response.status_code == 403
    assert not TenantActiveConfig.objects.exists()


def test_pack_status__deprecate_in_use__409_problem(admin, demo_active):
    response = browser(admin).post(
        f"/admin/packs/domain/{DOMAIN}/v3.2/status", {"status": "DEPRECATED"}, **HTMX
    )
    assert response.status_code == 409
    assert response.json()["code"] == "pack_in_use"
    assert DomainPack.objects.get().status == "ACTIVE"


def test_pack_status__draft_to_deprecated__applies(admin, demo_packs):
    response = browser(admin).post(
        f"/admin/packs/tenant/{DEMO}/v1.4/status", {"status": "DEPRECATED"}, **HTMX
    )
    assert response.status_code == 200
    assert TenantPack.objects.get().status == "DEPRECATED"


def test_rollback__confirmed__reactivates_previous_revision(admin, demo_active, finance_domain):
    from governance.services import config_activate
    from packs.services import domain_pack_import

    domain_pack_import(principal=admin.principal, content=finance_domain, version="v3.3")
    config_activate(principal=admin.principal, tenant_id=DEMO, domain_pack_version="v3.3")
    response = browser(admin).post(f"/admin/tenants/{DEMO}/rollback", {"to_revision": "1"}, **HTMX)
    assert response.status_code == 200
    config = TenantActiveConfig.objects.get()
    assert (config.revision, config.domain_pack.version) == (3, "v3.2")


def test_playbook_link_and_unlink__admin__through_the_pages(admin, demo_active):
    client = browser(admin)
    client.post(
        "/admin/playbooks/links", {"tenant_id": DEMO, "playbook_id": "SETTLEMENT_FAIL"}, **HTMX
    )
    link = PlaybookLink.objects.get()
    body = html(client.get(f"/admin/playbooks?tenant_id={DEMO}", **HTML))
    assert f"/admin/playbooks/links/{link.pk}" in body
    client.post(f"/admin/playbooks/links/{link.pk}", **HTMX)
    assert not PlaybookLink.objects.exists()


def test_playbook_unlink__outsider__404(outsider, admin, demo_active):
    browser(admin).post(
        "/admin/playbooks/links", {"tenant_id": DEMO, "playbook_id": "SETTLEMENT_FAIL"}, **HTMX
    )
    link = PlaybookLink.objects.get()
    response = browser(outsider).post(f"/admin/playbooks/links/{link.pk}", **HTMX)
    assert response.status_code == 404
    assert PlaybookLink.objects.exists()


def test_evaluate__settlement_fail__decision_partial(admin, demo_active):
    response = browser(admin).post(
        "/ops/exceptions/evaluate",
        {"tenant_id": DEMO, "exception_type": "SETTLEMENT_FAIL", "payload": "{}"},
        **HTMX,
    )
    body = html(response)
    assert response.status_code == 200
    assert "HIGH" in body and "Not required" in body and "v3.2" in body


def test_evaluate__viewer__reads_the_decision(viewer, demo_active):
    response = browser(viewer).post(
        "/ops/exceptions/evaluate",
        {"tenant_id": DEMO, "exception_type": "POSITION_BREAK", "payload": "{}"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "CRITICAL" in html(response) and "Required" in html(response)


def test_evaluate__payload_not_json__failure_in_place_of_the_decision(admin, demo_active):
    response = browser(admin).post(
        "/ops/exceptions/evaluate",
        {"tenant_id": DEMO, "exception_type": "SETTLEMENT_FAIL", "payload": "[1,"},
        **HTMX,
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    body = html(response)
    assert "Evaluation failed" in body and "/payload" in body
    assert 'class="decision"' not in body


def test_evaluate__payload_not_json_without_js__ops_page_with_the_failure(admin, demo_active):
    response = browser(admin).post(
        "/ops/exceptions/evaluate",
        {"tenant_id": DEMO, "exception_type": "SETTLEMENT_FAIL", "payload": "[1,"},
        **HTML,
    )
    assert response.status_code == 400
    assert "Live behaviour" in html(response) and "Evaluation failed" in html(response)


def test_evaluate__other_tenant__404(outsider, demo_active):
    response = browser(outsider).post(
        "/ops/exceptions/evaluate",
        {"tenant_id": DEMO, "exception_type": "SETTLEMENT_FAIL"},
        **HTMX,
    )
    assert response.status_code == 404


# --- approvals ---------------------------------------------------------------------------------


@pytest.fixture
def pending_request(admin, demo_packs):
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=True)
    response = browser(admin).post(
        "/admin/packs/activate",
        {
            "tenant_id": DEMO,
            "domain": DOMAIN,
            "domain_pack_version": "v3.2",
            "tenant_pack_version": "v1.4",
        },
        **HTMX,
    )
    assert response.status_code == 200
    return ConfigChangeRequest.objects.get()


def test_changes_page__own_request__no_approve_button_and_four_eyes_note(admin, pending_request):
    body = html(browser(admin).get("/admin/config-changes", **HTML))
    assert "another ADMIN must approve it" in body
    assert f"/admin/config-changes/{pending_request.pk}/approve" not in body
    assert f"/admin/config-changes/{pending_request.pk}/cancel" in body


def test_changes_page__second_admin__can_approve(second_admin, pending_request):
    client = browser(second_admin)
    body = html(client.get("/admin/config-changes", **HTML))
    assert f"/admin/config-changes/{pending_request.pk}/approve" in body
    response = client.post(f"/admin/config-changes/{pending_request.pk}/approve", **HTMX)
    assert response.status_code == 200
    assert ConfigChangeRequest.objects.get().status == "APPLIED"
    assert TenantActiveConfig.objects.get().domain_pack.version == "v3.2"


def test_changes_page__self_approval_forced__403(admin, pending_request):
    response = browser(admin).post(f"/admin/config-changes/{pending_request.pk}/approve", **HTMX)
    assert response.status_code == 403
    assert response.json()["code"] == "self_approval"
    assert ConfigChangeRequest.objects.get().status == "PENDING"


def test_changes_page__reject_and_cancel(admin, second_admin, pending_request):
    browser(second_admin).post(f"/admin/config-changes/{pending_request.pk}/reject", **HTMX)
    assert ConfigChangeRequest.objects.get().status == "REJECTED"


def test_changes_page__viewer__sees_requests_read_only(viewer, pending_request):
    body = html(browser(viewer).get("/admin/config-changes", **HTML))
    assert "PENDING" in body
    assert "/approve" not in body and "/reject" not in body and "/cancel" not in body


# --- escaping ------------------------------------------------------------------------------------


def test_escaping__hostile_tenant_name__escaped_in_table_and_detail(admin, db):
    from tenants.services import tenant_create

    tenant_create(principal=admin.principal, tenant_id="T_X", name='"><img src=x onerror=alert(1)>')
    for url in ("/admin/tenants", "/admin/tenants/T_X", "/admin/audit"):
        body = html(browser(admin).get(url, **HTML))
        assert "<img src=x" not in body, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in body, url


def test_import__without_javascript__full_page_with_the_report(admin, db):
    from tests.conftest import REFERENCE

    text = (REFERENCE / "domain_healthcare_legacy.json").read_text()
    response = browser(admin).post("/admin/packs/domain/import", {"content": text}, **HTML)
    assert response.status_code == 400
    body = html(response)
    assert "<html" in body and "Import refused" in body and "/severityRules/0/if" in body
    assert not DomainPack.objects.exists()


def test_packs_page__tenant_bound_admin__sees_only_its_tenant_packs(
    owner, tenant_b, finance_tenant
):
    import copy

    from packs.services import tenant_pack_create

    for tenant_id in ("TENANT_A", "TENANT_B"):
        content = copy.deepcopy(finance_tenant)
        content["tenantId"] = tenant_id
        tenant_pack_create(
            principal=Principal.system("setup"),
            tenant_id=tenant_id,
            version="v1.0",
            content=content,
        )
    body = html(browser(owner).get("/admin/packs?tab=tenant", **HTML))
    assert "/admin/packs/tenant/TENANT_A/v1.0" in body
    assert "TENANT_B" not in body
    # Domain packs are platform-wide: a tenant ADMIN gets no domain import panel.
    body = html(browser(owner).get("/admin/packs?tab=domain", **HTML))
    assert "Import a domain pack" not in body


def test_logout__get__asks_with_a_post_form(admin):
    response = browser(admin).get("/logout", **HTML)
    assert response.status_code == 200
    assert 'method="post" action="/logout"' in html(response)


# --- odd query values (issue 13, item 9) ---


@pytest.mark.parametrize("page", ["0", "-1", "abc", "\u00b2", "1.5", "9" * 30])
@pytest.mark.parametrize("headers", [HTML, HTMX], ids=["page", "htmx"])
def test_tables__malformed_page_number__400_invalid_page(admin, tenant_a, page, headers):
    for url in ("/admin/tenants", "/admin/audit", "/admin/config-changes", "/admin/packs"):
        response = browser(admin).get(url, {"page": page}, **headers)
        assert response.status_code == 400, (url, response.content[:300])
        if headers is HTMX:
            assert response.json()["code"] == "invalid_page"
            assert response.json()["errors"][0]["path"] == "/page"


def test_tables__page_past_the_end__shows_the_last_page(admin, tenant_a):
    response = browser(admin).get("/admin/tenants", {"page": "999"}, **HTML)
    assert response.status_code == 200
    assert "TENANT_A" in html(response)


@pytest.mark.parametrize("event", ["\u00b2", "\u0661", "1_0", "-1", "9" * 40, "0x1"])
@pytest.mark.parametrize("headers", [HTML, HTMX], ids=["page", "htmx"])
def test_audit__event_id_not_an_integer__404_not_500(admin, demo_packs, event, headers):
    response = browser(admin).get("/admin/audit", {"event": event}, **headers)
    assert response.status_code == 404, response.content[:300]
    if headers is HTMX:
        assert response.json()["code"] == "audit_event_not_found"


def test_tenant_create__approval_off_while_required_globally__inline_409(admin, db):
    from tenants.models import PlatformSettings

    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})

    response = browser(admin).post(
        "/admin/tenants",
        {"tenant_id": "T_NEW", "name": "X", "require_activation_approval": "false"},
        **HTMX,
    )

    assert response.status_code == 409
    assert "second ADMIN" in html(response)
    assert not Tenant.objects.exists()
