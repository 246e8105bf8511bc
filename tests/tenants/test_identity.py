"""Look-alike principals (issue 13, item 10): one identity per username as people read it, on
every path that creates a user, in the database, and in the four-eyes rule."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from onboarding.errors import Conflict
from runtime_config.models import ConfigChangeRequest
from tenants.identity import (
    InvalidUsername,
    UsernameTaken,
    check_username,
    same_identity,
    username_key,
)
from tenants.models import UsernameKey
from tenants.services import user_ensure

User = get_user_model()

REFUSED = {
    "trailing space": "admin ",
    "leading space": " admin",
    "inner space": "ad min",
    "tab": "ad\tmin",
    "nul": "ad\x00min",
    "zero-width space": "ad\u200bmin",
    "right-to-left override": "ad\u202emin",
    "soft hyphen": "ad\u00admin",
    "cyrillic a in latin": "\u0430dmin",
    "greek rho in latin": "\u03c1aypal",
    "empty": "",
    "too long": "a" * 151,
}
ALLOWED = ["admin", "ops-1", "jane.doe@example.com", "jos\u00e9", "\u0438\u0432\u0430\u043d"]


@pytest.mark.parametrize("name", REFUSED.values(), ids=REFUSED.keys())
def test_check_username__refused_shapes__invalid_username(name):
    with pytest.raises(InvalidUsername) as err:
        check_username(name)
    assert err.value.code == "invalid_username"


@pytest.mark.parametrize("name", ALLOWED)
def test_check_username__ordinary_names__allowed(name):
    check_username(name)


def test_same_identity__case_and_width__same():
    assert same_identity("admin", "ADMIN")
    assert same_identity("admin", "\uff41\uff44\uff4d\uff49\uff4e")  # fullwidth
    assert same_identity("Stra\u00dfe", "STRASSE")
    assert not same_identity("admin", "admin2")


def _issue(*args) -> str:
    out = io.StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip()


SPELLINGS = [
    "ADMIN",
    "Admin",
    "\uff41\uff44\uff4d\uff49\uff4e",
    # Issue 21: TR39 look-alikes (dotless i, Latin alpha, small capital D) are one identity.
    "adm\u0131n",
    "\u0251dmin",
    "a\u1d05min",
]


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", [*SPELLINGS, "admin ", "\u0430dmin", "ad\u200bmin"])
def test_issue_token__look_alike_of_existing_user__exit_1_nothing_written(spelling):
    token = _issue("admin", "--role", "VIEWER")
    users = list(User.objects.values_list("username", flat=True))
    with pytest.raises(CommandError) as err:
        _issue(spelling, "--role", "ADMIN")
    assert "same identity" in str(err.value) or "not allowed" in str(err.value)
    assert list(User.objects.values_list("username", flat=True)) == users
    # The real one still works (its token authenticates).
    assert Client().get("/admin/tenants", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_orm_create_user__other_spelling__username_taken(spelling):
    """Any other path (createsuperuser, a shell, a script) meets the same rule."""
    User.objects.create_user("admin")
    with pytest.raises(UsernameTaken) as err:
        User.objects.create_user(spelling)
    assert err.value.extra == {"existing_username": "admin"}
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_rename__to_other_spelling_of_existing__refused():
    User.objects.create_user("admin")
    other = User.objects.create_user("ops")
    other.username = "ADMIN"
    with pytest.raises(UsernameTaken):
        other.save()
    assert UsernameKey.objects.get(user=other).key == "ops"


@pytest.mark.django_db
def test_login__existing_user__last_login_saved_without_recheck():
    User.objects.create_user("admin", password="pw-admin-123")
    assert Client().login(username="admin", password="pw-admin-123")


@pytest.mark.django_db
def test_django_admin_add_user__refused__nothing_written(admin):
    """Issue 21: users are governed; /django-admin/ shows them read-only."""
    User.objects.filter(pk=admin.user.pk).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin.user)
    before = User.objects.count()
    response = client.post(
        "/django-admin/auth/user/add/",
        {"username": "mallory", "password1": "a-long-pass-123", "password2": "a-long-pass-123"},
    )
    assert response.status_code == 403
    assert User.objects.count() == before


@pytest.mark.django_db
def test_username_key__database__unique():
    from django.db import IntegrityError, transaction

    first = User.objects.create_user("alpha")
    second = User.objects.create_user("beta")
    with pytest.raises(IntegrityError), transaction.atomic():
        UsernameKey.objects.filter(user=second).update(key=UsernameKey.objects.get(user=first).key)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_user_ensure__spellings_at_once__one_user_others_409():
    from tests.runtime_config.test_concurrency import run_in_threads

    for round_ in range(5):
        base = f"racer{round_}"
        spellings = [base, base.upper(), base.title(), base.swapcase()[:3] + base[3:]]
        results, errors = run_in_threads(
            len(spellings), lambda i, s=spellings: user_ensure(username=s[i])[0].username
        )
        assert len(results) == 1, (results, errors)
        assert all(isinstance(err, Conflict) and err.code == "username_taken" for err in errors)
        assert UsernameKey.objects.filter(key=username_key(base)).count() == 1


# --- four eyes compares identities, not strings ---


def test_approve__requester_recorded_in_another_case__403_self_approval(
    admin, tenant_a, finance_domain
):
    from tests.runtime_config.activation_helpers import domain_pack, review_url

    pack = domain_pack(finance_domain)
    change = ConfigChangeRequest.objects.create(
        tenant=tenant_a,
        domain=pack.domain,
        domain_pack=pack,
        base_revision=0,
        requested_by=admin.username.upper(),  # as an older row or another door may hold it
    )
    response = admin.client.post(review_url("approve", change.pk), {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "self_approval"
    assert ConfigChangeRequest.objects.get(pk=change.pk).status == "PENDING"


@pytest.mark.django_db(transaction=True)
def test_username_migration__existing_look_alikes__refused_naming_them():
    call_command("migrate", "tenants", "0003", verbosity=0)
    try:
        from django.db import connection

        with connection.cursor() as cursor:
            for name in ("ops", "OPS"):
                cursor.execute(
                    "INSERT INTO auth_user (username, password, is_superuser, first_name, "
                    "last_name, email, is_staff, is_active, date_joined) "
                    "VALUES (%s, '', false, '', '', '', false, true, CURRENT_TIMESTAMP)",
                    [name],
                )
        with pytest.raises(RuntimeError, match=r"'OPS', 'ops'|'ops', 'OPS'"):
            call_command("migrate", "tenants", "0004", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM auth_user WHERE username = 'OPS'")
    finally:
        call_command("migrate", verbosity=0)
    assert UsernameKey.objects.get(user__username="ops").key == "ops"
