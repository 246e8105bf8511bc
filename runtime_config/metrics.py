"""runtime_config's part of the metrics (onboarding.metrics, docs/operability.md), connected in
RuntimeConfigConfig.ready:

- `onboarding_activations_total{kind}` and `onboarding_rollbacks_total`: the `config_activated`
  signal, counted when its transaction commits (a rolled-back activation counts nothing);
- at scrape time, from the convergence rows: `onboarding_runtime_processes` (live serving
  processes) and `onboarding_runtime_processes_not_converged` (live processes serving some
  tenant a revision or pack pair other than its active one)."""

from django.db import transaction
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from onboarding import metrics
from runtime_config import signals
from runtime_config.convergence import pair_checksum, silence
from runtime_config.models import RuntimeProcess, ServedConfig, TenantActiveConfig
from runtime_config.services.targets import KIND_ROLLBACK


def count_activation(sender, event=None, **kwargs) -> None:
    kind = str(event.details.get("kind") or "activate")
    if kind == KIND_ROLLBACK:
        transaction.on_commit(metrics.ROLLBACKS.inc)
    else:
        transaction.on_commit(metrics.ACTIVATIONS.labels(kind=kind).inc)


def convergence_families():
    live = timezone.now() - silence()
    processes = RuntimeProcess.objects.filter(seen_at__gte=live).count()
    served = list(
        ServedConfig.objects.filter(process__seen_at__gte=live).values_list(
            "process_id", "tenant_id", "revision", "checksum"
        )
    )
    tenants = {tenant_id for _, tenant_id, _, _ in served}
    active = {
        tenant_id: (revision, pair_checksum(domain, tenant))
        for tenant_id, revision, domain, tenant in TenantActiveConfig.objects.filter(
            tenant_id__in=tenants
        ).values_list("tenant_id", "revision", "domain_pack__checksum", "tenant_pack__checksum")
    }
    behind = {
        process_id
        for process_id, tenant_id, revision, checksum in served
        if active.get(tenant_id) != (revision, checksum)
    }
    yield GaugeMetricFamily(
        f"{metrics.PREFIX}_runtime_processes",
        "Serving processes that wrote a convergence heartbeat within three heartbeat intervals "
        "(at least 10 s).",
        value=processes,
    )
    yield GaugeMetricFamily(
        f"{metrics.PREFIX}_runtime_processes_not_converged",
        "Live serving processes that serve some tenant another revision or pack pair than its "
        "active one.",
        value=len(behind),
    )


def connect() -> None:
    signals.config_activated.connect(count_activation, dispatch_uid="runtime_config.metrics")
    metrics.register_scrape_collector("runtime_config.convergence", convergence_families)
