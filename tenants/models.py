from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from onboarding.principal import Role


class TenantStatus(models.TextChoices):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$"


class Tenant(models.Model):
    tenant_id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=TenantStatus.choices, default="ACTIVE")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)
    updated_at = models.DateTimeField(auto_now=True)
    # None follows the global setting (the platform_settings row).
    require_activation_approval = models.BooleanField(null=True, blank=True, default=None)
    # A suspension by a platform ADMIN is lifted only by a platform ADMIN (DESIGN §14): the
    # tenant's own admins must not undo what the platform decided over them.
    suspended_by_platform = models.BooleanField(default=False)

    class Meta:
        db_table = "tenants"
        ordering = ["tenant_id"]
        indexes = [models.Index(fields=["status"], name="tenants_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["ACTIVE", "SUSPENDED"]),
                name="tenants_status_valid",
            ),
            # ACME and acme would be two tenants to the database and one to every person: the
            # ids are ASCII (TENANT_ID_PATTERN), so lower() is the same on both databases.
            models.UniqueConstraint(Lower("tenant_id"), name="tenants_tenant_id_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.tenant_id


class RoleBinding(models.Model):
    """A role for a user, platform-wide (tenant is null) or bound to one tenant."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_bindings"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="role_bindings"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "role_bindings"
        constraints = [
            # One binding per user and scope; two partial constraints because SQLite has no
            # NULLS NOT DISTINCT for the platform-wide (tenant is null) scope.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(tenant__isnull=True),
                name="role_bindings_one_platform",
            ),
            models.UniqueConstraint(
                fields=["user", "tenant"],
                condition=models.Q(tenant__isnull=False),
                name="role_bindings_one_per_tenant",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=["ADMIN", "VIEWER"]), name="role_bindings_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}@{self.tenant_id or '*'}"


class UsernameKey(models.Model):
    """The identity key of a user's name (tenants.identity.username_key), unique: two users
    whose names differ only by case or Unicode compatibility form cannot both exist."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="username_key",
    )
    key = models.CharField(max_length=600, unique=True)

    class Meta:
        db_table = "username_keys"

    def __str__(self) -> str:
        return self.key


class PlatformSettings(models.Model):
    """The one row of platform-wide settings (DESIGN §14). Every process, command and worker
    reads it; PACK_ACTIVATION_REQUIRES_APPROVAL only seeds it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    require_activation_approval = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        db_table = "platform_settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="platform_settings_one_row")
        ]

    def __str__(self) -> str:
        return "platform settings"
