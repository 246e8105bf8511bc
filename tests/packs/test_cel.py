"""CEL conditions: compile once, evaluate over {exceptionType, rawPayload}, never raise at
evaluation; the plain-comparison subset recognised without the library must be valid CEL and
give the library's answers."""

import cel as cel_library
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packs.cel import (
    CelError,
    compile_condition,
    compile_conditions,
    condition_matches,
    is_simple,
)

RESERVED = {
    "as", "break", "const", "continue", "else", "false", "for", "function", "if", "import", "in",
    "let", "loop", "package", "namespace", "null", "return", "true", "var", "void", "while",
}  # fmt: skip


def test_compile_condition__valid_expression__matches_its_exception_type():
    compiled = compile_condition("exceptionType == 'CASH_BREAK'")
    assert condition_matches(compiled, {"exceptionType": "CASH_BREAK", "rawPayload": {}})
    assert not condition_matches(compiled, {"exceptionType": "OTHER", "rawPayload": {}})


def test_condition_matches__missing_payload_field__no_match_and_no_error():
    compiled = compile_condition(
        "exceptionType == 'SEC_MASTER_MISMATCH' && rawPayload.impact == 'ECONOMIC'"
    )
    activation = {"exceptionType": "SEC_MASTER_MISMATCH", "rawPayload": {}}
    assert condition_matches(compiled, activation) is False
    activation["rawPayload"] = {"impact": "ECONOMIC"}
    assert condition_matches(compiled, activation) is True


def test_condition_matches__type_mismatch_or_null_payload__no_match():
    compiled = compile_condition("rawPayload.amount + 1 > 10")
    assert not condition_matches(compiled, {"exceptionType": "X", "rawPayload": {"amount": "a"}})
    assert not condition_matches(compiled, {"exceptionType": "X", "rawPayload": None})


def test_condition_matches__non_boolean_result__no_match():
    assert not condition_matches(compile_condition("1 + 1"), {"exceptionType": "X"})


@pytest.mark.parametrize(
    ("expression", "column"),
    [("exceptionType == ", 18), ("a ==== b", 5), ("foo(bar", 8), ("x == 'abc", 6)],
)
def test_compile_condition__syntax_error__raises_cel_error_with_position(expression, column):
    with pytest.raises(CelError) as caught:
        compile_condition(expression)
    assert caught.value.position == column
    assert f"column {column}" in caught.value.message


@pytest.mark.parametrize("expression", ["", "   ", None, 12])
def test_compile_condition__empty_or_not_a_string__raises_cel_error(expression):
    with pytest.raises(CelError):
        compile_condition(expression)


def test_compile_condition__reserved_word_as_field__not_simple_and_rejected():
    assert not is_simple("rawPayload.in == 1")
    with pytest.raises(CelError):
        compile_condition("rawPayload.in == 1")


def test_compile_condition__disjunction__guard_not_applied():
    compiled = compile_condition("exceptionType == 'A' || rawPayload.force == true")
    assert compiled.exception_type is None
    assert condition_matches(compiled, {"exceptionType": "B", "rawPayload": {"force": True}})


identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda word: word not in RESERVED
)
paths = st.lists(identifiers, min_size=1, max_size=3).map(".".join)
string_body = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="'\"\\"), max_size=12
).filter(lambda text: all(ord(ch) >= 0x20 and ord(ch) != 0x7F for ch in text))
literals = st.one_of(
    st.just("'A'"),
    string_body.map(lambda text: f"'{text}'"),
    string_body.map(lambda text: f'"{text}"'),
    st.integers(min_value=-(10**14), max_value=10**14).map(str),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda value: f"{value:.3f}"),
    st.sampled_from(["true", "false", "null"]),
)
comparisons = st.tuples(
    st.one_of(paths, st.just("exceptionType"), paths.map(lambda path: f"rawPayload.{path}")),
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    literals,
    st.sampled_from(["", " "]),
).map(lambda part: f"{part[0]}{part[3]}{part[1]}{part[3]}{part[2]}")
simple_conditions = st.tuples(
    comparisons, st.lists(st.tuples(st.sampled_from(["&&", "||"]), comparisons), max_size=3)
).map(lambda parts: parts[0] + "".join(f" {joiner} {c}" for joiner, c in parts[1]))
payloads = st.dictionaries(
    identifiers, st.one_of(st.integers(-5, 5), st.text(max_size=3), st.booleans()), max_size=3
)


@settings(max_examples=300, deadline=None)
@given(simple_conditions, st.sampled_from(["A", "B", "x"]), payloads)
def test_is_simple__generated_comparisons__library_compiles_and_agrees(expr, kind, payload):
    assert is_simple(expr)
    program = cel_library.compile(expr)  # raises if the subset ever admits invalid CEL
    activation = {"exceptionType": kind, "rawPayload": payload}
    try:
        expected = program.execute(activation) is True
    except Exception:
        expected = False
    assert condition_matches(compile_condition(expr), activation) is expected


guarded_conditions = st.tuples(string_body, st.lists(comparisons, max_size=3)).map(
    lambda parts: f"exceptionType == '{parts[0]}'" + "".join(f" && {c}" for c in parts[1])
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(guarded_conditions, simple_conditions, st.text(max_size=20), st.none()),
        max_size=8,
    )
)
def test_compile_conditions__any_list__same_results_as_one_by_one(exprs):
    def one(expr):
        try:
            compiled = compile_condition(expr)
        except CelError as exc:
            return ("error", exc.message, exc.position)
        return ("ok", compiled.source, compiled.exception_type, compiled.named_types)

    def of(result):
        if isinstance(result, CelError):
            return ("error", result.message, result.position)
        return ("ok", result.source, result.exception_type, result.named_types)

    assert [of(result) for result in compile_conditions(exprs)] == [one(e) for e in exprs]
