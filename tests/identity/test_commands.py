"""Commands act as real people (DESIGN §15, issue 21): `--actor` names an active user holding the
role the action needs (else exit non-zero, nothing written); their audit rows record where they
came from."""

import io
import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from audit.models import AuditEvent
from tests.conftest import make_actor
from tests.db_state import db_state
from tests.runtime_config.activation_helpers import domain_pack, tenant_pack

ACTIVATE = ("activate", "--tenant", "TENANT_A", "--domain-version", "v3.2", "--tenant-version")


@pytest.fixture
def packs(tenant_a, finance_domain, finance_tenant):
    domain_pack(finance_domain)
    tenant_pack(finance_tenant, version="v1.4")


@pytest.mark.parametrize(
    "actor", ["not-a-real-user", "platform-viewer", "deactivated", "outsider-b", ""]
)
def test_activate__actor_not_an_admin_of_the_tenant__exit_1_nothing_written(
    packs, viewer, outsider, actor
):
    make_actor("deactivated", "ADMIN")
    get_user_model().objects.filter(username="deactivated").update(is_active=False)
    before = db_state()
    with pytest.raises(CommandError) as err:
        call_command(*ACTIVATE, "v1.4", "--actor", actor, stdout=io.StringIO())
    assert err.value.returncode == 1
    assert "--actor" in str(err.value)
    assert db_state() == before


def test_activate__real_admin__audit_row_records_command_os_user_host(packs, owner):
    out = io.StringIO()
    call_command(*ACTIVATE, "v1.4", "--actor", "owner-a", stdout=out)
    row = AuditEvent.objects.get(action="config.activated")
    assert row.actor == "owner-a"
    via = row.details["via"]
    assert via["command"] == "activate" and via["host"] == socket.gethostname()
    assert via["os_user"]


def test_import_packs__unknown_actor__exit_1_nothing_written(db, tmp_path):
    before = db_state()
    with pytest.raises(CommandError):
        call_command("import_packs", str(tmp_path), "--actor", "ghost", stdout=io.StringIO())
    assert db_state() == before


def test_issue_token__audit_row_records_via(db):
    call_command("issue_token", "ops", "--role", "VIEWER", stdout=io.StringIO())
    row = AuditEvent.objects.get(action="token.created")
    assert row.details["via"]["command"] == "issue_token"


def test_seed_demo__without_debug__refused_nothing_written(db):
    before = db_state()
    with override_settings(DEBUG=False), pytest.raises(CommandError) as err:
        call_command("seed_demo", stdout=io.StringIO())
    assert "DEBUG" in str(err.value)
    assert db_state() == before


@pytest.mark.parametrize(
    "path",
    [
        "/django-admin/auth/user/{user}/change/",
        "/django-admin/auth/user/{user}/delete/",
        "/django-admin/tenants/rolebinding/{binding}/change/",
        "/django-admin/tenants/rolebinding/{binding}/delete/",
        "/django-admin/identity/apitoken/{token}/delete/",
        "/django-admin/identity/apitoken/add/",
    ],
)
def test_django_admin__governed_rows__read_only_nothing_written(admin, viewer, path):
    get_user_model().objects.filter(pk=admin.user.pk).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin.user)
    url = path.format(
        user=viewer.user.pk,
        binding=viewer.user.role_bindings.get().pk,
        token=viewer.user.api_tokens.get().pk,
    )
    before = db_state()
    response = client.post(url, {"post": "yes", "is_active": "", "role": "ADMIN"})
    assert response.status_code == 403
    assert db_state() == before


def test_django_admin__user_list__readable(admin):
    get_user_model().objects.filter(pk=admin.user.pk).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin.user)
    assert client.get("/django-admin/auth/user/").status_code == 200


def test_issue_token__role_binding__audited_role_granted(tenant_a):
    call_command(
        "issue_token", "ops", "--role", "ADMIN", "--tenant", "TENANT_A", stdout=io.StringIO()
    )
    row = AuditEvent.objects.get(action="role.granted")
    assert (row.tenant_id, row.details["via"]["command"]) == ("TENANT_A", "issue_token")
    call_command(
        "issue_token", "ops", "--role", "ADMIN", "--tenant", "TENANT_A", stdout=io.StringIO()
    )
    assert AuditEvent.objects.filter(action="role.granted").count() == 1  # unchanged: no row
