"""Decision impact (DESIGN §14): every sample exception evaluated under the current and the
proposed configuration, and those whose severity, playbook or approval change.

Samples are the `testSuites` of the packs involved (the proposed pair's first, then the current
pair's) followed by the tenant's own set (`tenant_sample_sets`). Each configuration is built and
its conditions compiled once (`runtime.build_effective_config`, the runtime's own path), and each
sample is decided by `evaluator.decide`, the evaluator without its explanation:

- the payload is converted for the CEL library once per sample and shared by both configurations;
- a condition's result depends on the sample alone, so a condition both configurations hold is
  evaluated once (`matched`);
- each configuration's rules are indexed by the exception type they can match, so a sample meets
  only the rules of its type (and the unguarded ones).

A sample that cannot be evaluated (unknown exception type, a payload too costly for the rules) is
counted in `errors` and shown as `{"error": code}`, never raised. The run stops after
IMPACT_TIME_BUDGET_MS with `partial: true`: a dry run answers whatever the samples cost.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

from django.conf import settings
from django.core.cache import cache

from impact.models import TenantSampleSet
from onboarding import metrics
from onboarding.errors import ServiceError
from packs.cel import Activation
from packs.models import DomainPack, TenantPack
from runtime_config.effective import (
    EffectiveConfig,
    PackSource,
    SeverityRule,
    build_effective_config,
)
from runtime_config.evaluator import decide

Pair = tuple[DomainPack | None, TenantPack | None]


@dataclass(frozen=True, slots=True)
class Sample:
    source: str  # where it comes from, for a person: "domain pack X 1.0 /testSuites/3"
    exception_type: Any
    payload: Any


def pack_samples(label: str, content: Any) -> list[Sample]:
    """The cases of a pack's `testSuites` as samples (`input.exceptionType`, `input.rawPayload`);
    a malformed case is left out, as validation leaves it out of the self-tests."""
    cases = content.get("testSuites") if isinstance(content, dict) else None
    found = []
    for index, case in enumerate(cases if isinstance(cases, list) else []):
        given = case.get("input") if isinstance(case, dict) else None
        if not isinstance(given, dict):
            continue
        found.append(
            Sample(
                f"{label} /testSuites/{index}",
                given.get("exceptionType"),
                given.get("rawPayload", {}),
            )
        )
    return found


def tenant_samples(tenant_id: str) -> list[Sample]:
    stored = (
        TenantSampleSet.objects.filter(tenant_id=tenant_id)
        .values_list("samples", flat=True)
        .first()
    )
    return [
        Sample(f"tenant samples #{number}", item.get("exception_type"), item.get("payload"))
        for number, item in enumerate(stored or [], start=1)
        if isinstance(item, dict)
    ]


def samples_for(tenant_id: str, pairs: Sequence[Pair]) -> list[Sample]:
    seen: set[tuple[str, int]] = set()
    found: list[Sample] = []
    for domain_pack, tenant_pack in pairs:
        for kind, pack in (("domain", domain_pack), ("tenant", tenant_pack)):
            if pack is None or (kind, pack.pk) in seen:
                continue
            seen.add((kind, pack.pk))
            label = (
                f"domain pack {pack.domain} {pack.version}"
                if kind == "domain"
                else f"tenant pack {pack.version}"
            )
            found.extend(pack_samples(label, pack.content_json))
    return found + tenant_samples(tenant_id)


def compile_pair(tenant_id: str, pair: Pair) -> EffectiveConfig | None:
    """The pair as the runtime would serve it (None: no domain pack, nothing served)."""
    domain_pack, tenant_pack = pair
    if domain_pack is None:
        return None
    return build_effective_config(
        tenant_id=tenant_id,
        domain=domain_pack.domain,
        domain_pack=PackSource(domain_pack.content_json, domain_pack.version, domain_pack.checksum),
        tenant_pack=None
        if tenant_pack is None
        else PackSource(tenant_pack.content_json, tenant_pack.version, tenant_pack.checksum),
        revision=0,
        source="impact",
    )


class _Side:
    """One configuration, with its severity rules indexed by the exception type they can match
    (one pass over the rules, however many exception types the samples name)."""

    __slots__ = ("_by_type", "_rules", "_unguarded", "config")

    def __init__(self, config: EffectiveConfig | None):
        self.config = config
        self._rules: dict[Any, tuple[SeverityRule, ...]] = {}
        self._by_type: dict[str, list[SeverityRule]] | None = None
        self._unguarded: list[SeverityRule] = []

    def rules_for(self, exception_type: Any) -> tuple[SeverityRule, ...]:
        rules = self._rules.get(exception_type)
        if rules is None:
            if self._by_type is None:
                self._index()
            guarded = self._by_type.get(exception_type, [])
            if self._unguarded:
                # Rules apply in pack order: merge the two by their index.
                merged = sorted([*guarded, *self._unguarded], key=lambda rule: rule.index)
                rules = tuple(merged)
            else:
                rules = tuple(guarded)
            self._rules[exception_type] = rules
        return rules

    def _index(self) -> None:
        self._by_type = {}
        for rule in self.config.severity_rules:
            if rule.compiled is None:
                continue
            guard = rule.compiled.exception_type
            if guard is None:
                self._unguarded.append(rule)
            else:
                self._by_type.setdefault(guard, []).append(rule)

    def outcome(self, sample: Sample, activation: Activation, matched: dict[str, bool]):
        """(severity, playbook, approval), an error code, or None (no configuration)."""
        if self.config is None:
            return None
        kind = sample.exception_type
        try:
            rules = self.rules_for(kind) if isinstance(kind, str) else ()
            return decide(
                self.config, kind, sample.payload, activation, rules=rules, matched=matched
            )
        except ServiceError as exc:
            return exc.code


def _shown(outcome) -> dict[str, Any] | None:
    if outcome is None:
        return None
    if isinstance(outcome, str):
        return {"error": outcome}
    severity, playbook, approval = outcome
    return {"severity": severity, "playbook": playbook, "approval": approval}


def evaluate_impact(
    before: EffectiveConfig | None,
    after: EffectiveConfig | None,
    samples: Iterable[Sample],
    *,
    max_changes: int | None = None,
    time_budget_ms: int | None = None,
) -> dict[str, Any]:
    """Run every sample under both configurations (see the module docstring)."""
    samples = list(samples)
    max_changes = max_changes or settings.IMPACT_MAX_CHANGES
    budget = time_budget_ms if time_budget_ms is not None else settings.IMPACT_TIME_BUDGET_MS
    deadline = monotonic() + budget / 1000
    old, new = _Side(before), _Side(after)
    changes: list[dict[str, Any]] = []
    changed = errors = evaluated = 0
    partial = False
    for index, sample in enumerate(samples):
        # Read before every sample (about 50 ns): one sample costs at most its evaluation budget
        # (packs.cel.EVALUATION_BUDGET) per side, so the run overshoots by at most that.
        if index and monotonic() > deadline:
            partial = True
            break
        evaluated += 1
        matched: dict[str, bool] = {}
        try:
            activation = Activation(sample.exception_type, sample.payload)
        except ServiceError as exc:  # too large for one evaluation's budget on its own
            errors += 1
            first = exc.code if old.config is not None else None
            second = exc.code if new.config is not None else None
        else:
            first = old.outcome(sample, activation, matched)
            second = new.outcome(sample, activation, matched)
            if isinstance(first, str) or isinstance(second, str):
                errors += 1
        if first == second:
            continue
        changed += 1
        if len(changes) < max_changes:
            changes.append(
                {
                    "source": sample.source,
                    "exception_type": sample.exception_type,
                    "before": _shown(first),
                    "after": _shown(second),
                }
            )
    return {
        "samples": len(samples),
        "evaluated": evaluated,
        "changed": changed,
        "errors": errors,
        "partial": partial,
        "truncated": changed > len(changes),
        "changes": changes,
    }


def decision_impact(*, tenant_id: str, before: Pair, after: Pair) -> dict[str, Any]:
    """The impact of moving `tenant_id` from the `before` pair to the `after` pair.

    A result depends only on the two pairs (immutable rows) and the tenant's sample set, so a
    complete one is cached under exactly those: a review page that any reader of the tenant may
    reload would otherwise cost up to IMPACT_TIME_BUDGET_MS of CPU per request."""
    key = _cache_key(tenant_id, before, after)
    cached = _cache_get(key)
    if cached is not None:
        return cached
    result = compute_impact(tenant_id=tenant_id, before=before, after=after)
    if not result["partial"]:
        _cache_set(key, result)
    return result


def compute_impact(
    *, tenant_id: str, before: Pair, after: Pair, time_budget_ms: int | None = None
) -> dict[str, Any]:
    """One run, uncached: the worker's stored runs (impact.runs) and `decision_impact` share it."""
    started = monotonic()
    samples = samples_for(tenant_id, [after, before])
    result = evaluate_impact(
        compile_pair(tenant_id, before),
        compile_pair(tenant_id, after),
        samples,
        time_budget_ms=time_budget_ms,
    )
    metrics.IMPACT_SECONDS.labels(result="partial" if result["partial"] else "complete").observe(
        monotonic() - started
    )
    tenant_count = sum(1 for sample in samples if sample.source.startswith("tenant samples"))
    result["sources"] = {"packs": len(samples) - tenant_count, "tenant": tenant_count}
    return result


CACHE_SECONDS = 3600


def _cache_key(tenant_id: str, before: Pair, after: Pair) -> str:
    sample_set = TenantSampleSet.objects.filter(tenant_id=tenant_id).values_list("checksum").first()
    packs = [
        (pack.pk, pack.version, pack.checksum) if pack is not None else None
        for pack in (*before, *after)
    ]
    parts = [tenant_id, packs, sample_set, settings.IMPACT_MAX_CHANGES]
    return "impact:v1:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _cache_get(key: str) -> dict[str, Any] | None:
    # The cache only saves work: an unreachable one must never fail a review or a dry run.
    try:
        return cache.get(key)
    except Exception:
        return None


def _cache_set(key: str, result: dict[str, Any]) -> None:
    try:
        cache.set(key, result, CACHE_SECONDS)
    except Exception:
        return
