"""OpenID Connect sign-in against the real local provider (tests/sso/conftest.py), with Django's
test client as the application's side of the browser and plain HTTP at the provider."""

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AuditEvent
from onboarding.principal import principal_for_user
from sso.models import OidcIdentity, SsoRoleGrant
from tenants.models import RoleBinding
from tests.api.conftest import assert_problem
from tests.conftest import make_actor
from tests.db_state import db_state
from tests.sso.conftest import (
    ACCOUNTS,
    TEST_CLIENT_BASE,
    OpenIdProvider,
    ProviderBrowser,
    callback_path,
    start_provider,
    stop_provider,
)

HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml"}
User = get_user_model()


def start(client: Client, query: str = "") -> str:
    response = client.get(f"/oidc/login{query}", **HTML)
    assert response.status_code == 302, response.content
    return response["Location"]


def provider_answer(client: Client, username: str, **kwargs) -> str:
    """Start at /oidc/login, sign in at the provider: the callback URL it sends back."""
    return ProviderBrowser().sign_in(
        start(client), username, ACCOUNTS[username]["password"], **kwargs
    )


def sign_in(client: Client, username: str, **headers):
    return client.get(callback_path(provider_answer(client, username)), **(headers or HTML))


def with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def platform_roles(username: str) -> list[str]:
    return list(
        RoleBinding.objects.filter(user__username=username, tenant__isnull=True).values_list(
            "role", flat=True
        )
    )


pytestmark = pytest.mark.django_db


def test_oidc_login__redirect__carries_pkce_s256_state_and_nonce(sso_settings):
    query = parse_qs(urlsplit(start(Client())).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert set(query["scope"][0].split()) >= {"openid", "groups"}


def test_sso_login__first_sign_in_in_admin_group__creates_admin_user_and_audits(sso_settings):
    client = Client()
    response = sign_in(client, "alice")

    assert response.status_code == 302
    assert response["Location"] == "/admin/tenants"
    user = User.objects.get(username="alice")
    assert user.email == "alice@example.test"
    assert not user.has_usable_password()
    assert OidcIdentity.objects.get(user=user).subject == "alice"
    assert platform_roles("alice") == ["ADMIN"]
    assert SsoRoleGrant.objects.get(user=user).role == "ADMIN"
    assert principal_for_user(user).is_platform_admin
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor"))
    assert actions == [
        ("user.created", "SSO group mapping"),
        ("role.granted", "SSO group mapping"),
        ("user.login", "alice"),
    ]
    granted = AuditEvent.objects.get(action="role.granted")
    assert granted.details["via"]["groups"] == ["ops-admins"]
    assert client.get("/admin/tenants", **HTML).status_code == 200


def test_sso_login__no_mapped_group__user_created_without_role(sso_settings):
    client = Client()
    assert sign_in(client, "bob").status_code == 302
    user = User.objects.get(username="bob")
    assert platform_roles("bob") == []
    assert not SsoRoleGrant.objects.filter(user=user).exists()
    assert principal_for_user(user).platform_role is None
    assert not AuditEvent.objects.filter(action="role.granted").exists()
    assert AuditEvent.objects.filter(action="user.created", object_id="bob").exists()


def test_sso_login__viewer_group__viewer_role_audit_names_mapped_groups_only(sso_settings):
    assert sign_in(Client(), "carol").status_code == 302
    assert platform_roles("carol") == ["VIEWER"]
    granted = AuditEvent.objects.get(action="role.granted")
    assert granted.details["via"]["groups"] == ["ops"]  # carol's group "misc" is not mapped


def test_sso_login__mapping_changes__reapplied_at_next_sign_in(sso_settings):
    assert sign_in(Client(), "carol").status_code == 302
    assert platform_roles("carol") == ["VIEWER"]

    sso_settings.OIDC_GROUP_ROLES = {"ops": "ADMIN"}
    assert sign_in(Client(), "carol").status_code == 302
    assert platform_roles("carol") == ["ADMIN"]
    assert SsoRoleGrant.objects.get(user__username="carol").role == "ADMIN"

    make_actor("other-admin", "ADMIN")  # carol is not the last platform ADMIN
    sso_settings.OIDC_GROUP_ROLES = {}
    assert sign_in(Client(), "carol").status_code == 302
    assert platform_roles("carol") == []
    assert not SsoRoleGrant.objects.filter(user__username="carol").exists()
    revoked = AuditEvent.objects.get(action="role.revoked")
    assert revoked.details["binding"]["role"] == "ADMIN"
    assert revoked.actor == "SSO group mapping"
    assert revoked.details["via"]["groups"] == []  # none of carol's groups is mapped now
    assert User.objects.filter(username="carol").count() == 1


def test_sso_login__role_granted_by_hand__kept_when_no_group_maps(sso_settings):
    assert sign_in(Client(), "bob").status_code == 302
    bob = User.objects.get(username="bob")
    RoleBinding.objects.create(user=bob, role="VIEWER", tenant=None)  # an ADMIN's grant

    assert sign_in(Client(), "bob").status_code == 302
    assert platform_roles("bob") == ["VIEWER"]
    assert not AuditEvent.objects.filter(action="role.revoked").exists()


def test_sso_login__last_platform_admin__keeps_admin_when_group_removed(sso_settings):
    assert sign_in(Client(), "alice").status_code == 302
    sso_settings.OIDC_GROUP_ROLES = {}
    assert sign_in(Client(), "alice").status_code == 302
    assert platform_roles("alice") == ["ADMIN"]


def test_sso_callback__tampered_state__400_state_mismatch_nothing_written(sso_settings):
    client = Client()
    url = provider_answer(client, "alice")
    before = db_state()

    response = client.get(callback_path(with_query(url, state="forged-state")))

    assert_problem(response, 400, "oidc_state_mismatch")
    assert db_state() == before
    assert not User.objects.filter(username="alice").exists()
    assert "_auth_user_id" not in client.session


def test_sso_callback__tampered_state__page_shows_code(sso_settings):
    client = Client()
    url = provider_answer(client, "alice")
    response = client.get(callback_path(with_query(url, state="forged")), **HTML)
    assert response.status_code == 400
    assert b"oidc_state_mismatch" in response.content
    assert b"Back to the login page" in response.content


def test_sso_callback__replayed__second_use_refused(sso_settings):
    client = Client()
    path = callback_path(provider_answer(client, "alice"))
    assert client.get(path, **HTML).status_code == 302
    before = db_state()

    response = client.get(path)

    assert_problem(response, 400, "oidc_state_mismatch")
    assert db_state() == before


def test_sso_callback__other_browser__state_mismatch(sso_settings):
    url = provider_answer(Client(), "alice")
    response = Client().get(callback_path(url))
    assert_problem(response, 400, "oidc_state_mismatch")
    assert not User.objects.exists()


def test_sso_callback__wrong_nonce__400_nonce_mismatch_nothing_written(sso_settings):
    client = Client()
    url = provider_answer(client, "alice")
    state = parse_qs(urlsplit(url).query)["state"][0]
    session = client.session
    key = f"_state_oidc_{state}"
    stored = session[key]
    stored["data"]["nonce"] = "not-the-nonce-the-provider-saw"
    session[key] = stored
    session.save()
    before = db_state()

    response = client.get(callback_path(url))

    assert_problem(response, 400, "oidc_nonce_mismatch")
    assert db_state() == before


def test_sso_callback__user_cancels_at_provider__400_provider_error(sso_settings):
    client = Client()
    url = provider_answer(client, "alice", cancel=True)
    assert "error=access_denied" in url
    before = db_state()

    response = client.get(callback_path(url))

    assert_problem(response, 400, "oidc_provider_error")
    assert "access_denied" in response.json()["detail"]
    assert db_state() == before


def test_sso_callback__code_forged__400_provider_error(sso_settings):
    client = Client()
    url = provider_answer(client, "alice")
    before = db_state()
    response = client.get(callback_path(with_query(url, code="forged-code")))
    assert_problem(response, 400, "oidc_provider_error")
    assert "invalid_grant" in response.json()["detail"]
    assert db_state() == before


def test_sso_callback__issuer_of_another_provider__400_provider_error(sso_settings):
    client = Client()
    url = provider_answer(client, "alice")
    response = client.get(callback_path(with_query(url, iss="https://evil.example")))
    assert_problem(response, 400, "oidc_provider_error")
    assert not User.objects.exists()


def test_sso_login__name_of_local_user__409_identity_exists_nothing_written(sso_settings):
    make_actor("ALICE", "VIEWER")  # the same identity as the provider's "alice"
    client = Client()
    url = provider_answer(client, "alice")
    before = db_state()

    response = client.get(callback_path(url))

    assert_problem(response, 409, "identity_exists")
    assert db_state() == before
    assert "_auth_user_id" not in client.session


def test_sso_login__deactivated_user__403_user_inactive(sso_settings):
    assert sign_in(Client(), "alice").status_code == 302
    User.objects.filter(username="alice").update(is_active=False)
    client = Client()
    url = provider_answer(client, "alice")
    before = db_state()

    response = client.get(callback_path(url))

    assert_problem(response, 403, "user_inactive")
    assert db_state() == before


def test_sso_login__next__returns_there_and_refuses_other_hosts(sso_settings):
    client = Client()
    answer = ProviderBrowser().sign_in(
        start(client, "?next=/admin/packs"), "bob", ACCOUNTS["bob"]["password"]
    )
    assert client.get(callback_path(answer), **HTML)["Location"] == "/admin/packs"

    client = Client()
    answer = ProviderBrowser().sign_in(
        start(client, "?next=https://evil.example/"), "bob", ACCOUNTS["bob"]["password"]
    )
    assert client.get(callback_path(answer), **HTML)["Location"] == "/admin/tenants"


def test_sso_logout__after_sso__ends_session_and_goes_to_end_session(sso_settings, oidc_provider):
    client = Client()
    assert sign_in(client, "alice").status_code == 302

    response = client.post("/logout")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}" == oidc_provider.issuer
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login"]
    assert query["id_token_hint"][0].count(".") == 2
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/tenants", **HTML).status_code == 302


def test_logout__password_session__local_logout_only(sso_settings):
    actor = make_actor("local-admin", "ADMIN")
    client = Client()
    client.force_login(actor.user)
    response = client.post("/logout")
    assert response["Location"] == "/login"
    assert "_auth_user_id" not in client.session


def test_oidc_login__provider_down__503_page_offers_password_login(sso_settings):
    sso_settings.OIDC_ISSUER = "http://127.0.0.1:9"  # discard port: nothing listens
    response = Client().get("/oidc/login", **HTML)
    assert response.status_code == 503
    assert b"oidc_unavailable" in response.content
    assert b"log in with your password" in response.content
    assert_problem(Client().get("/oidc/login"), 503, "oidc_unavailable")


def test_oidc_login__not_configured__404_and_no_button(settings, db):
    settings.OIDC_ISSUER = ""
    settings.OIDC_CLIENT_ID = ""
    assert_problem(Client().get("/oidc/login"), 404, "sso_not_configured")
    assert_problem(Client().get("/oidc/callback?state=x&code=y"), 404, "sso_not_configured")
    assert b"Sign in with SSO" not in Client().get("/login", **HTML).content


def test_login_page__sso_configured__offers_sso_and_password(sso_settings):
    page = Client().get("/login", **HTML).content.decode()
    assert 'href="/oidc/login"' in page
    assert 'name="password"' in page


def test_login__local_login_off__password_refused_nothing_written(sso_settings):
    actor = make_actor("local-admin", "ADMIN")
    sso_settings.LOCAL_LOGIN = False
    page = Client().get("/login", **HTML).content.decode()
    assert 'name="password"' not in page and "Sign in with SSO" in page
    client = Client()
    before = db_state()

    response = client.post("/login", {"username": actor.username, "password": "pw-local-admin"})

    assert_problem(response, 403, "local_login_disabled")
    assert db_state() == before
    assert "_auth_user_id" not in client.session
    assert not client.login(username=actor.username, password="pw-local-admin")


def test_login__local_login_on__password_works(sso_settings):
    actor = make_actor("local-admin", "ADMIN")
    client = Client()
    response = client.post("/login", {"username": actor.username, "password": "pw-local-admin"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(actor.user.pk)


@pytest.fixture
def own_provider(settings, tmp_path):
    """A provider of this test's own, to stop or to start without RP-initiated logout."""
    started = []

    def start(*, logout: bool = True) -> OpenIdProvider:
        provider = start_provider(tmp_path, [TEST_CLIENT_BASE], logout=logout)
        started.append(provider)
        provider.configure(settings)
        return provider

    yield start
    for provider in started:
        stop_provider(provider)


def test_sso_callback__provider_down_after_redirect__503_nothing_written(own_provider):
    provider = own_provider()
    client = Client()
    url = provider_answer(client, "alice")
    stop_provider(provider)
    before = db_state()

    response = client.get(callback_path(url), **HTML)

    assert response.status_code == 503
    assert b"oidc_unavailable" in response.content
    assert db_state() == before


def test_sso_logout__provider_without_end_session__local_logout_only(own_provider):
    own_provider(logout=False)
    client = Client()
    assert sign_in(client, "alice").status_code == 302

    response = client.post("/logout")

    assert response["Location"] == "/login"
    assert "_auth_user_id" not in client.session
