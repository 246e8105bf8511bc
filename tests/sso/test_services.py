"""sso_login_complete on claims as Authlib hands them over after verification: what the provider
sent decides the user and the platform binding the mapping manages."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from audit.models import AuditEvent
from governance.services import change_request_approve
from onboarding.errors import ServiceError
from runtime_config.models import ConfigChangeRequest
from sso.models import SsoRoleGrant
from sso.services import sso_login_complete
from tenants.models import PlatformSettings, RoleBinding
from tests.conftest import make_actor
from tests.db_state import db_state

ISSUER = "https://idp.example"
User = get_user_model()
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mapping(settings):
    settings.OIDC_GROUP_ROLES = {"ops-admins": "ADMIN", "ops": "VIEWER"}
    settings.OIDC_GROUPS_CLAIM = "groups"


def login(**claims):
    return sso_login_complete(issuer=ISSUER, claims={"sub": "s-1", **claims})


def roles(user) -> list[str]:
    return list(RoleBinding.objects.filter(user=user).values_list("role", flat=True))


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"sub": ""}, "oidc_claims_invalid"),
        ({"sub": 7}, "oidc_claims_invalid"),
        ({"groups": {"ops": True}}, "oidc_claims_invalid"),
        ({"groups": ["ops", 3]}, "oidc_claims_invalid"),
        ({"preferred_username": "bad name"}, "invalid_username"),
    ],
)
def test_sso_login_complete__unusable_claims__refused_nothing_written(claims, code):
    before = db_state()
    with pytest.raises(ServiceError) as refused:
        sso_login_complete(issuer=ISSUER, claims={"sub": "s-1", **claims})
    assert refused.value.code == code
    assert db_state() == before


def test_sso_login_complete__no_preferred_username__email_then_sub():
    assert login(email="dana@example.test").user.username == "dana@example.test"
    assert sso_login_complete(issuer=ISSUER, claims={"sub": "s-2"}).user.username == "s-2"


def test_sso_login_complete__same_sub_other_issuer__another_user():
    first = login(preferred_username="erin")
    with pytest.raises(ServiceError) as refused:
        sso_login_complete(
            issuer="https://other.example", claims={"sub": "s-1", "preferred_username": "erin"}
        )
    assert refused.value.code == "identity_exists"
    assert User.objects.filter(username="erin").get() == first.user


def test_sso_login_complete__renamed_at_provider__same_user():
    first = login(preferred_username="frank")
    again = login(preferred_username="franklin")
    assert again.user == first.user and not again.created
    assert again.user.username == "frank"


def test_sso_login_complete__groups_as_one_string_and_custom_claim(settings):
    settings.OIDC_GROUPS_CLAIM = "roles"
    result = login(preferred_username="gina", roles="ops", groups=["ops-admins"])
    assert result.groups == ["ops"]
    assert roles(result.user) == ["VIEWER"]


def test_sso_login_complete__sso_role_changed_by_hand__mapping_lets_it_be():
    user = login(preferred_username="hal", groups=["ops"]).user
    RoleBinding.objects.filter(user=user).update(role="ADMIN")  # an ADMIN's decision

    login(preferred_username="hal", groups=[])

    assert roles(user) == ["ADMIN"]
    assert not SsoRoleGrant.objects.filter(user=user).exists()


def test_sso_login_complete__sso_binding_removed_by_hand__record_dropped():
    user = login(preferred_username="ivy", groups=["ops"]).user
    RoleBinding.objects.filter(user=user).delete()
    login(preferred_username="ivy", groups=[])
    assert roles(user) == []
    assert not SsoRoleGrant.objects.filter(user=user).exists()


def test_sso_login_complete__last_admin_mapped_to_viewer__keeps_admin():
    user = login(preferred_username="jo", groups=["ops-admins"]).user
    login(preferred_username="jo", groups=["ops"])
    assert roles(user) == ["ADMIN"]
    assert not AuditEvent.objects.filter(action="role.revoked").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sso_login_complete__same_first_sign_in_twice_at_once__one_user_both_signed_in():
    count = 4
    barrier = threading.Barrier(count)
    results, errors = [], []

    def sign_in() -> None:
        try:
            barrier.wait()
            results.append(login(preferred_username="kim", groups=["ops"]).user.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_in) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(results)) == 1 and len(results) == count
    assert User.objects.filter(username="kim").count() == 1
    assert AuditEvent.objects.filter(action="user.created").count() == 1
    assert AuditEvent.objects.filter(action="role.granted").count() == 1
    assert AuditEvent.objects.filter(action="user.login").count() == count


def test_sso_login_complete__admin_under_four_eyes__access_request_filed_once():
    PlatformSettings.objects.update(require_activation_approval=True)
    approver = make_actor("approver", "ADMIN")

    user = login(preferred_username="lee", groups=["ops-admins"]).user
    login(preferred_username="lee", groups=["ops-admins"])

    assert roles(user) == []
    requests = ConfigChangeRequest.objects.filter(kind="access")
    assert requests.count() == 1
    request = requests.get()
    assert request.requested_by == "SSO group mapping"
    assert request.policy["access"] == {"username": "lee", "role": "ADMIN", "tenant_id": None}
    assert SsoRoleGrant.objects.get(user=user).requested_role == "ADMIN"

    change_request_approve(principal=approver.principal, change_request_id=request.pk)
    assert roles(user) == ["ADMIN"]
    login(preferred_username="lee", groups=["ops-admins"])
    grant = SsoRoleGrant.objects.get(user=user)
    assert (grant.role, grant.requested_role) == ("ADMIN", None)

    login(preferred_username="lee", groups=[])  # the approver is still a platform ADMIN
    assert roles(user) == []
