"""Convergence (DESIGN §14): which revision of each tenant's configuration every serving process
answers with.

The heartbeat thread of each process (runtime_config.push) calls `report` at most every
RUNTIME_HEARTBEAT_INTERVAL (5 s): one upsert of its `runtime_processes` row, plus rows of
`runtime_served_configs` only for tenants whose served revision changed since the last report.
Nothing runs on the request path. A process silent for SILENCE seconds no longer counts; rows of
processes gone for an hour are deleted by any live process."""

import hashlib
import threading
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from runtime_config import cache
from runtime_config.models import RuntimeProcess, ServedConfig

SILENCE = timedelta(seconds=30)
FORGET_AFTER = timedelta(hours=1)
PURGE_EVERY = timedelta(minutes=5)

_lock = threading.Lock()
# tenant_id -> (revision, checksum) as last written by this process; None: write everything.
_reported: dict[str, tuple[int, str]] | None = None
_started_at = None
_last_purge = None


def pair_checksum(domain_checksum: str | None, tenant_checksum: str | None) -> str:
    """One checksum for the (domain pack, tenant pack) pair a process serves."""
    text = f"{domain_checksum or '-'}:{tenant_checksum or '-'}"
    return hashlib.sha256(text.encode()).hexdigest()


def served_now() -> dict[str, tuple[int, str]]:
    return {
        tenant_id: (
            config.revision,
            pair_checksum(config.domain_pack_checksum, config.tenant_pack_checksum),
        )
        for tenant_id, config in cache.served().items()
    }


def was_reported(tenant_id: str) -> bool:
    reported = _reported
    return reported is not None and tenant_id in reported


def reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    reset()


def forget_reported() -> None:
    """The next report rewrites every row (after a failed write, whose effect is unknown)."""
    global _reported
    with _lock:
        _reported = None


def report(listener: Any) -> None:
    global _reported, _started_at, _last_purge
    now = timezone.now()
    served = served_now()
    with _lock:
        previous = _reported
        _started_at = _started_at or now
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Informative rows, rewritten every few seconds: no need to wait for the WAL
                # flush (a crash loses at most the last beat).
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            process, created = RuntimeProcess.objects.update_or_create(
                process_id=listener.process_id,
                defaults={"seen_at": now},
                create_defaults={
                    "host": listener.host,
                    "pid": listener.pid,
                    "started_at": _started_at,
                    "seen_at": now,
                },
            )
            if previous is None or created:
                ServedConfig.objects.filter(process=process).delete()
                previous = {}
            gone = [tenant_id for tenant_id in previous if tenant_id not in served]
            if gone:
                ServedConfig.objects.filter(process=process, tenant_id__in=gone).delete()
            changed = [
                ServedConfig(
                    process=process,
                    tenant_id=tenant_id,
                    revision=revision,
                    checksum=checksum,
                    updated_at=now,
                )
                for tenant_id, (revision, checksum) in served.items()
                if previous.get(tenant_id) != (revision, checksum)
            ]
            if changed:
                ServedConfig.objects.bulk_create(
                    changed,
                    update_conflicts=True,
                    unique_fields=["process", "tenant_id"],
                    update_fields=["revision", "checksum", "updated_at"],
                )
        _reported = served
        if _last_purge is None or now - _last_purge >= PURGE_EVERY:
            _last_purge = now
            RuntimeProcess.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def deregister(listener: Any) -> None:
    """This process stops serving (it exits): remove its rows, so that it is not listed as
    behind until its silence runs out (a gunicorn worker recycled by --max-requests exits on
    SIGTERM every few minutes). Best effort: a process that dies harder stays until SILENCE."""
    global _reported
    with _lock:
        RuntimeProcess.objects.filter(process_id=listener.process_id).delete()  # rows cascade
        _reported = None


def reset() -> None:
    """Forget what this process reported (tests; a forked child)."""
    global _reported, _started_at, _last_purge
    with _lock:
        _reported, _started_at, _last_purge = None, None, None
