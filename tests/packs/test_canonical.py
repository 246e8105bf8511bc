import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from packs.canonical import canonical_json, checksum

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def test_checksum__key_order_and_whitespace__unchanged():
    a = json.loads('{"b": 1, "a": {"y": [1, 2], "x": "é"}}')
    b = json.loads('{\n  "a": {"x": "é", "y": [1,2]},\n  "b": 1\n}')
    assert checksum(a) == checksum(b)


def test_checksum__any_value_change__changes():
    assert checksum({"a": [1, 2]}) != checksum({"a": [2, 1]})
    assert checksum({"a": "x"}) != checksum({"a": "y"})
    assert checksum({"a": 1}) != checksum({"a": "1"})


def test_canonical_json__non_ascii__utf8_not_escaped():
    assert canonical_json({"name": "Zürich €"}) == '{"name":"Zürich €"}'.encode()
    assert (
        checksum({"name": "Zürich €"}) == hashlib.sha256('{"name":"Zürich €"}'.encode()).hexdigest()
    )


def test_canonical_json__sorted_compact__matches_spec():
    assert canonical_json({"b": [1, {"d": None, "c": True}], "a": 1.5}) == (
        b'{"a":1.5,"b":[1,{"c":true,"d":null}]}'
    )


def test_checksum__integral_float__same_as_integer_as_after_jsonb_round_trip():
    assert checksum({"n": 100.0}) == checksum({"n": 100})


@given(json_values)
def test_canonical_json__any_value__equals_python_json_canonical_form(value):
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == expected.encode("utf-8")
