"""Canary and shadow inside a tenant (DESIGN §16): a stable share of each tenant's exceptions is
served by the candidate, the same in every process; evaluate says which arm served; shadow counts
divergent decisions per rule and its guard halts; promotion and rollback end the canary."""

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from onboarding.worker import drain
from rollouts.models import Rollout, RolloutStatus, RolloutTenant, TenantStatus
from runtime_config import convergence
from runtime_config.canary import BASELINE, CANDIDATE, Canary, canary_bucket, shadow_flush
from runtime_config.models import TenantActiveConfig, TenantCanary
from runtime_config.runtime import get_effective_config, invalidate
from runtime_config.selectors import shadow_counts
from tests.api.conftest import assert_problem, send
from tests.db_state import db_state
from tests.rollouts.conftest import ROLLOUTS, plan
from tests.runtime_config.activation_helpers import domain_pack
from tests.ui.conftest import HTML, browser

# The worker's task loop (`drain`) commits: real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

EVALUATE = "/ops/exceptions/evaluate"
WAVES = [{"tenants": ["T01", "T02"]}, {"tenants": ["T03", "T04", "T05", "T06"]}]
IDS = [f"EXC-{number:06d}" for number in range(10_000)]


def _share(rollout_id: str, percent: int) -> float:
    canary = Canary(rollout_id=rollout_id, percent=percent, shadow=False, candidate=None)
    return sum(canary.arm(exception_id) == CANDIDATE for exception_id in IDS) / len(IDS)


@pytest.mark.parametrize("percent", [1, 10, 50, 90])
def test_canary_share__10000_ids__within_3_points_of_percent(percent):
    share = _share(str(uuid.uuid4()), percent)
    assert abs(share * 100 - percent) <= 3, share


def test_canary_arm__no_exception_id__baseline():
    canary = Canary(rollout_id="r", percent=100, shadow=False, candidate=None)
    assert canary.arm(None) == BASELINE
    assert canary.arm("") == BASELINE
    assert canary.arm("EXC-1") == CANDIDATE


SCRIPT = """
import json, sys
import django
django.setup()
from runtime_config import convergence
from runtime_config.canary import canary_bucket
rollout_id = sys.argv[1]
print(json.dumps([canary_bucket(rollout_id, f"EXC-{n:06d}") for n in range(2000)]))
"""


def _buckets_in_subprocess(rollout_id: str, seed: str) -> list[int]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "DJANGO_SETTINGS_MODULE": "onboarding.settings"}
    env.setdefault("DEBUG", "true")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, rollout_id],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_canary_bucket__two_processes_different_hash_seeds__identical_assignment():
    rollout_id = str(uuid.uuid4())
    first = _buckets_in_subprocess(rollout_id, "1")
    second = _buckets_in_subprocess(rollout_id, "2")
    assert first == second
    assert first == [canary_bucket(rollout_id, f"EXC-{n:06d}") for n in range(2000)]
    assert len(set(first)) > 1000  # spread over the buckets, not a constant


# --- through the rollout and the worker -------------------------------------------------------


def _candidate(finance_domain) -> None:
    """v3.4: a first rule that makes every exception CRITICAL (SETTLEMENT_FAIL is HIGH before)."""
    changed = {**finance_domain}
    changed["severityRules"] = [
        {"condition": "exceptionType != ''", "severity": "CRITICAL"},
        *finance_domain["severityRules"],
    ]
    domain_pack(changed, "v3.4")


def _start(client, fleet, *, version: str = "v3.4", extra: dict | None = None, **canary) -> Rollout:
    body = plan(fleet, waves=WAVES, bake_seconds=600, canary=canary, **(extra or {}))
    body["domain_pack_version"] = version
    response = send(client, "POST", ROLLOUTS, body)
    assert response.status_code == 201, response.content
    drain(queues=("rollouts",))
    return Rollout.objects.get(pk=response.json()["id"])


def _bake_over(rollout: Rollout) -> None:
    past = timezone.now() - timedelta(seconds=1)
    Rollout.objects.filter(pk=rollout.pk).update(next_wave_at=past)
    DBTaskResult.objects.filter(queue_name="rollouts", status="READY").update(run_after=past)
    drain(queues=("rollouts",))


def _evaluate(client, tenant_id: str, exception_id: str | None = None) -> dict:
    body = {"tenant_id": tenant_id, "exception_type": "SETTLEMENT_FAIL", "payload": {}}
    if exception_id is not None:
        body["exception_id"] = exception_id
    response = send(client, "POST", EVALUATE, body)
    assert response.status_code == 200, response.content
    return response.json()


def _ids_by_arm(rollout: Rollout, percent: int) -> dict[str, str]:
    canary = Canary(rollout_id=str(rollout.pk), percent=percent, shadow=False, candidate=None)
    found: dict[str, str] = {}
    for exception_id in IDS:
        found.setdefault(canary.arm(exception_id), exception_id)
        if len(found) == 2:
            return found
    raise AssertionError("no id in one of the arms")


def _versions() -> dict[str, str]:
    return dict(TenantActiveConfig.objects.values_list("tenant_id", "domain_pack__version"))


def test_evaluate__tenant_in_canary__answers_arm_and_rollout_id(fleet, admin, finance_domain):
    _candidate(finance_domain)
    rollout = _start(admin.client, fleet, percent=30)
    assert set(TenantCanary.objects.values_list("tenant_id", flat=True)) == {"T01", "T02"}
    assert RolloutTenant.objects.get(rollout=rollout, tenant_id="T01").status == TenantStatus.CANARY
    assert _versions()["T01"] == "v3.2"  # not moved: the canary serves a share
    ids = _ids_by_arm(rollout, 30)

    candidate = _evaluate(admin.client, "T01", ids[CANDIDATE])
    assert (candidate["arm"], candidate["rollout_id"]) == (CANDIDATE, str(rollout.pk))
    assert candidate["severity"] == "CRITICAL"
    assert candidate["explanation"]["packs"]["domain_pack"]["version"] == "v3.4"
    baseline = _evaluate(admin.client, "T01", ids[BASELINE])
    assert (baseline["arm"], baseline["severity"]) == (BASELINE, "HIGH")
    assert _evaluate(admin.client, "T01")["arm"] == BASELINE  # no exception id
    outside = _evaluate(admin.client, "T03", ids[CANDIDATE])  # wave 2: not in canary yet
    assert "arm" not in outside and "rollout_id" not in outside


def test_canary_promotion__bake_over__wave_moves_wholly_and_canary_cleared(
    fleet, admin, finance_domain
):
    _candidate(finance_domain)
    rollout = _start(admin.client, fleet, percent=50)
    _bake_over(rollout)  # wave 1 promoted, wave 2 in canary
    versions = _versions()
    assert (versions["T01"], versions["T02"], versions["T03"]) == ("v3.4", "v3.4", "v3.2")
    assert set(TenantCanary.objects.values_list("tenant_id", flat=True)) == {
        "T03",
        "T04",
        "T05",
        "T06",
    }
    promoted = _evaluate(admin.client, "T01", "EXC-1")
    assert "arm" not in promoted and promoted["severity"] == "CRITICAL"
    _bake_over(rollout)  # wave 2 promoted: completed
    rollout.refresh_from_db()
    assert rollout.status == RolloutStatus.COMPLETED
    assert not TenantCanary.objects.exists()
    assert set(_versions().values()) == {"v3.4"}
    statuses = set(RolloutTenant.objects.filter(rollout=rollout).values_list("status", flat=True))
    assert statuses == {TenantStatus.MOVED}


def test_canary_abort__while_canary_runs__canary_cleared_baseline_serves(
    fleet, admin, finance_domain
):
    _candidate(finance_domain)
    rollout = _start(admin.client, fleet, percent=100)
    assert _evaluate(admin.client, "T01", "EXC-1")["arm"] == CANDIDATE
    response = send(admin.client, "POST", f"{ROLLOUTS}/{rollout.pk}/abort", {"reason": "no"})
    assert response.status_code == 200, response.content
    assert not TenantCanary.objects.exists()
    decision = _evaluate(admin.client, "T01", "EXC-1")
    assert "arm" not in decision and decision["severity"] == "HIGH"
    assert _versions()["T01"] == "v3.2"


def test_canary_shadow__candidate_changes_severity__divergence_counted_per_rule_guard_halts(
    fleet, admin, finance_domain
):
    _candidate(finance_domain)
    rollout = _start(
        admin.client, fleet, percent=20, shadow=True, extra={"guards": {"max_divergence_pct": 5}}
    )
    for exception_id in IDS[:50]:
        _evaluate(admin.client, "T01", exception_id)
    shadow_flush()
    counts = shadow_counts(rollout_id=rollout.pk)
    assert counts["*evaluated"] == 50
    assert counts["*divergent"] == 50
    # The candidate's severity comes from its new first rule on every exception.
    assert counts["severity:/severityRules/0"] == 50
    assert "*errors" not in counts

    _bake_over(rollout)  # the step reads the shadow counts before promoting: the guard trips
    rollout.refresh_from_db()
    assert rollout.readings["divergence_pct"] == 100.0
    # CRITICAL needs approval under the tenant's rules: a second divergent field, its own count.
    assert rollout.readings["rules"] == {"severity:/severityRules/0": 50, "approval:CRITICAL": 50}
    assert rollout.status == RolloutStatus.ROLLED_BACK
    assert rollout.status_reason.startswith("max_divergence_pct")
    assert not TenantCanary.objects.exists()
    assert set(_versions().values()) == {"v3.2"}


def test_canary_shadow__no_divergence__nothing_counted_as_divergent(fleet, admin):
    # Candidate v3.3 decides SETTLEMENT_FAIL like v3.2.
    rollout = _start(admin.client, fleet, version="v3.3", percent=50, shadow=True)
    for exception_id in IDS[:20]:
        _evaluate(admin.client, "T02", exception_id)
    shadow_flush()
    counts = shadow_counts(rollout_id=rollout.pk)
    assert counts.get("*evaluated") == 20
    assert counts.get("*divergent", 0) == 0


@pytest.mark.parametrize(
    "canary",
    [
        {"percent": 0},
        {"percent": 101},
        {"percent": "5"},
        {"percent": 5.5},
        {"percent": True},
        {},
        {"percent": 5, "shadow": "yes"},
        {"percent": 5, "shadow": 1},
        {"percent": 5, "mirror": True},
        [5],
    ],
)
def test_rollout_create__bad_canary__400_invalid_canary_nothing_written(fleet, admin, canary):
    body = plan(fleet, waves=WAVES, canary=canary)
    before = db_state()
    response = send(admin.client, "POST", ROLLOUTS, body)
    code = "invalid_canary" if isinstance(canary, dict) else None
    problem = assert_problem(response, 400, code or response.json()["code"])
    assert db_state() == before
    assert problem["errors"]


def test_rollout_page__canary_running__shows_both_arms_and_shadow_rules(
    fleet, admin, finance_domain
):
    _candidate(finance_domain)
    rollout = _start(admin.client, fleet, percent=100, shadow=True)
    for exception_id in IDS[:3]:
        _evaluate(admin.client, "T01", exception_id)
    shadow_flush()
    response = browser(admin).get(f"{ROLLOUTS}/{rollout.pk}", **HTML)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Canary: 100 % of each tenant's exceptions, with shadow" in page
    assert '<th scope="row">Baseline</th><td>v3.2</td><td>0</td><td>0/0</td>' in page
    assert '<th scope="row">Candidate</th><td>v3.4</td><td>3</td><td>0/0</td>' in page
    assert "T01, T02" in page
    assert "100.0 % of 3 shadowed evaluations" in page
    assert "<code>severity:/severityRules/0</code> 3" in page
    detail = send(admin.client, "GET", f"{ROLLOUTS}/{rollout.pk}").json()
    assert detail["canary"] == {"percent": 100, "shadow": True}
    arms = detail["canary_arms"]
    assert (arms["tenants"], arms["baseline_versions"]) == (["T01", "T02"], ["v3.2"])
    assert arms["live"]["served"] == {"baseline": 0, "candidate": 3}
    assert arms["live"]["rules"]["severity:/severityRules/0"] == 3


def test_canary__candidate_refuses_a_type_the_baseline_knows__400_and_counted_as_error(
    fleet, admin, finance_domain
):
    # v3.5 drops CASH_BREAK: the candidate arm answers unknown_exception_type for it.
    changed = json.loads(json.dumps(finance_domain).replace("CASH_BREAK", "CASH_GAP"))
    domain_pack(changed, "v3.5")
    rollout = _start(admin.client, fleet, version="v3.5", percent=50)
    ids = _ids_by_arm(rollout, 50)
    body = {"tenant_id": "T01", "exception_type": "CASH_BREAK", "payload": {}}
    refused = send(admin.client, "POST", EVALUATE, {**body, "exception_id": ids[CANDIDATE]})
    assert_problem(refused, 400, "unknown_exception_type")
    served = send(admin.client, "POST", EVALUATE, {**body, "exception_id": ids[BASELINE]})
    assert served.status_code == 200 and served.json()["arm"] == BASELINE
    unknown = send(admin.client, "POST", EVALUATE, {**body, "exception_type": "NOPE"})
    assert_problem(unknown, 400, "unknown_exception_type")  # both arms refuse: not counted
    shadow_flush()
    counts = shadow_counts(rollout_id=rollout.pk)
    assert counts["*errors"] == 1
    assert counts["*served:baseline"] == 1


@dataclass
class FakeListener:
    process_id: str
    host: str = "host-1"
    pid: int = 4242


def test_convergence__tenant_in_canary__each_process_reports_both_arms(
    fleet, admin, finance_domain, settings
):
    settings.RUNTIME_CONFIG_TTL = 30  # this process caches what it serves (tests run without)
    _candidate(finance_domain)
    rollout = _start(admin.client, fleet, percent=10)
    invalidate()
    assert get_effective_config("T01").canary is not None  # both arms now cached here
    convergence.reset()
    convergence.report(FakeListener("p1"))
    answer = send(admin.client, "GET", "/admin/tenants/T01/convergence").json()
    assert answer["converged"] is True
    assert answer["candidate"]["rollout_id"] == str(rollout.pk)
    assert answer["candidate"]["converged"] is True
    assert answer["processes"][0]["candidate_current"] is True
    arms = send(admin.client, "GET", f"{ROLLOUTS}/{rollout.pk}").json()["canary_arms"]
    assert arms["convergence"] == {
        "baseline": {"current": 1, "of": 1},
        "candidate": {"current": 1, "of": 1},
    }
    # The canary ends: the process still serves the old candidate until it reloads.
    send(admin.client, "POST", f"{ROLLOUTS}/{rollout.pk}/abort", {})
    assert "candidate" not in send(admin.client, "GET", "/admin/tenants/T01/convergence").json()
    convergence.reset()


@pytest.mark.parametrize(
    ("exception_id", "code"),
    [(5, "wrong_type"), (True, "wrong_type"), (["EXC-1"], "wrong_type"), ("x" * 201, "max_length")],
)
def test_evaluate__bad_exception_id__400_nothing_written(fleet, admin, exception_id, code):
    body = {"tenant_id": "T01", "exception_type": "SETTLEMENT_FAIL", "exception_id": exception_id}
    before = db_state()
    problem = assert_problem(send(admin.client, "POST", EVALUATE, body), 400, code)
    assert problem["errors"][0]["path"] == "/exception_id"
    assert db_state() == before


def test_rollout_create__dry_run_with_canary__answers_the_canary_writes_nothing(fleet, admin):
    body = plan(fleet, waves=WAVES, canary={"percent": 5}, dry_run=True)
    before = db_state()
    response = send(admin.client, "POST", ROLLOUTS, body)
    assert response.status_code == 200, response.content
    assert response.json()["canary"] == {"percent": 5, "shadow": False}
    assert db_state() == before
