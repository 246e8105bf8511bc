import uuid

from django.db import models


class TenantActiveConfig(models.Model):
    tenant = models.OneToOneField(
        "tenants.Tenant", primary_key=True, on_delete=models.PROTECT, related_name="active_config"
    )
    domain = models.CharField(max_length=200)
    domain_pack = models.ForeignKey(
        "packs.DomainPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tenant_pack = models.ForeignKey(
        "packs.TenantPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField()
    activated_by = models.CharField(max_length=150)
    revision = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "tenant_active_config"

    def __str__(self) -> str:
        return f"{self.tenant_id} r{self.revision}"


class ActivationHistory(models.Model):
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="activation_history"
    )
    revision = models.PositiveIntegerField()
    domain = models.CharField(max_length=200)
    from_domain_pack = models.ForeignKey(
        "packs.DomainPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_tenant_pack = models.ForeignKey(
        "packs.TenantPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_domain_pack = models.ForeignKey(
        "packs.DomainPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_tenant_pack = models.ForeignKey(
        "packs.TenantPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.CharField(max_length=150)
    activated_at = models.DateTimeField()
    comment = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=16, default="activate")  # activate | rollback
    change_request = models.ForeignKey(
        "runtime_config.ConfigChangeRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        db_table = "activation_history"
        indexes = [models.Index(fields=["tenant", "revision"], name="activation_hist_ten_rev")]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "revision"], name="activation_hist_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} r{self.revision}"


class ChangeRequestStatus(models.TextChoices):
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"  # approved (or needing no approval), waiting for `apply_at`
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    STALE = "STALE"


class ConfigChangeRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="change_requests"
    )
    domain = models.CharField(max_length=200)
    domain_pack = models.ForeignKey(
        "packs.DomainPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tenant_pack = models.ForeignKey(
        "packs.TenantPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    base_revision = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, default="activate")  # activate | rollback
    status = models.CharField(max_length=16, choices=ChangeRequestStatus.choices, default="PENDING")
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.CharField(max_length=150, blank=True, default="")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    review_comment = models.TextField(blank=True, default="")
    # A scheduled activation: applied by the worker at this time (DESIGN §14).
    apply_at = models.DateTimeField(null=True, blank=True)
    # Why the request ended as it did when no person decided it (e.g. the check that failed when
    # a scheduled activation came due: "pack_deprecated: …").
    status_reason = models.TextField(blank=True, default="")

    class Meta:
        db_table = "config_change_requests"
        indexes = [
            models.Index(fields=["status", "tenant"], name="ccr_status_tenant_idx"),
            models.Index(fields=["status", "apply_at"], name="ccr_status_apply_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ChangeRequestStatus.values),
                name="ccr_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.status} {self.id}"
