"""Fleet rollouts (DESIGN §16): a plan that moves tenants to a domain pack version in waves, with
a bake time between waves, guards that halt it, and every tenant's outcome."""

import uuid

from django.db import models


class RolloutStatus(models.TextChoices):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    RUNNING = "RUNNING"  # the next wave is due now
    BAKING = "BAKING"  # a wave applied; the next one is due at `next_wave_at`
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    HALTED = "HALTED"
    ROLLED_BACK = "ROLLED_BACK"
    CANCELLED = "CANCELLED"


# A rollout in one of these holds its tenants: no other rollout may name them.
OPEN_STATUSES = (
    RolloutStatus.PENDING_APPROVAL,
    RolloutStatus.RUNNING,
    RolloutStatus.BAKING,
    RolloutStatus.PAUSED,
)
# The worker moves these on.
ACTIVE_STATUSES = (RolloutStatus.RUNNING, RolloutStatus.BAKING)


class WaveStatus(models.TextChoices):
    PENDING = "PENDING"
    APPLIED = "APPLIED"


class TenantStatus(models.TextChoices):
    PENDING = "PENDING"
    MOVED = "MOVED"
    CANARY = "CANARY"  # in the rollout's canary: the candidate serves a share of its exceptions
    SKIPPED = "SKIPPED"
    RESTORED = "RESTORED"
    NOT_RESTORED = "NOT_RESTORED"  # moved by someone else since: left as it is, with the reason


class Rollout(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    domain = models.CharField(max_length=200)
    domain_pack = models.ForeignKey("packs.DomainPack", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=RolloutStatus.choices)
    bake_seconds = models.PositiveIntegerField()
    max_skipped = models.PositiveIntegerField(null=True, blank=True)  # null: no limit
    auto_rollback = models.BooleanField(default=True)
    # {"max_divergence_pct": float|None, "max_eval_errors": int|None}
    guards = models.JSONField(default=dict)
    # {"eval_errors": int, "divergence_pct": float, "alarms": [{reason, actor, at}]}
    readings = models.JSONField(default=dict)
    canary = models.JSONField(null=True, blank=True)
    next_wave_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True, default="")
    change_request = models.ForeignKey(
        "runtime_config.ConfigChangeRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    comment = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who the worker acts as when it applies a wave: the approver, else the requester.
    acting_as = models.CharField(max_length=150)

    class Meta:
        db_table = "rollouts"
        indexes = [models.Index(fields=["status", "next_wave_at"], name="rollout_status_next_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=RolloutStatus.values), name="rollout_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.domain} {self.status} {self.id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class RolloutWave(models.Model):
    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="waves")
    index = models.PositiveIntegerField()  # 0-based
    percent = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=WaveStatus.choices, default="PENDING")
    applied_at = models.DateTimeField(null=True, blank=True)
    moved = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "rollout_waves"
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["rollout", "index"], name="rollout_wave_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rollout_id} wave {self.index + 1}"


class RolloutTenant(models.Model):
    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="tenants")
    wave = models.ForeignKey(RolloutWave, on_delete=models.CASCADE, related_name="tenants")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=TenantStatus.choices, default="PENDING")
    # True while the rollout is open: a tenant is in at most one open rollout (unique below).
    holding = models.BooleanField(default=True)
    revision_before = models.PositiveIntegerField(null=True, blank=True)
    revision_after = models.PositiveIntegerField(null=True, blank=True)
    restored_revision = models.PositiveIntegerField(null=True, blank=True)
    # The pair the tenant ran before it moved, to restore it.
    from_domain_pack = models.ForeignKey(
        "packs.DomainPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_tenant_pack = models.ForeignKey(
        "packs.TenantPack", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    skip_reason = models.TextField(blank=True, default="")

    class Meta:
        db_table = "rollout_tenants"
        ordering = ["wave__index", "tenant_id"]
        constraints = [
            models.UniqueConstraint(fields=["rollout", "tenant"], name="rollout_tenant_unique"),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(holding=True),
                name="rollout_tenant_one_open",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "holding"], name="rollout_tenant_hold_idx")]

    def __str__(self) -> str:
        return f"{self.rollout_id} {self.tenant_id} {self.status}"
