"""/admin/users on both doors (DESIGN §15): JSON for API clients, pages and no-JS forms for
browsers; every refusal a problem (or a form error) that writes nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AuditEvent
from tenants.models import PlatformSettings, RoleBinding
from tests.api.conftest import assert_problem, send
from tests.conftest import make_actor
from tests.db_state import db_state

User = get_user_model()
HTML = {"HTTP_ACCEPT": "text/html"}


def _browser(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def test_post_users__new_user__201_without_roles(admin):
    response = send(admin.client, "POST", "/admin/users", {"username": "carol", "email": "c@x.io"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "carol" and body["roles"] == [] and body["is_active"]


def test_post_users__lookalike_of_admin__409_identity_exists(admin):
    make_actor("admin")
    before = db_state()
    response = send(admin.client, "POST", "/admin/users", {"username": "adm\u0131n"})
    assert_problem(response, 409, "identity_exists")
    assert db_state() == before


def test_post_users__unknown_field__400_unknown_field(admin):
    before = db_state()
    response = send(admin.client, "POST", "/admin/users", {"username": "carol", "admin": True})
    assert_problem(response, 400, "unknown_field")
    assert db_state() == before


def test_post_users__viewer__403(viewer):
    before = db_state()
    response = send(viewer.client, "POST", "/admin/users", {"username": "carol"})
    assert_problem(response, 403, "admin_required")
    assert db_state() == before


def test_get_users__tenant_admin__sees_own_tenant_users_only(owner, member, outsider, admin):
    response = owner.client.get("/admin/users")
    names = {row["username"] for row in response.json()["results"]}
    assert "member-a" in names and "owner-a" in names
    assert "outsider-b" not in names and "platform-admin" not in names
    assert_problem(owner.client.get("/admin/users/outsider-b"), 404, "user_not_found")


def test_post_roles__grant_viewer__201_and_audit(admin, tenant_a):
    send(admin.client, "POST", "/admin/users", {"username": "carol"})
    response = send(
        admin.client,
        "POST",
        "/admin/users/carol/roles",
        {"role": "VIEWER", "tenant_id": "TENANT_A"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["tenant_id"] == "TENANT_A"
    assert AuditEvent.objects.filter(action="role.granted", tenant_id="TENANT_A").exists()
    detail = admin.client.get("/admin/users/carol").json()
    assert [r["role"] for r in detail["roles"]] == ["VIEWER"]


def test_post_roles__own_roles__403_self_grant(admin):
    before = db_state()
    response = send(admin.client, "POST", "/admin/users/platform-admin/roles", {"role": "VIEWER"})
    assert_problem(response, 403, "self_grant")
    assert db_state() == before


def test_post_roles__unknown_role__400(admin):
    send(admin.client, "POST", "/admin/users", {"username": "carol"})
    before = db_state()
    response = send(admin.client, "POST", "/admin/users/carol/roles", {"role": "ROOT"})
    assert_problem(response, 400, "invalid_choice")
    assert db_state() == before


def test_post_roles__tenant_admin_platform_role__403(owner, admin):
    send(admin.client, "POST", "/admin/users", {"username": "carol"})
    before = db_state()
    response = send(owner.client, "POST", "/admin/users/carol/roles", {"role": "VIEWER"})
    assert_problem(response, 403, "platform_admin_required")
    assert db_state() == before


def test_post_roles__tenant_admin_other_tenant__404(owner, tenant_b, admin):
    send(admin.client, "POST", "/admin/users", {"username": "carol"})
    before = db_state()
    response = send(
        owner.client,
        "POST",
        "/admin/users/carol/roles",
        {"role": "VIEWER", "tenant_id": "TENANT_B"},
    )
    assert_problem(response, 404, "tenant_not_found")
    assert db_state() == before


def test_post_roles__admin_under_four_eyes__202_access_request(admin, second_admin):
    PlatformSettings.objects.update(require_activation_approval=True)
    send(admin.client, "POST", "/admin/users", {"username": "carol"})
    response = send(admin.client, "POST", "/admin/users/carol/roles", {"role": "ADMIN"})
    assert response.status_code == 202, response.content
    change_request = response.json()["change_request"]
    assert change_request["kind"] == "access" and change_request["status"] == "PENDING"
    assert not RoleBinding.objects.filter(user__username="carol").exists()
    approve = send(
        second_admin.client, "POST", f"/admin/config-changes/{change_request['id']}/approve", {}
    )
    assert approve.status_code == 200, approve.content
    assert RoleBinding.objects.get(user__username="carol").role == "ADMIN"


def test_delete_role__other_admin__204_and_audit(admin, second_admin):
    binding = RoleBinding.objects.get(user=second_admin.user)
    response = admin.client.delete(f"/admin/users/platform-admin-2/roles/{binding.pk}")
    assert response.status_code == 204
    assert AuditEvent.objects.filter(action="role.revoked", object_id=str(binding.pk)).exists()


def test_delete_role__own_binding__403_self_grant(admin, second_admin):
    binding = RoleBinding.objects.get(user=admin.user)
    before = db_state()
    response = admin.client.delete(f"/admin/users/platform-admin/roles/{binding.pk}")
    assert_problem(response, 403, "self_grant")
    assert db_state() == before


def test_patch_user__deactivate__token_refused_and_audited(admin, member):
    response = send(admin.client, "PATCH", "/admin/users/member-a", {"is_active": False})
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert member.client.get("/admin/tenants").status_code == 401
    assert AuditEvent.objects.filter(action="user.deactivated").exists()


def test_patch_user__self__403_self_grant(admin, second_admin):
    before = db_state()
    response = send(admin.client, "PATCH", "/admin/users/platform-admin", {"is_active": False})
    assert_problem(response, 403, "self_grant")
    assert db_state() == before


# --- pages ---


def test_users_page__admin__lists_and_create_form(admin, member):
    response = _browser(admin).get("/admin/users", **HTML)
    assert response.status_code == 200
    html = response.content.decode()
    assert "member-a" in html and 'action="/admin/users"' in html


def test_users_page__create_without_js__redirects_to_user(admin):
    response = _browser(admin).post("/admin/users", {"username": "dave"}, **HTML)
    assert response.status_code == 303 and response["Location"] == "/admin/users/dave"
    assert User.objects.filter(username="dave").exists()


def test_users_page__lookalike__form_error_nothing_written(admin):
    make_actor("admin")
    before = db_state()
    response = _browser(admin).post("/admin/users", {"username": "\u0251dmin"}, **HTML)
    assert response.status_code == 409
    assert "same identity" in response.content.decode()
    assert db_state() == before


def test_user_page__grant_and_revoke_without_js(admin, tenant_a):
    browser = _browser(admin)
    browser.post("/admin/users", {"username": "erin"}, **HTML)
    response = browser.post(
        "/admin/users/erin/roles", {"role": "VIEWER", "tenant_id": "TENANT_A"}, **HTML
    )
    assert response.status_code == 303
    binding = RoleBinding.objects.get(user__username="erin")
    page = browser.get("/admin/users/erin", **HTML).content.decode()
    assert f"/admin/users/erin/roles/{binding.pk}" in page
    response = browser.post(f"/admin/users/erin/roles/{binding.pk}", {}, **HTML)
    assert response.status_code == 303
    assert not RoleBinding.objects.filter(user__username="erin").exists()


def test_user_page__deactivate_self__403_page_nothing_written(admin, second_admin):
    before = db_state()
    response = _browser(admin).post("/admin/users/platform-admin", {"op": "deactivate"}, **HTML)
    assert response.status_code == 403
    assert db_state() == before


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/platform-admin"])
def test_users_pages__anonymous__redirect_to_login(db, path):
    response = Client().get(path, **HTML)
    assert response.status_code == 302 and "/login" in response["Location"]
