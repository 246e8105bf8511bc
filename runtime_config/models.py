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
    # Null only for a change of the global setting (kind "policy"), which names no tenant.
    tenant = models.ForeignKey(
        "tenants.Tenant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="change_requests",
    )
    domain = models.CharField(max_length=200)
    domain_pack = models.ForeignKey(
        "packs.DomainPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tenant_pack = models.ForeignKey(
        "packs.TenantPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    base_revision = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, default="activate")  # activate | rollback | policy
    # kind "policy": the proposed approval policy, {"scope": "tenant"|"global",
    # "require_activation_approval": true|false|null}.
    policy = models.JSONField(null=True, blank=True)
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


class RuntimeProcess(models.Model):
    """A process that serves the runtime, as its last heartbeat described it (convergence)."""

    process_id = models.CharField(primary_key=True, max_length=64)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "runtime_processes"
        indexes = [models.Index(fields=["seen_at"], name="runtime_proc_seen_idx")]

    def __str__(self) -> str:
        return self.process_id


class ServedConfig(models.Model):
    """Which revision of a tenant's configuration a process serves; written when it changes, so a
    heartbeat of an unchanged process is one row update."""

    process = models.ForeignKey(RuntimeProcess, on_delete=models.CASCADE, related_name="served")
    # No foreign key: a process may serve a tenant from the file fallback, and the heartbeat must
    # never fail on what it reports.
    tenant_id = models.CharField(max_length=64)
    revision = models.PositiveIntegerField()
    checksum = models.CharField(max_length=64)
    # The pair checksum of the canary's candidate arm this process serves with it ("" without).
    candidate_checksum = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "runtime_served_configs"
        indexes = [models.Index(fields=["tenant_id"], name="runtime_served_tenant_idx")]
        constraints = [
            models.UniqueConstraint(fields=["process", "tenant_id"], name="runtime_served_unique")
        ]

    def __str__(self) -> str:
        return f"{self.process_id} {self.tenant_id} r{self.revision}"


class TenantCanary(models.Model):
    """A tenant in a rollout's canary (DESIGN §16): the candidate domain pack (paired with the
    tenant's current tenant pack) serves `percent` of its exceptions; `shadow` evaluates the
    other arm too. Written by the rollouts app through runtime_config.services.canary."""

    tenant = models.OneToOneField(
        "tenants.Tenant", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    domain_pack = models.ForeignKey("packs.DomainPack", on_delete=models.PROTECT, related_name="+")
    percent = models.PositiveSmallIntegerField()
    shadow = models.BooleanField(default=False)
    rollout_id = models.UUIDField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tenant_canaries"

    def __str__(self) -> str:
        return f"{self.tenant_id} canary {self.percent}% ({self.rollout_id})"


class CanaryShadowCount(models.Model):
    """Shadow counts of one rollout, flushed from each serving process's memory at most every
    CANARY_SHADOW_FLUSH_SECONDS (never a row per evaluation): `rule` is a divergent rule's key,
    or `*evaluated`, `*divergent`, `*errors` for the totals."""

    rollout_id = models.UUIDField()
    rule = models.CharField(max_length=300)
    count = models.BigIntegerField(default=0)

    class Meta:
        db_table = "canary_shadow_counts"
        constraints = [
            models.UniqueConstraint(fields=["rollout_id", "rule"], name="canary_shadow_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rollout_id} {self.rule} {self.count}"
