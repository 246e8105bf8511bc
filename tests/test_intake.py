"""Strict intake: each adversarial input gets its own code, never a traceback; the fast path
(orjson) and the exact path agree on everything they both accept."""

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.errors import PayloadTooLarge
from onboarding.intake import IntakeError, check_json_value, load_json_bytes, load_json_object
from onboarding.parsers import StrictJSONParser


def intake_error(data: bytes, **limits) -> IntakeError:
    with pytest.raises(IntakeError) as caught:
        load_json_object(data, **limits)
    error = caught.value
    assert error.status == 400
    assert error.errors and error.errors[0]["code"] == error.code
    json.dumps(error.as_problem())  # the problem itself is always valid JSON
    return error


def test_load_json_object__valid_object__returned():
    assert load_json_object(b'{"a": [1, 2.5, "x", true, null]}') == {"a": [1, 2.5, "x", True, None]}


@pytest.mark.parametrize("data", [b"[1]", b'"text"', b"3", b"null"])
def test_load_json_object__top_level_not_object__not_an_object(data):
    assert intake_error(data).code == "not_an_object"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (b'{"a": 1, "a": 2}', "/a"),
        (b'{"x": {"b": [{"c": 1, "c": 2}]}}', "/x/b/0/c"),
        (b'{"a/b~c": {"d": 1,"d" :2}}', "/a~1b~0c/d"),
    ],
)
def test_load_json_object__duplicate_key__duplicate_key_with_pointer(data, path):
    error = intake_error(data)
    assert error.code == "duplicate_key"
    assert error.errors[0]["path"] == path


def test_load_json_object__escaped_quote_colon_in_string__not_a_duplicate():
    assert load_json_object(b'{"a": "say \\"hi\\": yes", "b": "\\":"}')["b"] == '":'


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b'{"a": 1e400}',
        b'{"a": 9223372036854775808}',
        b'{"a": -9223372036854775809}',
        b'{"a": 99999999999999999999}',
        b'{"a": [1e19]}',
    ],
)
def test_load_json_object__non_finite_or_out_of_range_number__invalid_number(data):
    error = intake_error(data)
    assert error.code == "invalid_number"
    assert error.errors[0]["path"].startswith("/a")


def test_load_json_object__int64_bounds__accepted():
    value = load_json_object(b'{"max": 9223372036854775807, "min": -9223372036854775808}')
    assert value == {"max": 2**63 - 1, "min": -(2**63)}


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (b'{"a": "x\\u0000y"}', "/a"),
        (b'{"k\\u0000": 1}', ""),
        (b'{"a": ["\\ud800"]}', "/a/0"),
        (b'{"a": "\\udc00 tail"}', "/a"),
        (b'{"o": {"\\ud83d": 1}}', "/o"),
    ],
)
def test_load_json_object__nul_or_lone_surrogate__invalid_string(data, path):
    error = intake_error(data)
    assert error.code == "invalid_string"
    assert error.errors[0]["path"] == path


def test_load_json_object__surrogate_pair__accepted():
    assert load_json_object(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


def test_load_json_object__escaped_backslash_u0000_text__accepted():
    assert load_json_object(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}


def test_load_json_object__100000_nested_arrays__too_deep_without_recursion_error():
    data = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert intake_error(data).code == "too_deep"


def test_load_json_object__100000_nested_arrays_unclosed__too_deep():
    assert intake_error(b"[" * 100_000).code == "too_deep"


def test_load_json_object__depth_over_limit__too_deep(settings):
    settings.PACK_MAX_DEPTH = 64
    at_limit = b'{"a":' + b"[" * 63 + b"]" * 63 + b"}"
    assert load_json_object(at_limit)
    over = b'{"a":' + b"[" * 64 + b"]" * 64 + b"}"
    assert intake_error(over).code == "too_deep"


def test_load_json_object__brackets_inside_strings__do_not_count_as_depth():
    data = json.dumps({"a": "[" * 500, "b": ["{" * 500]}).encode()
    assert load_json_object(data)["a"] == "[" * 500


def test_load_json_bytes__over_max_bytes__too_large_413(settings):
    settings.PACK_MAX_BYTES = 2048
    with pytest.raises(PayloadTooLarge) as caught:
        load_json_bytes(b'{"a": "' + b"x" * 2048 + b'"}')
    assert caught.value.status == 413
    assert caught.value.code == "too_large"


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'{"a" 1}', "line 1 column 6"),
        (b'{"a": 1,\n "b": x}', "line 2 column 7"),
        (b"", "line 1 column 1"),
        (b'{"a": 1} trailing', "line 1 column 10"),
        (b"\xef\xbb\xbf{}", "line 1 column 1"),
    ],
)
def test_load_json_object__malformed__malformed_json_with_line_and_column(data, where):
    error = intake_error(data)
    assert error.code == "malformed_json"
    assert where in error.detail


@pytest.mark.parametrize("data", [b'{"a": "\xff"}', b"\xfe\xff{}", b'{"a": "\xed\xa0\x80"}'])
def test_load_json_object__not_utf8__invalid_encoding(data):
    assert intake_error(data).code == "invalid_encoding"


def test_check_json_value__python_values__same_rules_with_pointer():
    check_json_value({"a": [1, "x", {"b": None}]})
    cases = [
        ({"a": ["ok", "bad\x00"]}, "invalid_string", "/a/1"),
        ({"a": {"\ud800": 1}}, "invalid_string", "/a"),
        ({"n": float("nan")}, "invalid_number", "/n"),
        ({"n": 2**64}, "invalid_number", "/n"),
        ({1: "x"}, "invalid_string", ""),
        ({"s": {1, 2}}, "invalid_value", "/s"),
    ]
    for value, code, path in cases:
        with pytest.raises(IntakeError) as caught:
            check_json_value(value)
        assert (caught.value.code, caught.value.errors[0]["path"]) == (code, path)


def test_check_json_value__deep_python_value__too_deep_without_recursion():
    value: list = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(IntakeError) as caught:
        check_json_value({"a": value})
    assert caught.value.code == "too_deep"


def test_strict_json_parser__duplicate_key__intake_error():
    with pytest.raises(IntakeError) as caught:
        StrictJSONParser().parse(io.BytesIO(b'{"a": 1, "a": 2}'))
    assert caught.value.code == "duplicate_key"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e18, max_value=1e18)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5), st.booleans())
def test_load_json_object__random_json__round_trips_or_names_a_string_problem(value, pretty):
    data = json.dumps(value, indent=2 if pretty else None, ensure_ascii=pretty).encode(
        "utf-8", "surrogatepass"
    )
    try:
        loaded = load_json_object(data)
    except IntakeError as error:
        assert error.code in ("invalid_string", "invalid_encoding", "too_deep")
        return
    assert loaded == json.loads(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_load_json_bytes__random_bytes__value_or_intake_error(data):
    try:
        load_json_bytes(data)
    except IntakeError as error:
        assert error.code in {
            "malformed_json", "duplicate_key", "invalid_number", "invalid_string", "too_deep",
            "invalid_encoding", "not_a_json_file",
        }  # fmt: skip
