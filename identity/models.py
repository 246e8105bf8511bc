"""What identity owns beside Django's user and tenants' role bindings (DESIGN §15): a user's
profile (display name, service account, who deactivated it) and hashed API tokens."""

from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="identity_profile",
    )
    display_name = models.CharField(max_length=200, blank=True, default="")
    # A machine identity (a runtime consumer): no password, no session login, tokens only.
    service_account = models.BooleanField(default=False)
    created_by = models.CharField(max_length=150, blank=True, default="")
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        db_table = "user_profiles"

    def __str__(self) -> str:
        return self.display_name or str(self.user_id)


class TokenScope(models.TextChoices):
    READ = "read"
    WRITE = "write"
    RUNTIME = "runtime"


class ApiToken(models.Model):
    """A named API token. Only the SHA-256 of the secret is stored; `prefix` (the secret's first
    characters, not secret on their own) names it in lists."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.WRITE)
    # scope "runtime": the tenants whose /runtime/... the token may read.
    tenant_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        db_table = "api_tokens"
        indexes = [models.Index(fields=["user", "revoked_at"], name="api_tokens_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=["read", "write", "runtime"]),
                name="api_tokens_scope_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"
