from packs.diff import as_json, diff_entries, diff_view, entries_from_json, json_diff


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


# --- array items matched by identity -----------------------------------------------------------


def _playbook(kind: str, action: str = "Check", **extra) -> dict:
    return {"exceptionType": kind, "steps": [{"action": action}], **extra}


def test_json_diff__playbook_inserted_first__one_added_and_no_false_pairs():
    old = {"playbooks": [_playbook("A"), _playbook("B")]}
    new = {"playbooks": [_playbook("NEW"), _playbook("A"), _playbook("B")]}
    assert json_diff(old, new) == {
        "added": [{"path": "/playbooks/0", "new": _playbook("NEW"), "label": ["playbooks", "NEW"]}],
        "removed": [],
        "changed": [],
    }


def test_json_diff__moved_playbook_changed__new_pointer_with_old_path():
    old = {"playbooks": [_playbook("A"), _playbook("B")]}
    new = {"playbooks": [_playbook("B", "Call"), _playbook("A")]}
    assert json_diff(old, new)["changed"] == [
        {
            "path": "/playbooks/0/steps/0/action",
            "old": "Check",
            "new": "Call",
            "old_path": "/playbooks/1/steps/0/action",
            "label": ["playbooks", "B", "steps", "0", "action"],
        }
    ]


def test_json_diff__playbook_id_wins_over_exception_type__same_type_twice():
    old = {"playbooks": [_playbook("A", playbookId="A1"), _playbook("A", playbookId="A2")]}
    new = {"playbooks": [_playbook("A", playbookId="A2")]}
    diff = json_diff(old, new)
    assert diff["removed"] == [
        {"path": "/playbooks/0", "old": old["playbooks"][0], "label": ["playbooks", "A1"]}
    ]
    assert diff["changed"] == []


def test_json_diff__duplicate_identities__paired_in_order():
    old = {"customPlaybooks": [_playbook("A", "one"), _playbook("A", "two")]}
    new = {"customPlaybooks": [_playbook("A", "one"), _playbook("A", "three")]}
    assert json_diff(old, new)["changed"] == [
        {
            "path": "/customPlaybooks/1/steps/0/action",
            "old": "two",
            "new": "three",
            "label": ["customPlaybooks", "A", "steps", "0", "action"],
        }
    ]


def test_json_diff__tool_lists__matched_by_name_not_position():
    old = {"approvedTools": ["getOrder", "getExecutions", "openCase"]}
    new = {"approvedTools": ["getExecutions", "openCase", "getPositions"]}
    assert json_diff(old, new) == {
        "added": [
            {
                "path": "/approvedTools/2",
                "new": "getPositions",
                "label": ["approvedTools", "getPositions"],
            }
        ],
        "removed": [
            {"path": "/approvedTools/0", "old": "getOrder", "label": ["approvedTools", "getOrder"]}
        ],
        "changed": [],
    }


def test_json_diff__overrides_and_approval_rules__matched_by_their_key():
    old = {
        "customSeverityOverrides": [
            {"exceptionType": "A", "severity": "LOW"},
            {"exceptionType": "B", "severity": "HIGH"},
        ],
        "humanApprovalRules": [{"severity": "HIGH", "requireApproval": True}],
    }
    new = {
        "customSeverityOverrides": [{"exceptionType": "B", "severity": "CRITICAL"}],
        "humanApprovalRules": [
            {"severity": "LOW", "requireApproval": False},
            {"severity": "HIGH", "requireApproval": True},
        ],
    }
    diff = json_diff(old, new)
    assert diff["changed"] == [
        {
            "path": "/customSeverityOverrides/0/severity",
            "old": "HIGH",
            "new": "CRITICAL",
            "old_path": "/customSeverityOverrides/1/severity",
            "label": ["customSeverityOverrides", "B", "severity"],
        }
    ]
    assert [item["path"] for item in diff["removed"]] == ["/customSeverityOverrides/0"]
    assert [item["path"] for item in diff["added"]] == ["/humanApprovalRules/0"]


def test_json_diff__severity_rules__compared_by_index():
    old = {"severityRules": [{"condition": "a", "severity": "LOW"}]}
    new = {"severityRules": [{"condition": "b", "severity": "LOW"}]}
    assert json_diff(old, new)["changed"] == [
        {"path": "/severityRules/0/condition", "old": "a", "new": "b"}
    ]


def test_json_diff__playbook_without_identity__falls_back_to_position():
    old = {"playbooks": [{"steps": []}]}
    new = {"playbooks": [{"steps": [], "description": "x"}]}
    assert json_diff(old, new)["added"] == [{"path": "/playbooks/0/description", "new": "x"}]


def test_diff_entries__labels_name_items_by_identity():
    entries = diff_entries({"playbooks": [_playbook("A")]}, {"playbooks": [_playbook("A", "Call")]})
    assert [entry.label for entry in entries] == [("playbooks", "A", "steps", "0", "action")]


def test_diff_view__sections_counts_unchanged_and_path_filter():
    old = {"playbooks": [_playbook("A")], "tools": {"x": 1}, "domainName": "D"}
    new = {
        "playbooks": [_playbook("A", "Call"), _playbook("B")],
        "tools": {"x": 2},
        "domainName": "D",
    }
    entries = diff_entries(old, new)
    view = diff_view(entries, sections=set(old) | set(new))
    assert [(s.name, s.added, s.removed, s.changed) for s in view.sections] == [
        ("playbooks", 1, 0, 1),
        ("tools", 0, 0, 1),
    ]
    assert view.unchanged == ["domainName"]
    filtered = diff_view(entries, path_filter="/TOOLS")
    assert filtered.matching == 1 and filtered.total == 3
    assert [s.name for s in filtered.sections] == ["tools"]
    limited = diff_view(entries, limit=1)
    assert limited.truncated and limited.shown == 1


def test_entries_from_json__round_trip_of_the_api_body():
    old = {"playbooks": [_playbook("A"), _playbook("B")], "a/b": 1}
    new = {"playbooks": [_playbook("B", "Call"), _playbook("A")], "a/b": 2}
    body = json_diff(old, new)
    assert as_json(entries_from_json(body)) == body
    assert {entry.section for entry in entries_from_json(body)} == {"playbooks", "a/b"}


def test_json_diff__20000_reordered_playbooks__nothing_reported():
    """Matched through a dict (deepdiff's identity hook compares every pair: see packs/diff.py)."""
    old = {"playbooks": [_playbook(f"T{i}") for i in range(20000)]}
    new = {"playbooks": list(reversed(old["playbooks"]))}
    assert json_diff(old, new) == {"added": [], "removed": [], "changed": []}


def test_json_diff__approval_rule_changed__label_names_the_severity_not_the_index():
    old = {
        "humanApprovalRules": [
            {"severity": "CRITICAL", "requireApproval": True},
            {"severity": "HIGH", "requireApproval": False},
        ]
    }
    new = {
        "humanApprovalRules": [
            {"severity": "CRITICAL", "requireApproval": True},
            {"severity": "HIGH", "requireApproval": True},
        ]
    }
    body = json_diff(old, new)
    assert body["changed"] == [
        {
            "path": "/humanApprovalRules/1/requireApproval",
            "old": False,
            "new": True,
            "label": ["humanApprovalRules", "HIGH", "requireApproval"],
        }
    ]
    entry = entries_from_json(body)[0]
    assert entry.label == ("humanApprovalRules", "HIGH", "requireApproval")


def test_entries_from_json__stored_body_without_label__pointer_tokens():
    body = {"changed": [{"path": "/a/0/b", "old": 1, "new": 2}], "added": [], "removed": []}
    assert entries_from_json(body)[0].label == ("a", "0", "b")
