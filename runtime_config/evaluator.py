"""The exception evaluator (DESIGN §9): what the platform's orchestrator asks for each exception.

severity  = the first domain severity rule whose CEL condition matches
            {exceptionType, rawPayload} (a missing field is no match), then the tenant's override
            for the exception type, else MEDIUM;
playbook  = the tenant's custom playbook for the type, else the domain's;
approval  = the tenant's humanApprovalRules entry for that severity, or the guardrail
            `humanApprovalThreshold` when the payload carries a `confidence` below it;
blocked   = tools of the playbook outside the approved tools, on a guardrail block list, outside
            a guardrail allow-list, or unknown to the domain pack.

Everything but the severity and the approval is resolved when the configuration is loaded
(runtime.ExceptionPlan); an evaluation only runs the conditions."""

from typing import Any

import orjson

from onboarding.errors import InvalidInput, finding
from packs.cel import Activation, condition_matches
from runtime_config.canary import CANDIDATE, ERRORS, divergence_keys, shadow_count
from runtime_config.effective import DEFAULT_SEVERITY, EffectiveConfig, SeverityRule
from runtime_config.runtime import get_effective_config


def unknown_exception_type(config: EffectiveConfig, exception_type: Any) -> InvalidInput:
    return InvalidInput(
        f"Exception type {exception_type!r} is not defined by domain pack "
        f"{config.domain} {config.domain_pack_version}.",
        code="unknown_exception_type",
        errors=[
            finding(
                "unknown_exception_type",
                "/exception_type",
                f"Unknown exception type {exception_type!r}.",
                hint="One of: " + ", ".join(sorted(config.plans)),
            )
        ],
    )


def evaluate(
    *,
    tenant_id: str,
    exception_type: str,
    payload: Any,
    min_revision: int | None = None,
    exception_id: str | None = None,
) -> dict[str, Any]:
    """With a canary on the tenant (runtime_config.canary), the arm the exception id falls in
    decides and the answer says which (`arm`, `rollout_id`); with shadow, the other arm is
    evaluated too, without acting, and a divergence is counted per rule."""
    config = get_effective_config(tenant_id, min_revision)
    canary = config.canary
    if canary is None:
        return evaluate_with(config, exception_type=exception_type, payload=payload)
    arm = canary.arm(exception_id)
    serving, other = (canary.candidate, config) if arm == CANDIDATE else (config, canary.candidate)
    try:
        decision = evaluate_with(serving, exception_type=exception_type, payload=payload)
    except InvalidInput:
        # The candidate refuses what the baseline evaluates: an error of the candidate, counted
        # for the guards (max_eval_errors), and the caller gets the candidate's answer.
        if arm == CANDIDATE and _evaluates(config, exception_type, payload):
            shadow_count(canary.rollout_id, arm, [ERRORS])
        raise
    keys = None
    if canary.shadow:
        try:
            shadowed = evaluate_with(other, exception_type=exception_type, payload=payload)
        except InvalidInput:  # the other arm cannot evaluate it: counted, never served
            keys = [ERRORS]
        else:
            keys = divergence_keys(decision, shadowed, arm)
    shadow_count(canary.rollout_id, arm, keys)
    decision["arm"] = arm
    decision["rollout_id"] = canary.rollout_id
    return decision


def _evaluates(config: EffectiveConfig, exception_type: str, payload: Any) -> bool:
    try:
        evaluate_with(config, exception_type=exception_type, payload=payload)
    except InvalidInput:
        return False
    return True


def evaluate_with(config: EffectiveConfig, *, exception_type: str, payload: Any) -> dict[str, Any]:
    plan = config.plans.get(exception_type) if isinstance(exception_type, str) else None
    if plan is None:
        raise unknown_exception_type(config, exception_type)
    # Converted for the library once for all rules, and charged to one evaluation budget: a
    # payload too large for the rules it meets is 400 `evaluation_too_costly` (issue 13).
    activation = Activation(exception_type, payload)
    matched = None
    for rule in config.severity_rules:
        if rule.compiled is not None and condition_matches(rule.compiled, activation):
            matched = rule
            break
    override = plan.override
    if override is not None:
        severity, decided_by = override["severity"], "tenant_override"
    elif matched is not None:
        severity, decided_by = matched.severity, "domain_rule"
    else:
        severity, decided_by = DEFAULT_SEVERITY, "default"

    approval_rule = config.approval_rules.get(severity)
    by_rule = approval_rule is not None and approval_rule["requireApproval"]
    guardrail = _guardrail(config.approval_threshold, payload)
    requires_approval = by_rule or bool(guardrail and guardrail["triggered"])

    decision = orjson.loads(plan.decision_json)
    playbook = decision["playbook"]
    severity_why = {
        "decided_by": decided_by,
        "rule": None
        if matched is None
        else {
            "index": matched.index,
            "pointer": f"/severityRules/{matched.index}",
            "condition": matched.condition,
            "severity": matched.severity,
        },
        "override": None
        if override is None
        else {
            "index": override["index"],
            "pointer": f"/customSeverityOverrides/{override['index']}",
            "exceptionType": override["exceptionType"],
            "severity": override["severity"],
        },
        "default": DEFAULT_SEVERITY if decided_by == "default" else None,
    }
    approval_why = {
        "rule": None
        if approval_rule is None
        else {**approval_rule, "pointer": f"/humanApprovalRules/{approval_rule['index']}"},
        "guardrail": guardrail,
    }
    packs = config.packs_used()
    return {
        "tenant_id": config.tenant_id,
        "exception_type": exception_type,
        "severity": severity,
        "requires_approval": requires_approval,
        "playbook": playbook,
        "tools": decision["tools"],
        "blocked_tools": decision["blocked_tools"],
        "explanation": {
            "summary": _summary(severity_why, severity, playbook, requires_approval, packs),
            "severity": severity_why,
            "playbook": None
            if playbook is None
            else {
                "source": playbook["source"],
                "playbook_id": playbook["playbook_id"],
                "pointer": playbook["pointer"],
            },
            "approval": approval_why,
            "packs": packs,
        },
    }


def decide(
    config: EffectiveConfig,
    exception_type: Any,
    payload: Any,
    activation: Activation,
    *,
    rules: tuple[SeverityRule, ...] | None = None,
    matched: dict[str, bool] | None = None,
) -> tuple[str, str | None, bool]:
    """(severity, playbook id, requires approval): what `evaluate_with` decides, without the
    explanation, for running many samples (decision impact). `rules` narrows the severity rules
    to those that can match the exception type; `matched` remembers each condition's result for
    this activation, so a second configuration with the same conditions evaluates none twice (a
    condition's result depends on the activation alone). An override decides without the rules.
    Raises like evaluate_with (`unknown_exception_type`, `evaluation_too_costly`)."""
    plan = config.plans.get(exception_type) if isinstance(exception_type, str) else None
    if plan is None:
        raise unknown_exception_type(config, exception_type)
    override = plan.override
    if override is not None:
        severity = override["severity"]
    else:
        severity = DEFAULT_SEVERITY
        for rule in config.severity_rules if rules is None else rules:
            if rule.compiled is None:
                continue
            if matched is None:
                hit = condition_matches(rule.compiled, activation)
            else:
                hit = matched.get(rule.condition)
                if hit is None:
                    hit = matched[rule.condition] = condition_matches(rule.compiled, activation)
            if hit:
                severity = rule.severity
                break
    approval_rule = config.approval_rules.get(severity)
    requires_approval = approval_rule is not None and approval_rule["requireApproval"]
    if not requires_approval and config.approval_threshold is not None:
        guardrail = _guardrail(config.approval_threshold, payload)
        requires_approval = bool(guardrail and guardrail["triggered"])
    playbook = plan.playbook
    return severity, playbook["playbook_id"] if playbook is not None else None, requires_approval


def _guardrail(threshold: float | None, payload: Any) -> dict[str, Any] | None:
    if threshold is None:
        return None
    confidence = payload.get("confidence") if isinstance(payload, dict) else None
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        confidence = None
    return {
        "humanApprovalThreshold": threshold,
        "confidence": confidence,
        "triggered": confidence is not None and confidence < threshold,
    }


def _summary(why, severity, playbook, requires_approval, packs) -> str:
    if why["decided_by"] == "tenant_override":
        text = f"Severity {severity} from tenant override #{why['override']['index']}"
        if why["rule"]:
            text += (
                f" (over domain rule #{why['rule']['index']} "
                f"`{why['rule']['condition']}` → {why['rule']['severity']})"
            )
    elif why["decided_by"] == "domain_rule":
        text = f"Severity {severity} from domain rule #{why['rule']['index']} "
        text += f"`{why['rule']['condition']}`"
    else:
        text = f"Severity {severity} by default (no rule or override applies)"
    if playbook:
        text += f"; playbook {playbook['playbook_id']} from the {playbook['source']} pack"
    else:
        text += "; no playbook"
    text += "; approval required" if requires_approval else "; no approval needed"
    domain = packs["domain_pack"]
    text += f"; domain pack {domain['domain']} {domain['version']} ({domain['checksum'][:12]})"
    if packs["tenant_pack"]:
        tenant = packs["tenant_pack"]
        text += f", tenant pack {tenant['version']} ({tenant['checksum'][:12]})"
    return text + "."
