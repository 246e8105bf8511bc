"""Users as governed data (DESIGN §15): create, update, deactivate. Each function owns its
transaction and sends its domain signal (audit row and webhook event in that transaction)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.utils import timezone

from identity import hooks, signals
from identity.access import manages_user, require_user_admin, user_for_write
from identity.models import ApiToken, Profile
from identity.services.common import emit, last_admin_guard, refuse_self, user_snapshot
from onboarding.errors import Conflict, Forbidden, InvalidInput, finding
from onboarding.principal import Principal
from tenants.identity import check_username, existing_identity

MAX_DISPLAY_NAME = 200


def identity_exists(username: str, existing: str) -> Conflict:
    return Conflict(
        f"{username!r} is the same identity as the existing user {existing!r} (usernames are "
        "compared by their look: TR39 confusable skeleton after NFKC and case folding).",
        code="identity_exists",
        errors=[finding("identity_exists", "/username", f"User {existing!r} exists.")],
        extra={"existing_username": existing},
    )


def _display_name(value: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_DISPLAY_NAME:
        raise InvalidInput(
            f"display_name must be at most {MAX_DISPLAY_NAME} characters.",
            code="invalid_display_name",
            errors=[finding("invalid_display_name", "/display_name", "Too long.")],
        )
    return value


def _email(value: str) -> str:
    value = (value or "").strip()
    if value and ("@" not in value or len(value) > 254 or any(c.isspace() for c in value)):
        raise InvalidInput(
            f"email {value!r} is not an e-mail address.",
            code="invalid_email",
            errors=[finding("invalid_email", "/email", "Not an e-mail address.")],
        )
    return value


def user_create(
    *,
    actor: Principal,
    username: str,
    email: str = "",
    display_name: str = "",
    service_account: bool = False,
    via: dict[str, Any] | None = None,
):
    """A user without any role (it can do nothing until a binding is granted), with no usable
    password: people sign in with SSO or set a password; service accounts never log in."""
    require_user_admin(actor)
    check_username(username)
    email, display_name = _email(email), _display_name(display_name)
    existing = existing_identity(username)
    if existing is not None:
        raise identity_exists(username, existing)
    try:
        with transaction.atomic():
            user = get_user_model()(username=username, email=email)
            user.set_unusable_password()
            user.save()
            Profile.objects.create(
                user=user,
                display_name=display_name,
                service_account=bool(service_account),
                created_by=actor.username,
            )
            emit(
                signals.user_created,
                Profile,
                principal=actor,
                action="user.created",
                summary=f"User {username} created"
                + (" (service account)" if service_account else ""),
                object_type="user",
                object_id=username,
                details={"user": user_snapshot(user)},
                via=via,
            )
    except IntegrityError:
        # A concurrent creation of the same identity won: the unique key refused this one.
        raise identity_exists(username, existing_identity(username) or username) from None
    return user


def _profile(user) -> Profile:
    return Profile.objects.get_or_create(user=user)[0]


def user_update(
    *,
    actor: Principal,
    username: str,
    display_name: str | None = None,
    is_active: bool | None = None,
    via: dict[str, Any] | None = None,
):
    """PATCH of a user: its display name, and `is_active` (false deactivates, see
    user_deactivate; true reactivates, platform ADMIN only, with no role and no token back)."""
    if is_active is False:
        user = user_deactivate(actor=actor, username=username, via=via)
        if display_name is None:
            return user
    with transaction.atomic():
        user = user_for_write(principal=actor, username=username, lock=True)
        profile = _profile(user)
        before = user_snapshot(user)
        if display_name is not None:
            profile.display_name = _display_name(display_name)
            profile.save(update_fields=["display_name"])
        if is_active and not user.is_active:
            if not actor.is_platform_admin:
                raise Forbidden(
                    "Only a platform ADMIN reactivates a user.", code="platform_admin_required"
                )
            user.is_active = True
            user.save(update_fields=["is_active"])
            profile.deactivated_at, profile.deactivated_by = None, ""
            profile.save(update_fields=["deactivated_at", "deactivated_by"])
        user.identity_profile = profile
        after = user_snapshot(user)
        if after != before:
            emit(
                signals.user_updated,
                Profile,
                principal=actor,
                action="user.updated",
                summary=f"User {username} updated",
                object_type="user",
                object_id=username,
                details={"before": before, "after": after},
                via=via,
            )
    return user


def user_deactivate(*, actor: Principal, username: str, via: dict[str, Any] | None = None):
    """Offboarding: the user can no longer sign in or use a token (every request checks
    is_active, and the change is pushed to every process's token cache), its sessions are
    deleted, its tokens revoked, and its PENDING/SCHEDULED change requests end STALE
    (`requester_gone`). Nobody deactivates themselves; the last platform ADMIN stays."""
    refuse_self(actor, username, "deactivates")
    with transaction.atomic():
        user = user_for_write(principal=actor, username=username, lock=True)
        if not manages_user(actor, user):
            # A tenant ADMIN must not cut off someone who also works elsewhere.
            raise Forbidden(
                "Only a platform ADMIN, or an ADMIN of every tenant the user holds a role on, "
                "deactivates this user.",
                code="platform_admin_required",
            )
        if not user.is_active:
            return user
        last_admin_guard(user)
        now = timezone.now()
        user.is_active = False
        user.save(update_fields=["is_active"])
        profile = _profile(user)
        profile.deactivated_at, profile.deactivated_by = now, actor.username
        profile.save(update_fields=["deactivated_at", "deactivated_by"])
        revoked = list(
            ApiToken.objects.filter(user=user, revoked_at__isnull=True).values_list("pk", flat=True)
        )
        ApiToken.objects.filter(pk__in=revoked).update(revoked_at=now, revoked_by=actor.username)
        sessions = _end_sessions(user)
        hooks.requester_gone.send(sender=Profile, username=username, actor=actor.username)
        emit(
            signals.user_deactivated,
            Profile,
            principal=actor,
            action="user.deactivated",
            summary=f"User {username} deactivated",
            object_type="user",
            object_id=username,
            details={
                "user": user_snapshot(user),
                "tokens_revoked": revoked,
                "sessions_ended": sessions,
            },
            via=via,
        )
    return user


def _end_sessions(user) -> int:
    """Delete the user's stored sessions (database sessions; a request of a session whose user is
    inactive is anonymous anyway, Django's ModelBackend refuses inactive users)."""
    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            ended.append(session.pk)
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)
