"""Platform settings in the database (DESIGN §14, issue 15): one `platform_settings` row that
every process, command and worker reads; the environment variable only seeds it. Switching
approval on applies at once, switching it off is a change request for another platform ADMIN."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.db import connection

from audit.models import AuditEvent
from governance.services import activation_requires_approval
from runtime_config.models import ConfigChangeRequest, TenantActiveConfig
from tenants.models import PlatformSettings
from tests.api.conftest import assert_problem, send
from tests.ops.test_commands import finance_folder, run  # noqa: F401 (fixture)
from tests.runtime_config.activation_helpers import review_url
from tests.ui.conftest import HTML, browser

URL = "/admin/platform/settings"


def _set_row(value: bool) -> None:
    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": value})


def _env(monkeypatch, value: bool) -> None:
    # Straight onto the settings object: no setting_changed signal, so the row stays as it is.
    monkeypatch.setattr(django_settings, "PACK_ACTIVATION_REQUIRES_APPROVAL", value)


def _row() -> bool:
    return PlatformSettings.objects.get(pk=1).require_activation_approval


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- the row and who reads it ----------------------------------------------------------------


@pytest.mark.parametrize("env", [True, False])
def test_migration_seed__env_value__copied_into_the_row(db, monkeypatch, env):
    migration = importlib.import_module(
        "tenants.migrations.0005_platform_settings_and_suspension_scope"
    )
    PlatformSettings.objects.all().delete()
    _env(monkeypatch, env)
    migration.seed_settings(django_apps, SimpleNamespace(connection=connection))
    assert _row() is env
    # A second run (re-migration) keeps what an operator set since.
    _set_row(not env)
    migration.seed_settings(django_apps, SimpleNamespace(connection=connection))
    assert _row() is (not env)


@pytest.mark.parametrize(("row", "env"), [(True, False), (False, True)])
def test_activation_requires_approval__row_and_env_differ__row_wins(
    tenant_a, monkeypatch, row, env
):
    _set_row(row)
    _env(monkeypatch, env)
    assert activation_requires_approval(tenant_a) is row


def test_import_packs_activate__row_on_env_off__request_waits(db, monkeypatch, finance_folder):  # noqa: F811
    from tests.conftest import make_tenant

    make_tenant("TENANT_FINANCE_001")
    (finance_folder / "domain_healthcare_legacy.json").unlink()
    (finance_folder / "tenant_healthcare_042_legacy.json").unlink()
    _set_row(True)
    _env(monkeypatch, False)
    code, out = run("import_packs", "--activate", "--actor", "ops-bot", str(finance_folder))
    assert code == 0, out
    assert TenantActiveConfig.objects.count() == 0
    assert ConfigChangeRequest.objects.get().status == "PENDING"


# --- GET/PATCH /admin/platform/settings -------------------------------------------------------


def test_get__platform_admin__200_the_row(admin):
    _set_row(True)
    response = send(admin.client, "GET", URL)
    assert response.status_code == 200
    assert response.json()["require_activation_approval"] is True
    assert set(response.json()) == {"require_activation_approval", "updated_at", "updated_by"}


@pytest.mark.parametrize("who", ["owner", "viewer", "member", "nobody"])
def test_get_and_patch__not_a_platform_admin__403_nothing_written(request, who):
    actor = request.getfixturevalue(who)
    _set_row(False)
    before = _actions()
    code = "no_role" if who == "nobody" else "platform_admin_required"
    assert_problem(send(actor.client, "GET", URL), 403, code)
    body = {"require_activation_approval": True}
    assert_problem(send(actor.client, "PATCH", URL, body), 403, code)
    assert _row() is False and _actions() == before


def test_get_and_patch__anonymous__401(anon, db):
    assert_problem(send(anon, "GET", URL), 401, "not_authenticated")
    assert_problem(
        send(anon, "PATCH", URL, {"require_activation_approval": True}), 401, "not_authenticated"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"require_activation_approval": "true"}, "wrong_type"),
        ({"require_activation_approval": 1}, "wrong_type"),
        ({"require_activation_approval": None}, "wrong_type"),
        ({"require_activation_aproval": True}, "unknown_field"),
    ],
)
def test_patch__bad_body__400_nothing_written(admin, body, code):
    _set_row(False)
    before = _actions()
    assert_problem(send(admin.client, "PATCH", URL, body), 400, code)
    assert _row() is False and _actions() == before
    assert ConfigChangeRequest.objects.count() == 0


def test_patch__switch_on__200_at_once_and_audited(admin):
    _set_row(False)
    response = send(admin.client, "PATCH", URL, {"require_activation_approval": True})
    assert response.status_code == 200, response.content
    assert response.json()["require_activation_approval"] is True
    assert response.json()["updated_by"] == admin.username
    assert _row() is True
    event = AuditEvent.objects.get(action="platform.settings_changed")
    assert (event.actor, event.tenant_id) == (admin.username, None)
    assert event.details["before"]["require_activation_approval"] is False


def test_patch__same_value__200_nothing_written(admin):
    _set_row(True)
    before = _actions()
    response = send(admin.client, "PATCH", URL, {"require_activation_approval": True})
    assert response.status_code == 200 and _actions() == before


def test_patch__switch_off__202_policy_request_another_platform_admin_approves(
    admin, second_admin, owner
):
    _set_row(True)
    response = send(admin.client, "PATCH", URL, {"require_activation_approval": False})
    assert response.status_code == 202, response.content
    change = response.json()["change_request"]
    assert (change["kind"], change["status"], change["tenant_id"]) == ("policy", "PENDING", None)
    assert change["policy"] == {
        "scope": "global",
        "require_activation_approval": False,
        "from": True,
    }
    assert _row() is True
    # The requester cannot approve it; a tenant-bound ADMIN does not even see it.
    assert_problem(
        send(admin.client, "POST", review_url("approve", change["id"]), {}), 403, "self_approval"
    )
    assert_problem(
        send(owner.client, "POST", review_url("approve", change["id"]), {}),
        404,
        "change_request_not_found",
    )
    assert owner.client.get("/admin/config-changes").json()["count"] == 0
    assert _row() is True
    response = send(second_admin.client, "POST", review_url("approve", change["id"]), {})
    assert response.status_code == 200, response.content
    assert response.json()["change_request"]["status"] == "APPLIED"
    assert _row() is False
    settings_event = AuditEvent.objects.get(action="platform.settings_changed")
    assert settings_event.actor == second_admin.username
    assert settings_event.details["change_request_id"] == change["id"]
    refused = AuditEvent.objects.get(action="change_request.review_refused")
    assert (refused.actor, refused.tenant_id) == (admin.username, None)


def test_patch__switch_off_twice__older_request_superseded(admin, second_admin):
    _set_row(True)
    first = send(admin.client, "PATCH", URL, {"require_activation_approval": False}).json()
    second = send(second_admin.client, "PATCH", URL, {"require_activation_approval": False})
    assert second.status_code == 202
    old = ConfigChangeRequest.objects.get(pk=first["change_request"]["id"])
    assert (old.status, old.status_reason) == ("STALE", "superseded")
    assert ConfigChangeRequest.objects.filter(status="PENDING").count() == 1


# --- the page ---------------------------------------------------------------------------------


def test_page__platform_admin__form_and_nav_link(admin):
    _set_row(False)
    html = browser(admin).get(URL, **HTML).content.decode()
    assert "Platform settings" in html and 'name="require_activation_approval"' in html
    assert (
        'href="/admin/platform/settings"'
        in browser(admin).get("/admin/tenants", **HTML).content.decode()
    )


def test_page__tenant_admin__403_and_no_nav_link(owner):
    assert browser(owner).get(URL, **HTML).status_code == 403
    assert (
        'href="/admin/platform/settings"'
        not in browser(owner).get("/admin/tenants", **HTML).content.decode()
    )


def test_page__switch_off__awaiting_approval_shown(admin):
    _set_row(True)
    client = browser(admin)
    response = client.post(URL, {"require_activation_approval": "false"}, **HTML)
    assert response.status_code == 303
    assert _row() is True
    html = client.get(URL, **HTML).content.decode()
    assert "awaiting approval" in html
    assert ConfigChangeRequest.objects.get().policy["scope"] == "global"


def test_page__bad_value__400_nothing_written(admin):
    _set_row(True)
    response = browser(admin).post(URL, {"require_activation_approval": "maybe"}, **HTML)
    assert response.status_code == 400
    assert _row() is True and ConfigChangeRequest.objects.count() == 0
