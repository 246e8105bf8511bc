"""Structural diff of two JSON documents, as JSON Pointers (RFC 6901) with old and new values.

Objects are compared key by key and arrays index by index, so a changed leaf is reported at its
own path rather than as a whole new subtree. A value whose type changes (object → list, number →
string) is reported once, at its path, with both whole values."""

from typing import Any


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "scalar"


def json_diff(old: Any, new: Any) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
    _walk(old, new, "", result)
    return result


def _walk(old: Any, new: Any, path: str, result: dict) -> None:
    if _kind(old) != _kind(new):
        result["changed"].append({"path": path, "old": old, "new": new})
        return
    if isinstance(old, dict):
        for key in old:
            child = f"{path}/{_escape(str(key))}"
            if key in new:
                _walk(old[key], new[key], child, result)
            else:
                result["removed"].append({"path": child, "old": old[key]})
        for key in new:
            if key not in old:
                result["added"].append({"path": f"{path}/{_escape(str(key))}", "new": new[key]})
        return
    if isinstance(old, list):
        common = min(len(old), len(new))
        for index in range(common):
            _walk(old[index], new[index], f"{path}/{index}", result)
        for index in range(common, len(old)):
            result["removed"].append({"path": f"{path}/{index}", "old": old[index]})
        for index in range(common, len(new)):
            result["added"].append({"path": f"{path}/{index}", "new": new[index]})
        return
    # 1 and 1.0 are the same JSON number; True and 1 are not the same JSON value.
    if type(old) is bool or type(new) is bool:
        same = type(old) is type(new) and old == new
    else:
        same = old == new
    if not same:
        result["changed"].append({"path": path, "old": old, "new": new})
