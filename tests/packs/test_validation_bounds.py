"""Bounded validation (issue 13 item 2): at most MAX_FINDINGS findings of each kind with a last
one giving the full count, and closest-name hints within one budget per report."""

from packs import hints
from packs.validation import MAX_FINDINGS, validate_domain_pack, validate_tenant_pack


def _name(index: int, length: int = 196) -> str:
    stem = f"{index:08d}"
    half = (length - len(stem)) // 2
    return "t" * half + stem + "t" * (length - half - len(stem))


def _domain(**sections) -> dict:
    return {"domainName": "D", "exceptionTypes": {"T": {"description": "t"}}, **sections}


def test_validate__issue_shape_near_miss_tool_names__hints_for_each_entry():
    """150 tools of 196 characters and 150 allow-list entries one letter off (21 s before)."""
    tools = {_name(i): {"description": "d"} for i in range(150)}
    entries = [_name(i).replace("t", "u", 1) for i in range(150)]
    report = validate_domain_pack(_domain(tools=tools, guardrails={"allowLists": entries}))
    errors = report["errors"]
    assert len(errors) == 150 and {e["code"] for e in errors} == {"unknown_reference"}
    assert errors[0]["path"] == "/guardrails/allowLists/0" and errors[0]["hint"] == _name(0)
    assert all(e.get("hint") == _name(int(e["path"].rsplit("/", 1)[1])) for e in errors)


def test_validate__hint_budget_spent__later_findings_without_hint(monkeypatch):
    monkeypatch.setattr(hints, "MAX_SEARCHES", 3)
    tools = {f"tool{i:03d}": {"description": "d"} for i in range(20)}
    entries = [f"tool{i:03d}x" for i in range(10)]
    report = validate_domain_pack(_domain(tools=tools, guardrails={"allowLists": entries}))
    assert [bool(e.get("hint")) for e in report["errors"]] == [True] * 3 + [False] * 7


def test_validate__more_errors_than_the_cap__first_listed_and_the_count():
    entries = [f"missing{i}" for i in range(5_000)]
    report = validate_domain_pack(_domain(tools={}, guardrails={"blockLists": entries}))
    errors = report["errors"]
    assert report["valid"] is False and len(errors) == MAX_FINDINGS + 1
    assert errors[-1]["code"] == "too_many_findings"
    assert "5,000 errors in all" in errors[-1]["message"]
    assert errors[0]["path"] == "/guardrails/blockLists/0"


def test_validate__more_warnings_than_the_cap__warning_count_in_the_last_warning():
    steps = [{"action": "a", "parameters": {"password": "p"}} for _ in range(1_500)]
    report = validate_domain_pack(_domain(playbooks=[{"exceptionType": "T", "steps": steps}]))
    assert report["valid"] is True and len(report["warnings"]) == MAX_FINDINGS + 1
    assert report["warnings"][-1]["code"] == "too_many_findings"
    assert "1,500 warnings in all" in report["warnings"][-1]["message"]
    assert report["warnings"][0]["path"] == "/playbooks/0/steps/0/parameters/password"


def test_validate_tenant__near_miss_approved_tools__hints_from_the_domain_pack():
    domain = _domain(tools={_name(i): {"description": "d"} for i in range(100)})
    tenant = {
        "tenantId": "T1",
        "domainName": "D",
        "approvedTools": [_name(i).replace("t", "u", 1) for i in range(100)],
    }
    report = validate_tenant_pack(tenant, domain_pack_content=domain)
    assert len(report["errors"]) == 100
    assert report["errors"][7]["hint"] == _name(7)
