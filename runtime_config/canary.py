"""Canary and shadow inside a tenant (DESIGN §16, docs/rollouts.md).

A tenant in a rollout's canary serves `percent` of its exceptions from the candidate
configuration (the rollout's domain pack with the tenant's own tenant pack). Which exceptions is
decided by a stable hash of the exception id: the first 8 bytes of
sha256("<rollout id>:<exception id>") as an integer, modulo 10,000, below percent * 100 — the
same in every process and across restarts. An evaluation without an exception id is served by
the baseline.

The candidate is built when the tenant's configuration is loaded and cached with it
(`EffectiveConfig.canary`), so the evaluate path costs one hash more, no query.

Shadow: the other arm is evaluated too, without acting, and divergent decisions (severity,
playbook, approval) are counted per rule. Counts accumulate in this process's memory and are
flushed to `canary_shadow_counts` (one UPDATE per rule and rollout, with the count of
evaluations each arm served, `*served:<arm>`) at most every
CANARY_SHADOW_FLUSH_SECONDS, never a row per evaluation."""

import logging
import threading
import time
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from runtime_config.effective import EffectiveConfig
from runtime_config.models import CanaryShadowCount

log = logging.getLogger(__name__)

SCALE = 10_000
BASELINE = "baseline"
CANDIDATE = "candidate"
EVALUATED, DIVERGENT, ERRORS = "*evaluated", "*divergent", "*errors"


def canary_bucket(rollout_id: str, exception_id: str) -> int:
    """0..9999, the same for the same pair in every process."""
    digest = sha256(f"{rollout_id}:{exception_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SCALE


@dataclass(frozen=True, slots=True)
class Canary:
    rollout_id: str
    percent: int
    shadow: bool
    candidate: EffectiveConfig

    def arm(self, exception_id: str | None) -> str:
        if not exception_id:
            return BASELINE
        if canary_bucket(self.rollout_id, exception_id) < self.percent * 100:
            return CANDIDATE
        return BASELINE


# --- shadow counts ---------------------------------------------------------------------------

_counts: dict[tuple[str, str], int] = {}
_lock = threading.Lock()


class _Flush:
    next_at = 0.0


_flush = _Flush()


def divergence_keys(serving: dict[str, Any], other: dict[str, Any], arm: str) -> list[str]:
    """The rules behind each decision field on which the two arms differ ([] when they agree).
    Keys name the candidate's side: `severity:<pointer of the rule that decided it>`,
    `playbook:<playbook id>`, `approval:<severity>`."""
    candidate, baseline = (serving, other) if arm == CANDIDATE else (other, serving)
    keys = []
    if candidate["severity"] != baseline["severity"]:
        keys.append(f"severity:{_severity_rule(candidate)}")
    if _playbook_id(candidate) != _playbook_id(baseline):
        keys.append(f"playbook:{_playbook_id(candidate)}")
    if candidate["requires_approval"] != baseline["requires_approval"]:
        keys.append(f"approval:{candidate['severity']}")
    return keys


def _severity_rule(decision: dict[str, Any]) -> str:
    why = decision["explanation"]["severity"]
    if why["decided_by"] == "tenant_override":
        return why["override"]["pointer"]
    if why["decided_by"] == "domain_rule":
        return why["rule"]["pointer"]
    return "default"


def _playbook_id(decision: dict[str, Any]) -> str | None:
    playbook = decision["playbook"]
    return playbook["playbook_id"] if playbook else None


def shadow_count(rollout_id: str, arm: str, keys: list[str] | None) -> None:
    """Count one evaluation of a tenant in canary: the arm that served it and, when shadowed
    (`keys` not None), its divergent rules (or ERRORS: the other arm could not evaluate it).
    Flushes when due."""
    with _lock:
        served = (rollout_id, f"*served:{arm}")
        _counts[served] = _counts.get(served, 0) + 1
        if keys is not None:
            _counts[(rollout_id, EVALUATED)] = _counts.get((rollout_id, EVALUATED), 0) + 1
            if keys and keys != [ERRORS]:
                _counts[(rollout_id, DIVERGENT)] = _counts.get((rollout_id, DIVERGENT), 0) + 1
            for key in keys:
                _counts[(rollout_id, key)] = _counts.get((rollout_id, key), 0) + 1
    now = time.monotonic()
    if now >= _flush.next_at:
        _flush.next_at = now + settings.CANARY_SHADOW_FLUSH_SECONDS
        shadow_flush()


def shadow_flush() -> int:
    """Write this process's counts (added to the stored ones, atomically); returns rows touched.
    On a database error the counts are kept for the next flush."""
    with _lock:
        pending = dict(_counts)
        _counts.clear()
    if not pending:
        return 0
    try:
        with transaction.atomic():
            for (rollout_id, rule), count in sorted(pending.items()):
                _add(rollout_id, rule[:300], count)
    except Exception:
        log.warning("canary shadow counts could not be flushed; kept for the next try")
        with _lock:
            for key, count in pending.items():
                _counts[key] = _counts.get(key, 0) + count
        return 0
    return len(pending)


def _add(rollout_id: str, rule: str, count: int) -> None:
    rows = CanaryShadowCount.objects.filter(rollout_id=rollout_id, rule=rule)
    if rows.update(count=F("count") + count):
        return
    try:
        with transaction.atomic():
            CanaryShadowCount.objects.create(rollout_id=rollout_id, rule=rule, count=count)
    except IntegrityError:  # another process created it meanwhile
        rows.update(count=F("count") + count)


def reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _counts.clear()
    _flush.next_at = 0.0
