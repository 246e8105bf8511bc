from packs.diff import json_diff


def test_json_diff__identical__empty():
    doc = {"a": [1, {"b": None}], "c": "x"}
    assert json_diff(doc, doc) == {"added": [], "removed": [], "changed": []}


def test_json_diff__nested_changes__reported_at_leaf_pointers():
    old = {"tools": {"getOrder": {"url": "a"}}, "rules": [{"severity": "LOW"}], "gone": 1}
    new = {"tools": {"getOrder": {"url": "b"}}, "rules": [{"severity": "HIGH"}], "new": 2}
    assert json_diff(old, new) == {
        "added": [{"path": "/new", "new": 2}],
        "removed": [{"path": "/gone", "old": 1}],
        "changed": [
            {"path": "/tools/getOrder/url", "old": "a", "new": "b"},
            {"path": "/rules/0/severity", "old": "LOW", "new": "HIGH"},
        ],
    }


def test_json_diff__array_lengths_differ__tail_added_or_removed():
    assert json_diff({"x": [1, 2, 3]}, {"x": [1, 5]}) == {
        "added": [],
        "removed": [{"path": "/x/2", "old": 3}],
        "changed": [{"path": "/x/1", "old": 2, "new": 5}],
    }
    assert json_diff([1], [1, [2]])["added"] == [{"path": "/1", "new": [2]}]


def test_json_diff__type_changes__whole_values_once():
    diff = json_diff({"a": {"b": 1}}, {"a": [1]})
    assert diff["changed"] == [{"path": "/a", "old": {"b": 1}, "new": [1]}]


def test_json_diff__keys_with_slash_and_tilde__escaped_per_rfc6901():
    diff = json_diff({"a/b": 1, "m~n": 1}, {"a/b": 2, "m~n": 2})
    assert [item["path"] for item in diff["changed"]] == ["/a~1b", "/m~0n"]


def test_json_diff__bool_vs_number__changed_but_int_vs_float_equal():
    assert json_diff({"a": True}, {"a": 1})["changed"] == [{"path": "/a", "old": True, "new": 1}]
    assert json_diff({"a": 1}, {"a": 1.0})["changed"] == []


def test_json_diff__root_scalar_change__empty_pointer():
    assert json_diff(1, 2)["changed"] == [{"path": "", "old": 1, "new": 2}]
