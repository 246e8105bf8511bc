"""Login lockout (issue 21, "login protection"): the login rate limit of onboarding.ratelimit
counts every password attempt per client and per username; once a bucket is over its limit the
sign-in is locked until its window ends. The first refusal of a window writes one `login.locked`
audit row and webhook event; the following ones write nothing, so hammering a locked account
cannot grow the audit trail."""

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction

from onboarding.events import DomainEvent, send_event
from sso import signals
from sso.models import OidcIdentity

_SEEN = "login-locked:{username}:{client}"


def login_lockout_record(*, username: str, client: str, retry_after: int) -> bool:
    """Record a lockout once per window: whether this call wrote the row."""
    key = _SEEN.format(username=username[:150], client=client)
    if not cache.add(key, 1, timeout=max(1, retry_after)):
        return False
    # People type passwords into the username field: only a name that is a user's reaches the
    # audit trail and webhooks, any other text is recorded as "(unknown username)".
    if not get_user_model().objects.filter(username=username[:150]).exists():
        username = "(unknown username)"
    with transaction.atomic():
        send_event(
            signals.login_locked,
            OidcIdentity,
            DomainEvent(
                action="login.locked",
                actor=username[:150] or "anonymous",
                summary=f"sign-in locked for {retry_after} s after too many attempts",
                object_type="user",
                object_id=username[:150],
                details={"client": client, "retry_after": retry_after},
            ),
        )
    return True
