"""Which provider account a user signs in as, and which platform role the group mapping gave."""

from django.conf import settings
from django.db import models

from onboarding.principal import Role


class OidcIdentity(models.Model):
    """A user's account at an OpenID provider: the issuer and the stable `sub` claim. A user is
    found by this pair, never by a name the provider sends (names can change and be reused)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities"
    )
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sso_identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.issuer}#{self.subject}"


class SsoRoleGrant(models.Model):
    """What the group mapping did to a user's platform binding: `role`, the role it granted (the
    mapping changes or removes only a binding of that role; one granted by hand is left alone),
    and `requested_role`, an ADMIN grant waiting for a second ADMIN's approval (four-eyes), so a
    sign-in does not file it again."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="sso_role_grant",
    )
    role = models.CharField(max_length=16, choices=Role.choices, null=True, blank=True)
    requested_role = models.CharField(max_length=16, choices=Role.choices, null=True, blank=True)
    granted_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "sso_role_grants"

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role} (sso)"
