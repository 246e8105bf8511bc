import io

import pytest
from django.core.management import CommandError, call_command

from identity.models import ApiToken
from identity.tokens import digest_of
from tenants.models import RoleBinding


def _issue(*args) -> str:
    out = io.StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_issue_token__new_user__prints_only_the_token():
    printed = _issue("ops", "--role", "ADMIN")
    token = ApiToken.objects.get(user__username="ops")
    assert token.digest == digest_of(printed.strip()) and token.name == "issue_token"
    assert printed.count("\n") == 1
    binding = RoleBinding.objects.get(user__username="ops")
    assert (binding.role, binding.tenant_id) == ("ADMIN", None)


def test_issue_token__again_with_tenant__binds_tenant_and_adds_a_token(tenant_a):
    first = _issue("ops", "--role", "VIEWER", "--tenant", "TENANT_A")
    second = _issue("ops", "--role", "ADMIN", "--tenant", "TENANT_A")
    assert first != second
    assert ApiToken.objects.filter(user__username="ops").count() == 2
    binding = RoleBinding.objects.get(user__username="ops")
    assert (binding.role, binding.tenant_id) == ("ADMIN", "TENANT_A")


def test_issue_token__token_authenticates__api_sees_principal(tenant_a, client):
    token = _issue("ops", "--role", "VIEWER", "--tenant", "TENANT_A").strip()
    response = client.get("/healthz", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200


@pytest.mark.django_db
def test_issue_token__unknown_tenant__error_and_nothing_written():
    with pytest.raises(CommandError):
        _issue("ops", "--role", "ADMIN", "--tenant", "NOPE")
    assert not RoleBinding.objects.exists()
