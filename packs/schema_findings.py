"""Schema findings (`missing_required`, `wrong_type`, `unsupported_key`, `invalid_value`) from
one engine, jsonschema-rs, at a cost linear in the pack whatever its shape (issue 13).

jsonschema-rs answers "valid?" walking the Python objects directly (~50 ms for 5 MB), but its
`iter_errors` collects every error before yielding the first, at a cost that grows faster than
their number (2.5 million wrong array items: 120 s). So only small subtrees are handed to
`iter_errors`: from the root, a subtree the engine calls invalid is either small (at most
SMALL_NODES values), and its errors are listed, or a container whose own keywords (type,
required, closed keys) are checked here and whose children are visited the same way, arrays in
slices of SLICE items so that valid runs cost one call. The visit stops when the report holds
its maximum of findings.

The pure-Python `jsonschema` used to enumerate the errors of every invalid pack; the findings
are the same (tests/packs/test_schema_findings.py compares both engines over generated packs),
so it is no longer used here.
"""

import functools
import json
from pathlib import Path
from typing import Any, Protocol

import jsonschema_rs

from onboarding.errors import finding
from onboarding.intake import json_type_name, pointer_token, shorten

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_FILES = {"domain": "domain_pack.schema.json", "tenant": "tenant_pack.schema.json"}
SMALL_NODES = 256
SLICE = 256
# The keywords this module checks itself on a large container; a schema node with any other
# keyword is always handed to the engine whole.
_WALKABLE = frozenset(
    {"type", "description", "title", "properties", "additionalProperties", "required", "items"}
) | {"$schema", "$id", "$defs"}

# Keys of the older pack shape whose replacement no string similarity would find.
_RENAMED_KEYS = {
    "if": "condition",
    "appliesTo": "exceptionType",
    "toolsAllowList": "approvedTools",
    "guardrailOverrides": "customGuardrails",
    "severityOverrides": "customSeverityOverrides",
}
_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "null": "null",
}


class Sink(Protocol):
    """Where findings go: the validation report (packs.validation._Report)."""

    @property
    def errors_full(self) -> bool: ...

    def add_error(self, item: dict[str, Any]) -> None: ...

    def closest(self, name: str, candidates: list[str]) -> str | None: ...


def load_schema(pack_type: str) -> dict[str, Any]:
    return json.loads(_schema_text(pack_type))


@functools.cache
def _schema_text(pack_type: str) -> str:
    return (SCHEMA_DIR / SCHEMA_FILES[pack_type]).read_text(encoding="utf-8")


@functools.cache
def _checker(pack_type: str) -> "_Checker":
    return _Checker(load_schema(pack_type))


def collect(content: Any, pack_type: str, sink: Sink) -> None:
    _checker(pack_type).visit(content, "#", "", sink)


class _Checker:
    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self.validators = jsonschema_rs.validator_map_for(schema)

    def valid(self, pointer: str, instance: Any) -> bool:
        try:
            return self.validators[pointer].is_valid(instance)
        except Exception:  # a value the engine cannot read: list its errors
            return False

    def visit(self, instance: Any, pointer: str, path: str, sink: Sink) -> None:
        if sink.errors_full or self.valid(pointer, instance):
            return
        pointer, node = self.resolve(pointer)
        if _container_matches(instance, node) and not _small(instance):
            self.visit_container(instance, pointer, node, path, sink)
        else:
            self.list_errors(instance, pointer, path, sink)

    def resolve(self, pointer: str) -> tuple[str, dict[str, Any]]:
        node = self.node(pointer)
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            pointer = node["$ref"]
            node = self.node(pointer)
        return pointer, node

    def node(self, pointer: str) -> Any:
        node: Any = self.schema
        for token in pointer.lstrip("#").split("/")[1:]:
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def visit_container(
        self, instance: Any, pointer: str, node: dict[str, Any], path: str, sink: Sink
    ) -> None:
        if isinstance(instance, list):
            items = f"{pointer}/items"
            for start in range(0, len(instance), SLICE):
                part = instance[start : start + SLICE]
                if sink.errors_full:
                    return
                if self.valid(pointer, part):
                    continue
                for offset, item in enumerate(part):
                    self.visit(item, items, f"{path}/{start + offset}", sink)
            return
        properties = node.get("properties") or {}
        _object_findings(instance, node, path, sink)
        extra = node.get("additionalProperties")
        for key, value in instance.items():
            if sink.errors_full:
                return
            child = f"{path}/{pointer_token(key)}"
            if key in properties:
                self.visit(value, f"{pointer}/properties/{pointer_token(key)}", child, sink)
            elif isinstance(extra, dict):
                self.visit(value, f"{pointer}/additionalProperties", child, sink)

    def list_errors(self, instance: Any, pointer: str, path: str, sink: Sink) -> None:
        try:
            errors = self.validators[pointer].iter_errors(instance)
        except Exception:
            sink.add_error(
                finding("invalid_value", path, f"{show_value(instance)} is not a JSON value.")
            )
            return
        for error in errors:
            if sink.errors_full:
                return
            where = path + "".join("/" + pointer_token(str(part)) for part in error.instance_path)
            self.map_error(error, where, sink)

    def map_error(self, error: Any, path: str, sink: Sink) -> None:
        kind, instance = error.kind, error.instance
        name, value = kind.name, kind.value
        if name == "required":
            sink.add_error(_missing(path, value))
        elif name == "type":
            sink.add_error(_wrong_type(path, value, instance))
        elif name == "additionalProperties":
            node = self.node(
                "#" + "".join(f"/{pointer_token(str(p))}" for p in error.schema_path[:-1])
            )
            _unsupported(instance, value, node, path, sink)
        elif name == "enum":
            options = ", ".join(str(option) for option in value)
            sink.add_error(
                finding("invalid_value", path, f"{show_value(instance)} is not one of {options}.")
            )
        else:
            message = f"{show_value(instance)}: {error.message}"
            sink.add_error(finding("invalid_value", path, message))


def _container_matches(instance: Any, node: dict[str, Any]) -> bool:
    if not _WALKABLE.issuperset(node):
        return False
    if isinstance(instance, list):
        return node.get("type") == "array" and isinstance(node.get("items"), dict)
    if isinstance(instance, dict):
        return node.get("type") == "object"
    return False


def _small(instance: Any) -> bool:
    """At most SMALL_NODES values, counted with an early stop."""
    budget = SMALL_NODES
    stack = [instance]
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            return False
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def _object_findings(instance: dict, node: dict[str, Any], path: str, sink: Sink) -> None:
    """The object-level keywords of our schemas: required keys and closed objects."""
    for name in node.get("required") or ():
        if name not in instance:
            sink.add_error(_missing(path, name))
    if node.get("additionalProperties") is False:
        properties = node.get("properties") or {}
        extra = [key for key in instance if key not in properties]
        if extra:
            _unsupported(instance, extra, node, path, sink)


def _missing(path: str, name: str) -> dict[str, Any]:
    return finding(
        "missing_required", f"{path}/{pointer_token(name)}", f"Required key {name!r} is missing."
    )


def _wrong_type(path: str, expected: Any, instance: Any) -> dict[str, Any]:
    names = expected if isinstance(expected, list) else [expected]
    wanted = " or ".join(_TYPE_NAMES.get(name, name) for name in names)
    got = f"{json_type_name(instance)} {show_value(instance)}"
    return finding("wrong_type", path, f"Expected {wanted}, got {got}.")


def _unsupported(
    instance: Any, extra: list[str], node: dict[str, Any], path: str, sink: Sink
) -> None:
    allowed = list(node.get("properties") or {})
    required = node.get("required") or []
    missing = [name for name in required if not isinstance(instance, dict) or name not in instance]
    # One unsupported key where one required key is missing reads as a rename.
    renamed = missing if len(missing) == 1 and len(extra) == 1 else []
    supported = f" (supported: {', '.join(allowed)})." if allowed else "."
    for key in extra:
        if sink.errors_full:
            return
        sink.add_error(
            finding(
                "unsupported_key",
                f"{path}/{pointer_token(key)}",
                f"Key {shorten(key)} is not supported here{supported}",
                _closest_key(key, allowed, renamed, sink),
            )
        )


def _closest_key(key: str, allowed: list[str], renamed: list[str], sink: Sink) -> str | None:
    if key in _RENAMED_KEYS and _RENAMED_KEYS[key] in allowed:
        return _RENAMED_KEYS[key]
    close = sink.closest(key, allowed)
    if close:
        return close
    return renamed[0] if renamed else None


def show_value(value: Any) -> str:
    if isinstance(value, str):
        return shorten(value)
    if isinstance(value, (dict, list)):
        # Enough of the value to recognise it; never the whole of a large one.
        text = json.dumps(_head(value), ensure_ascii=False, default=str)
        return text if len(text) <= 60 else text[:60] + "…"
    return json.dumps(value, default=str)


def _head(value: Any, room: int = 8) -> Any:
    if isinstance(value, dict):
        return {str(key)[:60]: _head(item, room // 2) for key, item in list(value.items())[:room]}
    if isinstance(value, list):
        return [_head(item, room // 2) for item in value[:room]]
    if isinstance(value, str):
        return value[:60]
    return value
