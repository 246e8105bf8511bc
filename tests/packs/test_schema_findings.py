"""One schema engine (issue 14 item 3): findings come from jsonschema-rs alone. This test is why
the pure-Python `jsonschema` is no longer run on every validation: over generated, mutated and
widened packs, the findings (code and path) are exactly those the reference implementation
reports, including for containers large enough to be visited piecewise. The engines differ only
in the wording of the messages of keywords mapped to `invalid_value` (minLength, maximum, ...)."""

import copy

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onboarding.intake import pointer_token
from packs import schema_findings as module
from packs.validation import load_schema, schema_findings
from tests.conftest import load_reference

REFERENCES = {
    "domain": load_reference("domain_capital_markets.json"),
    "tenant": load_reference("tenant_finance_001.json"),
}


def reference_findings(content, pack_type: str) -> set[tuple[str, str]]:
    """The findings the pure-Python reference implementation gives, mapped as the validation
    report maps them."""
    validator = jsonschema.Draft202012Validator(load_schema(pack_type))
    found = set()
    for error in validator.iter_errors(content):
        path = "".join("/" + pointer_token(str(part)) for part in error.absolute_path)
        if error.validator == "required":
            found |= {
                ("missing_required", f"{path}/{pointer_token(name)}")
                for name in error.validator_value
                if name not in error.instance
            }
        elif error.validator == "additionalProperties":
            allowed = error.schema.get("properties", {})
            found |= {
                ("unsupported_key", f"{path}/{pointer_token(key)}")
                for key in error.instance
                if key not in allowed
            }
        elif error.validator == "type":
            found.add(("wrong_type", path))
        else:
            found.add(("invalid_value", path))
    return found


def ours(content, pack_type: str) -> set[tuple[str, str]]:
    return {(item["code"], item["path"]) for item in schema_findings(content, pack_type)}


BAD_VALUES = st.sampled_from([None, 1, -1, 1.5, "", "x", True, [], {}, [1], {"zz": 1}, "NOPE"])


@st.composite
def mutated(draw, pack_type: str):
    """A reference pack with a few values replaced, keys removed or added, anywhere."""
    content = copy.deepcopy(REFERENCES[pack_type])
    for _ in range(draw(st.integers(1, 6))):
        node, parent, key = content, None, None
        for _ in range(draw(st.integers(0, 5))):
            if isinstance(node, dict) and node:
                parent, key = node, draw(st.sampled_from(sorted(node)))
            elif isinstance(node, list) and node:
                parent, key = node, draw(st.integers(0, len(node) - 1))
            else:
                break
            node = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "add" and isinstance(node, dict):
            node[draw(st.sampled_from(["zz", "severty", "toolz", "a/b~c"]))] = copy.deepcopy(
                draw(BAD_VALUES)
            )
        elif action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif parent is not None:
            parent[key] = copy.deepcopy(draw(BAD_VALUES))
    return content


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.sampled_from(["domain", "tenant"]).flatmap(
        lambda kind: st.tuples(st.just(kind), mutated(kind))
    )
)
def test_schema_findings__mutated_reference_packs__same_as_the_reference_engine(case):
    pack_type, content = case
    assert ours(content, pack_type) == reference_findings(content, pack_type)


@pytest.mark.parametrize("count", [module.SMALL_NODES + 1, 3 * module.SLICE + 7])
def test_schema_findings__wide_containers_visited_piecewise__same_as_the_reference(count):
    """Arrays and maps past SMALL_NODES and SLICE take the piecewise visit."""
    content = copy.deepcopy(REFERENCES["domain"])
    rule = content["severityRules"][0]
    content["severityRules"] = [dict(rule) for _ in range(count)]
    content["severityRules"][5] = 1
    content["severityRules"][count - 1]["severity"] = "SEVERE"
    del content["severityRules"][count // 2]["condition"]
    content["tools"] = {f"tool{i}": {"description": "d"} for i in range(count)}
    content["tools"]["tool3"] = {"descriptio": "d"}
    content["tools"][f"tool{count - 2}"] = []
    content["extra"] = 1
    assert ours(content, "domain") == reference_findings(content, "domain")
    assert len(ours(content, "domain")) == 7


def test_schema_findings__millions_of_errors__capped_without_enumerating_them():
    content = {"domainName": "D", "exceptionTypes": {}, "severityRules": [0] * 2_000_000}
    findings = schema_findings(content, "domain")
    assert len(findings) == 1_000
    assert findings[0] == {
        "code": "wrong_type",
        "path": "/severityRules/0",
        "message": "Expected an object, got a number 0.",
    }
