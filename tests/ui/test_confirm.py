"""The ConfirmDialog's page for browsers without JavaScript (onboarding/confirm.py): the trigger
links to a signed confirmation, the page posts the same fields to the same path, and nobody can
make it say or post anything else."""

import re

import pytest
from django.core import signing

from onboarding import confirm
from packs.models import DomainPack
from tenants.models import Tenant
from tests.ui.conftest import HTML, browser

DEMO = "TENANT_FINANCE_001"


def _trigger_href(client, url: str, label: str) -> str:
    body = client.get(url, **HTML).content.decode()
    match = re.search(rf'<a class="btn[^"]*" href="(/confirm\?c=[^"]+)"[^>]*>{label}</a>', body)
    assert match, f"no {label} trigger on {url}"
    return match.group(1).replace("&amp;", "&")


def test_confirm_page__trigger_link__same_words_and_fields_posting_to_the_write(admin, demo_packs):
    client = browser(admin, csrf=True)
    href = _trigger_href(client, f"/admin/tenants/{DEMO}", "Suspend tenant")
    response = client.get(href, **HTML)
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Suspend tenant {DEMO} (Finance Corp)" in body
    assert f'action="/admin/tenants/{DEMO}/status"' in body
    assert 'name="status" value="SUSPENDED"' in body
    assert f'href="/admin/tenants/{DEMO}">Cancel' in body
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    assert Tenant.objects.get(pk=DEMO).status == "ACTIVE"  # the page itself changes nothing
    response = client.post(
        f"/admin/tenants/{DEMO}/status",
        {"csrfmiddlewaretoken": token, "status": "SUSPENDED"},
        **HTML,
    )
    assert response.status_code == 303
    assert Tenant.objects.get(pk=DEMO).status == "SUSPENDED"


def test_confirm_page__another_users_link__400_invalid_confirmation(
    admin, second_admin, demo_packs
):
    href = _trigger_href(browser(admin), f"/admin/tenants/{DEMO}", "Suspend tenant")
    response = browser(second_admin).get(href, **HTML)
    assert response.status_code == 400
    assert "invalid or has expired" in response.content.decode()


@pytest.mark.parametrize("change", ["tamper", "expire"])
def test_confirm_page__altered_or_expired__400(admin, demo_packs, monkeypatch, change):
    href = _trigger_href(browser(admin), f"/admin/tenants/{DEMO}", "Suspend tenant")
    if change == "tamper":
        href = href[:-2] + ("xx" if not href.endswith("xx") else "yy")
    else:
        monkeypatch.setattr(confirm, "MAX_AGE", -1)
    response = browser(admin).get(href, **HTML)
    assert response.status_code == 400
    assert Tenant.objects.get(pk=DEMO).status == "ACTIVE"


@pytest.mark.parametrize("action", ["https://evil.example/x", "//evil.example/x", "/\\evil"])
def test_confirm_page__signed_but_not_a_local_path__400(admin, demo_packs, action):
    payload = {
        "action": action,
        "message": "m",
        "fields": {},
        "back": "/admin/tenants",
        "u": admin.user.pk,
    }
    token = signing.dumps(payload, salt=confirm.SALT, compress=True)
    response = browser(admin).get(f"/confirm?c={token}", **HTML)
    assert response.status_code == 400


def test_confirm_page__unknown_field_in_a_signed_payload__400(admin, db):
    payload = {"action": "/admin/tenants", "message": "m", "u": admin.user.pk, "extra": 1}
    token = signing.dumps(payload, salt=confirm.SALT, compress=True)
    assert browser(admin).get(f"/confirm?c={token}", **HTML).status_code == 400


def test_confirm_page__no_token__400_and_anonymous__login(admin, client, db):
    assert browser(admin).get("/confirm", **HTML).status_code == 400
    response = client.get("/confirm?c=x", **HTML)
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_confirm_page__rest_client__406(admin, db):
    response = admin.client.get("/confirm?c=x", HTTP_ACCEPT="application/json")
    assert response.status_code == 406


def test_pack_moves__deprecate_live_pack__no_trigger_and_the_reason(admin, demo_active):
    body = browser(admin).get("/admin/packs?tab=domain", **HTML).content.decode()
    assert "Mark active" not in body
    assert re.search(r"<button[^>]*disabled[^>]*>Deprecate</button>", body)
    assert f"Live for {DEMO}: activate another version there first." in body


def test_pack_moves__deprecated_version__restore_offered(admin, demo_packs):
    from packs.services import pack_set_status

    pack_set_status(
        principal=admin.principal,
        pack_type="domain",
        domain="CapitalMarketsTrading",
        version="v3.2",
        status="DEPRECATED",
    )
    client = browser(admin, csrf=True)
    href = _trigger_href(client, "/admin/packs/domain/CapitalMarketsTrading/v3.2", "Restore")
    body = client.get(href, **HTML).content.decode()
    assert "from DEPRECATED to ACTIVE" in body
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    response = client.post(
        "/admin/packs/domain/CapitalMarketsTrading/v3.2/status",
        {"csrfmiddlewaretoken": token, "status": "ACTIVE"},
        **HTML,
    )
    assert response.status_code == 303
    assert DomainPack.objects.get(version="v3.2").status == "ACTIVE"


def test_rollback__to_a_deprecated_version__disabled_with_the_reason(admin, demo_active):
    from governance.services import config_activate
    from packs.services import domain_pack_import, pack_set_status
    from tests.conftest import load_reference

    content = load_reference("domain_capital_markets.json")
    domain_pack_import(principal=admin.principal, content=content, version="v3.3")
    config_activate(
        principal=admin.principal,
        tenant_id=DEMO,
        domain="CapitalMarketsTrading",
        domain_pack_version="v3.3",
    )
    pack_set_status(
        principal=admin.principal,
        pack_type="domain",
        domain="CapitalMarketsTrading",
        version="v3.2",
        status="DEPRECATED",
    )
    body = browser(admin).get(f"/admin/tenants/{DEMO}", **HTML).content.decode()
    assert re.search(r"<button[^>]*disabled[^>]*>Roll back</button>", body)
    assert "Domain pack v3.2 is deprecated: restore it first." in body
    assert ">Roll back</a>" not in body
