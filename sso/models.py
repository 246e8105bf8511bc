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
    """The platform role the group mapping granted a user. The mapping changes only a binding it
    granted itself (same role as recorded here); a role granted by hand is left alone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="sso_role_grant",
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "sso_role_grants"

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role} (sso)"
