"""Hashed, named, scoped, expiring API tokens (DESIGN §15, issue 21)."""

import importlib
import io
from datetime import timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, models
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from audit.models import AuditEvent
from identity.models import ApiToken
from identity.services import token_mint
from identity.tokens import digest_of
from tests.api.conftest import assert_problem, send
from tests.conftest import make_actor
from tests.db_state import db_state

CONFIG = "/runtime/tenants/{}/config"


def _bearer(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _token(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {secret}")


def test_post_tokens__named__201_secret_once_only_hash_stored(viewer, settings):
    response = send(viewer.client, "POST", "/admin/tokens", {"name": "ci", "scope": "read"})
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["token"]
    row = ApiToken.objects.get(pk=body["id"])
    assert row.digest == digest_of(secret) and secret not in (row.digest, row.prefix)
    days = (row.expires_at - timezone.now()).days
    assert settings.TOKEN_DEFAULT_DAYS - 1 <= days <= settings.TOKEN_DEFAULT_DAYS
    assert AuditEvent.objects.filter(action="token.created").exists()
    assert secret not in str(AuditEvent.objects.filter(action="token.created").values().first())
    listed = viewer.client.get("/admin/tokens").json()["results"]
    assert "token" not in listed[0] and {t["name"] for t in listed} == {"ci", "test"}
    # Both keywords authenticate.
    assert _bearer(secret).get("/admin/tenants").status_code == 200
    assert _token(secret).get("/admin/tenants").status_code == 200


def test_post_tokens__beyond_max_lifetime__400_invalid_expires_at(viewer, settings):
    too_late = timezone.now() + timedelta(days=settings.TOKEN_MAX_DAYS + 1)
    before = db_state()
    response = send(
        viewer.client, "POST", "/admin/tokens", {"name": "ci", "expires_at": too_late.isoformat()}
    )
    assert_problem(response, 400, "invalid_expires_at")
    assert db_state() == before


def test_post_tokens__in_the_past__400_invalid_expires_at(viewer):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = send(viewer.client, "POST", "/admin/tokens", {"name": "ci", "expires_at": past})
    assert_problem(response, 400, "invalid_expires_at")


def test_expired_token__401_token_expired(viewer):
    token, secret = token_mint(user=viewer.user, name="old", created_by="t")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_problem(_token(secret).get("/admin/tenants"), 401, "token_expired")


def test_read_token__write__403_token_scope_nothing_written(admin):
    _, secret = token_mint(user=admin.user, name="ro", scope="read", created_by="t")
    assert _token(secret).get("/admin/tenants").status_code == 200
    before = db_state()
    response = send(_token(secret), "POST", "/admin/tenants", {"tenant_id": "NEW1", "name": "n"})
    assert_problem(response, 403, "token_scope")
    assert db_state() == before


def test_runtime_token__other_paths_and_tenants__403_token_scope(tenant_a, tenant_b, admin):
    _, secret = token_mint(
        user=admin.user, name="rt", scope="runtime", tenant_ids=["TENANT_A"], created_by="t"
    )
    client = _token(secret)
    # Its own tenant: allowed (no configuration active yet: 404, not a scope refusal).
    assert_problem(client.get(CONFIG.format("TENANT_A")), 404, "no_active_config")
    assert_problem(client.get(CONFIG.format("TENANT_B")), 403, "token_scope")
    assert_problem(client.get("/admin/tenants"), 403, "token_scope")


def test_runtime_token__without_tenants__400_invalid_tenant_ids(admin):
    before = db_state()
    response = send(admin.client, "POST", "/admin/tokens", {"name": "rt", "scope": "runtime"})
    assert_problem(response, 400, "invalid_tenant_ids")
    assert db_state() == before


def test_runtime_token__tenant_the_user_cannot_read__400(member, tenant_b):
    response = send(
        member.client,
        "POST",
        "/admin/tokens",
        {"name": "rt", "scope": "runtime", "tenant_ids": ["TENANT_B"]},
    )
    assert_problem(response, 400, "invalid_tenant_ids")


def test_delete_token__revoked__401_and_audited(viewer):
    token = ApiToken.objects.get(user=viewer.user)
    assert viewer.client.get("/admin/tenants").status_code == 200
    assert viewer.client.delete(f"/admin/tokens/{token.pk}").status_code == 204
    assert viewer.client.get("/admin/tenants").status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked", object_id=str(token.pk)).exists()


def test_token_use__last_used_at_recorded(viewer):
    assert ApiToken.objects.get(user=viewer.user).last_used_at is None
    viewer.client.get("/admin/tenants")
    assert ApiToken.objects.get(user=viewer.user).last_used_at is not None


def test_tenant_admin__platform_admins_token__404_nothing_written(owner, admin):
    token = ApiToken.objects.get(user=admin.user)
    before = db_state()
    response = owner.client.delete(f"/admin/tokens/{token.pk}")
    assert response.status_code in (403, 404)
    assert db_state() == before


def test_service_account__runtime_token_by_admin__works_without_login(admin, tenant_a):
    send(admin.client, "POST", "/admin/users", {"username": "svc-runtime", "service_account": True})
    send(
        admin.client,
        "POST",
        "/admin/users/svc-runtime/roles",
        {"role": "VIEWER", "tenant_id": "TENANT_A"},
    )
    response = send(
        admin.client,
        "POST",
        "/admin/tokens",
        {"name": "rt", "scope": "runtime", "tenant_ids": ["TENANT_A"], "username": "svc-runtime"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "svc-runtime"
    secret = response.json()["token"]
    assert_problem(_token(secret).get(CONFIG.format("TENANT_A")), 404, "no_active_config")
    # No password: the login form cannot sign it in.
    login = Client().post("/login", {"username": "svc-runtime", "password": ""})
    assert "_auth_user_id" not in login.client.session


def test_migration__drf_keys__hashed_and_plaintext_emptied(viewer):
    legacy = Token.objects.create(user=viewer.user)
    key = legacy.key
    migration = importlib.import_module("identity.migrations.0002_hash_drf_tokens")

    class Editor:
        connection = connection

    migration.forward(apps, Editor())
    assert not Token.objects.exists()
    row = ApiToken.objects.get(digest=digest_of(key))
    assert (row.name, row.scope, row.expires_at) == ("migrated", "write", None)
    assert _token(key).get("/admin/tenants").status_code == 200


def test_database__no_raw_token_secret_in_any_text_column(admin, viewer, tenant_a):
    """Every path that makes a secret: make_actor, the API, issue_token, a runtime token."""
    secrets = [admin.token, viewer.token]
    secrets.append(send(admin.client, "POST", "/admin/tokens", {"name": "api"}).json()["token"])
    out = io.StringIO()
    call_command("issue_token", "ops", "--role", "VIEWER", stdout=out)
    secrets.append(out.getvalue().strip())
    secrets.append(make_actor("another", "VIEWER", tenant_a).token)
    for secret in secrets:
        assert _token(secret).get("/admin/tenants").status_code == 200  # used: last_used, audit
    found = []
    for model in apps.get_models():
        columns = [
            f.column
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        if not columns:
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        select = ", ".join(connection.ops.quote_name(c) for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {select} FROM {table}")
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row if value is not None)
                found += [(model._meta.db_table, s[:6]) for s in secrets if s in text]
    assert found == []


def test_service_account__password_set_anyway__no_session(admin):
    send(admin.client, "POST", "/admin/users", {"username": "svc-x", "service_account": True})
    user = get_user_model().objects.get(username="svc-x")
    user.set_password("a-long-pass-123")
    user.save(update_fields=["password"])
    client = Client()
    assert not client.login(username="svc-x", password="a-long-pass-123")
    client.force_login(user)  # a session made anyway (e.g. by a shell) is anonymous
    assert client.get("/admin/tenants", HTTP_ACCEPT="application/json").status_code == 401
