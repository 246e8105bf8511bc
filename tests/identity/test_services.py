"""Users and role bindings as governed data (DESIGN §15, issue 21): the services' rules."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore

from audit.models import AuditEvent
from governance.services import change_request_approve
from identity import services
from identity.models import ApiToken, Profile
from onboarding.errors import Conflict, Forbidden, InvalidInput, NotFound
from onboarding.principal import Principal
from runtime_config.models import ConfigChangeRequest
from tenants.identity import username_key
from tenants.models import PlatformSettings, RoleBinding
from tests.conftest import make_actor
from tests.db_state import db_state
from tests.runtime_config.test_concurrency import run_in_threads
from webhooks.events import EVENT_TYPES
from webhooks.models import WebhookEvent, WebhookSubscription

User = get_user_model()


@pytest.fixture(autouse=True)
def _subscribed(db):
    WebhookSubscription.objects.create(
        url="https://hooks.example.com/x",
        events=list(EVENT_TYPES),
        secret_encrypted="-",
        created_by="setup",
    )


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_user_create__new_name__user_without_role_audited_and_published(admin):
    user = services.user_create(
        actor=admin.principal, username="carol", email="c@example.com", display_name="Carol"
    )
    assert user.is_active and not user.has_usable_password()
    assert not RoleBinding.objects.filter(user=user).exists()
    assert Profile.objects.get(user=user).display_name == "Carol"
    assert _actions()[-1] == "user.created"
    assert WebhookEvent.objects.filter(type="user.created").exists()


@pytest.mark.parametrize(
    "spelling",
    [
        "adm\u0131n",
        "\u0251dmin",
        "a\u1d05min",
        "ADMIN",
        "\uff41\uff44\uff4d\uff49\uff4e",
    ],
)
def test_user_create__confusable_of_existing__identity_exists(admin, spelling):
    make_actor("admin")
    before = db_state()
    with pytest.raises(Conflict) as err:
        services.user_create(actor=admin.principal, username=spelling)
    assert err.value.code == "identity_exists"
    assert db_state() == before


def test_user_create__mixed_script_lookalike__invalid_username(admin):
    """Latin "admin" with a Cyrillic a: refused by the name rules before the identity check."""
    make_actor("admin")
    with pytest.raises(InvalidInput) as err:
        services.user_create(actor=admin.principal, username="\u0430dmin")
    assert err.value.code == "invalid_username"


def test_username_key__whole_script_cyrillic__same_skeleton_as_latin():
    assert username_key("\u0441\u043e\u0440\u0435") == username_key("cope")


def test_user_create__by_viewer__admin_required(viewer):
    with pytest.raises(Forbidden) as err:
        services.user_create(actor=viewer.principal, username="carol")
    assert err.value.code == "admin_required"


def test_user_create__invalid_name__invalid_username(admin):
    with pytest.raises(InvalidInput) as err:
        services.user_create(actor=admin.principal, username="bad name")
    assert err.value.code == "invalid_username"


def test_role_grant__platform_admin_grants__binding_and_event(admin, tenant_a):
    services.user_create(actor=admin.principal, username="carol")
    outcome = services.role_grant(
        actor=admin.principal, username="carol", role="VIEWER", tenant_id="TENANT_A"
    )
    assert outcome.created and outcome.binding.role == "VIEWER"
    assert outcome.binding.tenant_id == "TENANT_A"
    assert _actions()[-1] == "role.granted"
    assert WebhookEvent.objects.filter(type="role.granted").exists()


def test_role_grant__own_roles__self_grant(admin):
    before = db_state()
    with pytest.raises(Forbidden) as err:
        services.role_grant(actor=admin.principal, username="platform-admin", role="VIEWER")
    assert err.value.code == "self_grant"
    assert db_state() == before


def test_role_grant__confusable_of_self__self_grant(owner):
    with pytest.raises(Forbidden) as err:
        services.role_grant(
            actor=owner.principal, username="OWNER-A", role="ADMIN", tenant_id="TENANT_A"
        )
    assert err.value.code == "self_grant"


def test_role_grant__tenant_admin_platform_role__platform_admin_required(owner, admin):
    services.user_create(actor=admin.principal, username="carol")
    with pytest.raises(Forbidden) as err:
        services.role_grant(actor=owner.principal, username="carol", role="VIEWER")
    assert err.value.code == "platform_admin_required"


def test_role_grant__tenant_admin_other_tenant__not_found(owner, tenant_b, admin):
    services.user_create(actor=admin.principal, username="carol")
    before = db_state()
    with pytest.raises(NotFound):
        services.role_grant(
            actor=owner.principal, username="carol", role="VIEWER", tenant_id="TENANT_B"
        )
    assert db_state() == before


def test_role_grant__tenant_admin_own_tenant__granted(owner, admin):
    services.user_create(actor=admin.principal, username="carol")
    outcome = services.role_grant(
        actor=owner.principal, username="carol", role="ADMIN", tenant_id="TENANT_A"
    )
    assert outcome.binding.role == "ADMIN"


def test_role_grant__unknown_role__invalid_role(admin):
    services.user_create(actor=admin.principal, username="carol")
    with pytest.raises(InvalidInput) as err:
        services.role_grant(actor=admin.principal, username="carol", role="ROOT")
    assert err.value.code == "invalid_role"


def test_role_grant__admin_under_four_eyes__access_request_approved_by_other_admin(
    admin, second_admin
):
    PlatformSettings.objects.update(require_activation_approval=True)
    services.user_create(actor=admin.principal, username="carol")
    outcome = services.role_grant(actor=admin.principal, username="carol", role="ADMIN")
    assert outcome.binding is None
    change_request = outcome.change_request
    assert change_request.kind == "access" and change_request.status == "PENDING"
    assert not RoleBinding.objects.filter(user__username="carol").exists()
    with pytest.raises(Forbidden) as err:
        change_request_approve(principal=admin.principal, change_request_id=change_request.pk)
    assert err.value.code == "self_approval"
    change_request_approve(principal=second_admin.principal, change_request_id=change_request.pk)
    change_request.refresh_from_db()
    assert change_request.status == "APPLIED"
    assert RoleBinding.objects.get(user__username="carol").role == "ADMIN"


def test_role_grant__admin_for_approver_under_four_eyes__self_grant_at_approval(
    admin, second_admin
):
    """The grantee cannot approve the grant that makes them ADMIN."""
    PlatformSettings.objects.update(require_activation_approval=True)
    RoleBinding.objects.filter(user=second_admin.user).update(role="VIEWER")
    outcome = services.role_grant(actor=admin.principal, username="platform-admin-2", role="ADMIN")
    # A VIEWER cannot review a platform request at all.
    with pytest.raises(Forbidden):
        change_request_approve(
            principal=second_admin.principal, change_request_id=outcome.change_request.pk
        )


def test_role_grant__viewer_under_four_eyes__applies_at_once(admin):
    PlatformSettings.objects.update(require_activation_approval=True)
    services.user_create(actor=admin.principal, username="carol")
    outcome = services.role_grant(actor=admin.principal, username="carol", role="VIEWER")
    assert outcome.binding is not None and outcome.change_request is None


def test_role_revoke__last_platform_admin_stale_principal__last_admin(admin, second_admin):
    """A principal read before a concurrent change (admin-2 lost ADMIN meanwhile) must not take
    the platform's last ADMIN away."""
    stale = second_admin.principal
    RoleBinding.objects.filter(user=second_admin.user).delete()
    binding = RoleBinding.objects.get(user=admin.user)
    before = db_state()
    with pytest.raises(Conflict) as err:
        services.role_revoke(actor=stale, username="platform-admin", binding_id=binding.pk)
    assert err.value.code == "last_admin"
    with pytest.raises(Conflict) as err:
        services.user_deactivate(actor=stale, username="platform-admin")
    assert err.value.code == "last_admin"
    with pytest.raises(Conflict) as err:
        services.role_grant(actor=stale, username="platform-admin", role="VIEWER")
    assert err.value.code == "last_admin"
    assert db_state() == before


def test_role_revoke__superuser_remains__revoked(admin, second_admin):
    User.objects.filter(pk=second_admin.user.pk).update(is_superuser=True)
    RoleBinding.objects.filter(user=second_admin.user).delete()
    binding = RoleBinding.objects.get(user=admin.user)
    services.role_revoke(
        actor=Principal.from_user(User.objects.get(pk=second_admin.user.pk)),
        username="platform-admin",
        binding_id=binding.pk,
    )
    assert not RoleBinding.objects.filter(pk=binding.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_user_deactivate__two_admins_remove_each_other__one_stays(round_):
    first = make_actor("admin-one", "ADMIN")
    second = make_actor("admin-two", "ADMIN")
    pairs = [(first.principal, "admin-two"), (second.principal, "admin-one")]

    def work(index):
        actor, target = pairs[index]
        return services.user_deactivate(actor=actor, username=target).username

    results, errors = run_in_threads(2, work)
    assert len(results) == 1, (results, errors)
    assert [getattr(e, "code", repr(e)) for e in errors] == ["last_admin"]
    assert User.objects.filter(is_active=True, username__startswith="admin-").count() == 1


def test_role_revoke__own_binding__self_grant(admin):
    binding = RoleBinding.objects.get(user=admin.user)
    with pytest.raises(Forbidden) as err:
        services.role_revoke(
            actor=admin.principal, username="platform-admin", binding_id=binding.pk
        )
    assert err.value.code == "self_grant"


def test_role_revoke__binding_of_other_user__not_found(admin, second_admin, viewer):
    binding = RoleBinding.objects.get(user=viewer.user)
    with pytest.raises(NotFound):
        services.role_revoke(
            actor=admin.principal, username="platform-admin-2", binding_id=binding.pk
        )


def test_user_deactivate__self__self_grant(admin):
    with pytest.raises(Forbidden) as err:
        services.user_deactivate(actor=admin.principal, username="platform-admin")
    assert err.value.code == "self_grant"


def test_user_deactivate__user_with_session_token_and_request__all_ended(
    admin, second_admin, tenant_a
):
    session = SessionStore()
    session["_auth_user_id"] = str(second_admin.user.pk)
    session.create()
    ApiToken.objects.create(
        user=second_admin.user, name="ci", prefix="x", digest="0" * 64, created_by="t"
    )
    request = ConfigChangeRequest.objects.create(
        tenant=tenant_a, domain="d", base_revision=0, requested_by="platform-admin-2"
    )
    services.user_deactivate(actor=admin.principal, username="platform-admin-2")
    second_admin.user.refresh_from_db()
    assert not second_admin.user.is_active
    assert not SessionStore().exists(session.session_key)
    assert not ApiToken.objects.filter(user=second_admin.user, revoked_at__isnull=True).exists()
    request.refresh_from_db()
    assert (request.status, request.status_reason) == ("STALE", "requester_gone")
    assert "user.deactivated" in _actions()
    # A token of the deactivated user no longer authenticates.
    assert second_admin.client.get("/admin/tenants").status_code == 401


def test_user_update__display_name__user_updated_event(admin, second_admin):
    services.user_update(actor=admin.principal, username="platform-admin-2", display_name="Bee")
    assert Profile.objects.get(user=second_admin.user).display_name == "Bee"
    assert _actions()[-1] == "user.updated"


def test_user_update__reactivate_by_tenant_admin__platform_admin_required(owner, member, admin):
    services.user_deactivate(actor=admin.principal, username="member-a")
    with pytest.raises(Forbidden) as err:
        services.user_update(actor=owner.principal, username="member-a", is_active=True)
    assert err.value.code == "platform_admin_required"


def test_user_deactivate__tenant_admin_user_also_elsewhere__platform_admin_required(
    owner, tenant_b, admin
):
    both = make_actor("both-tenants", "VIEWER", owner.user.role_bindings.get().tenant)
    RoleBinding.objects.create(user=both.user, role="VIEWER", tenant=tenant_b)
    before = db_state()
    with pytest.raises(Forbidden) as err:
        services.user_deactivate(actor=owner.principal, username="both-tenants")
    assert err.value.code == "platform_admin_required"
    assert db_state() == before


def test_user_deactivate__tenant_admin_own_tenant_user__deactivated(owner, member):
    services.user_deactivate(actor=owner.principal, username="member-a")
    assert not User.objects.get(username="member-a").is_active


def test_user_deactivate__scheduled_request__stale_requester_gone(admin, second_admin, tenant_a):
    request = ConfigChangeRequest.objects.create(
        tenant=tenant_a,
        domain="d",
        base_revision=0,
        requested_by="platform-admin-2",
        status="SCHEDULED",
    )
    other = ConfigChangeRequest.objects.create(
        tenant=tenant_a,
        domain="d",
        base_revision=0,
        requested_by="platform-admin",
        status="PENDING",
    )
    services.user_deactivate(actor=admin.principal, username="platform-admin-2")
    request.refresh_from_db()
    other.refresh_from_db()
    assert (request.status, request.status_reason) == ("STALE", "requester_gone")
    assert other.status == "PENDING"
    assert AuditEvent.objects.filter(action="change_request.stale").count() == 1
