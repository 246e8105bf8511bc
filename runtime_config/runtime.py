"""The runtime's view of a tenant: its effective configuration (runtime_config.effective), read
from the database (the source of truth) or the file fallback, checked against its stored
checksums, and cached per process (runtime_config.cache) until a generation bump or the TTL.

`get_effective_config` is called on every evaluation, so its cache-hit path is kept to a dict
lookup and a clock comparison."""

import logging
from dataclasses import replace
from time import monotonic, time
from typing import Any

from django.conf import settings

from onboarding import metrics
from onboarding.errors import Conflict, InvalidInput, NotFound, ServiceError, finding
from packs.canonical import checksum
from runtime_config import cache as _cache
from runtime_config import health, push
from runtime_config.canary import Canary
from runtime_config.effective import EffectiveConfig, PackSource, build_effective_config
from runtime_config.fallback import load_from_files
from runtime_config.models import TenantActiveConfig, TenantCanary
from tenants.access import tenant_not_found
from tenants.models import Tenant, TenantStatus

log = logging.getLogger(__name__)


class ConfigIntegrityError(ServiceError):
    status = 503
    code = "config_integrity_failure"
    title = "Configuration refused"


def no_active_config(tenant_id: str) -> NotFound:
    return NotFound(f"Tenant {tenant_id!r} has no active configuration.", code="no_active_config")


def tenant_suspended(tenant_id: str) -> Conflict:
    return Conflict(
        f"Tenant {tenant_id!r} is suspended; its configuration is not served.",
        code="tenant_suspended",
    )


# --- loading and caching --------------------------------------------------------------------


def get_effective_config(tenant_id: str, min_revision: int | None = None) -> EffectiveConfig:
    """The tenant's effective configuration, from the process cache when fresh. Raises
    NotFound (`tenant_not_found`, `no_active_config`), Conflict (`tenant_suspended`,
    `revision_not_available`) or ConfigIntegrityError (stored content no longer matches its
    checksum).

    `min_revision` (read-your-writes): never answer with a revision older than this; a cache
    entry that is older costs one indexed query to learn whether a newer one exists."""
    now = monotonic()
    state = _cache.state
    if now >= state.next_check:
        push.tick(now)
    entry = _cache._entries.get(tenant_id)
    if entry is not None and entry[0] > now:
        if settings.METRICS_ENABLED:
            metrics.CACHE_HIT.inc()
        value = entry[1]
        if value.__class__ is EffectiveConfig:
            if min_revision is None or value.revision >= min_revision:
                return value
            return _at_least(tenant_id, min_revision)
        if min_revision is None:
            raise value()
        return _at_least(tenant_id, min_revision)
    if min_revision is None:
        return load_and_cache(tenant_id)
    return _at_least(tenant_id, min_revision)


def _at_least(tenant_id: str, min_revision: int) -> EffectiveConfig:
    stored = (
        TenantActiveConfig.objects.filter(tenant_id=tenant_id)
        .values_list("revision", flat=True)
        .first()
    )
    if stored is not None and stored < min_revision:
        raise revision_not_available(tenant_id, min_revision, stored)
    _cache.drop(tenant_id)
    config = load_and_cache(tenant_id)
    if config.revision < min_revision:
        raise revision_not_available(tenant_id, min_revision, config.revision)
    return config


def revision_not_available(tenant_id: str, wanted: int, current: int) -> Conflict:
    return Conflict(
        f"Tenant {tenant_id!r} is at revision {current}; revision {wanted} does not exist yet.",
        code="revision_not_available",
        errors=[
            finding(
                "revision_not_available",
                "/min_revision",
                f"The active revision is {current}.",
            )
        ],
        extra={"current_revision": current},
    )


MAX_REVISION = 2**31 - 1


def parse_min_revision(raw: Any, path: str = "/min_revision") -> int | None:
    """A `min_revision` query value: digits only, 0..2^31-1 (the column's range); else 400."""
    if raw is None:
        return None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 10:
        value = int(raw)
        if value <= MAX_REVISION:
            return value
    raise InvalidInput(
        "min_revision must be a whole number from 0 to 2147483647.",
        code="invalid_min_revision",
        errors=[finding("invalid_min_revision", path, "Expected a revision number.")],
    )


def load_and_cache(tenant_id: str) -> EffectiveConfig:
    epoch = _cache.state.epoch
    if settings.METRICS_ENABLED:
        metrics.CACHE_MISS.inc()
    try:
        config = load_effective_config(tenant_id)
    except ServiceError as exc:
        _cache.store(tenant_id, _refusal(exc), epoch)
        raise
    _cache.store(tenant_id, config, epoch)
    _loaded_revisions[tenant_id] = config.revision
    return config


# tenant_id -> the revision this process last loaded (the propagation lag's "before").
_loaded_revisions: dict[str, int] = {}


def reload_after_push(tenant_id: str) -> EffectiveConfig:
    """The push listener's reload of a tenant a message dropped. When it brings a newer revision
    than this process had loaded, the time since that activation's commit is the propagation lag
    (`onboarding_propagation_lag_seconds`: its `activated_at` is taken in the activating
    transaction, just before the commit)."""
    previous = _loaded_revisions.get(tenant_id)
    config = load_and_cache(tenant_id)
    if previous is not None and config.revision > previous:
        activated_at = (
            TenantActiveConfig.objects.filter(tenant_id=tenant_id, revision=config.revision)
            .values_list("activated_at", flat=True)
            .first()
        )
        if activated_at is not None:
            metrics.PROPAGATION_LAG.observe(max(time() - activated_at.timestamp(), 0.0))
    return config


def _refusal(exc: ServiceError):
    # A fresh exception per raise: re-raising one instance would keep growing its traceback.
    def make() -> ServiceError:
        return type(exc)(
            exc.detail, code=exc.code, errors=list(exc.errors), status=exc.status, extra=exc.extra
        )

    return make


def invalidate() -> None:
    """Drop this process's cached configurations and re-read the generation on the next call
    (tests, management commands)."""
    _cache.clear_local()
    _cache.state.next_check = 0.0


def load_effective_config(tenant_id: str) -> EffectiveConfig:
    """Uncached: read the active configuration (or the file fallback) and build it."""
    tenant = Tenant.objects.filter(tenant_id=tenant_id).only("tenant_id", "status").first()
    if tenant is not None and tenant.status == TenantStatus.SUSPENDED:
        raise tenant_suspended(tenant_id)
    row = None
    if tenant is not None:
        row = (
            TenantActiveConfig.objects.select_related("domain_pack", "tenant_pack")
            .filter(tenant_id=tenant_id, domain_pack__isnull=False)
            .first()
        )
    if row is None:
        config = load_from_files(tenant_id)
        if config is not None:
            return config
        if tenant is None:
            raise tenant_not_found(tenant_id)
        raise no_active_config(tenant_id)
    domain_pack = _verified(tenant_id, row.domain_pack, "domain")
    tenant_pack = _verified(tenant_id, row.tenant_pack, "tenant") if row.tenant_pack else None
    health.integrity_ok(tenant_id)
    activated_at = row.activated_at.isoformat() if row.activated_at else None
    config = build_effective_config(
        tenant_id=tenant_id,
        domain=row.domain_pack.domain,
        domain_pack=domain_pack,
        tenant_pack=tenant_pack,
        revision=row.revision,
        source="database",
        activated_at=activated_at,
    )
    canary = TenantCanary.objects.select_related("domain_pack").filter(tenant_id=tenant_id).first()
    if canary is None:
        return config
    # The candidate arm: the rollout's domain pack with the tenant's own tenant pack, built and
    # cached with the baseline (runtime_config.canary).
    candidate = build_effective_config(
        tenant_id=tenant_id,
        domain=canary.domain_pack.domain,
        domain_pack=_verified(tenant_id, canary.domain_pack, "domain"),
        tenant_pack=tenant_pack,
        revision=row.revision,
        source="database",
        activated_at=activated_at,
    )
    return replace(
        config,
        canary=Canary(
            rollout_id=str(canary.rollout_id),
            percent=canary.percent,
            shadow=canary.shadow,
            candidate=candidate,
        ),
    )


def _verified(tenant_id: str, pack, kind: str) -> PackSource:
    actual = checksum(pack.content_json)
    if actual != pack.checksum:
        health.integrity_failed(tenant_id)
        log.error(
            "integrity: %s pack %s %s (id %s) of tenant %s has checksum %s but stored %s; "
            "refusing to serve it",
            kind,
            pack.domain,
            pack.version,
            pack.pk,
            tenant_id,
            actual,
            pack.checksum,
        )
        raise ConfigIntegrityError(
            f"The stored {kind} pack {pack.version} of tenant {tenant_id!r} does not match its "
            "checksum; it is not served. Operators have been alerted in the logs.",
            extra={"tenant_id": tenant_id, "pack_type": kind, "version": pack.version},
        )
    return PackSource(content=pack.content_json, version=pack.version, checksum=pack.checksum)
