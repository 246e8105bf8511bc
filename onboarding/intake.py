"""Strict JSON intake (DESIGN §7): every pack and API body enters through `load_json_bytes`.

Refused, each with its own code: bodies over PACK_MAX_BYTES (`too_large`, 413), bytes that are
not UTF-8 (`invalid_encoding`; a binary file such as an image is `not_a_json_file`), text that
is not JSON (`malformed_json`, the mistake in words with its line and column: json_errors.py),
duplicate keys (`duplicate_key`), NaN/Infinity and numbers outside the 64-bit integer range
(`invalid_number`: canonical JSON is written by orjson and CEL integers are 64-bit, and
PostgreSQL's jsonb would turn a huge float into an integer neither can read back), `\\u0000` and
lone surrogates in strings or keys (`invalid_string`: jsonb rejects both), and nesting deeper
than PACK_MAX_DEPTH (`too_deep`).

Two paths. The fast one parses with orjson (which refuses NaN, lone surrogates, invalid UTF-8
and nesting beyond 1,024 without recursing in Python), then walks the result once for depth and
numbers, and proves there are no duplicate keys by comparing the number of `"…":` key endings in
the bytes with the keys the parse kept. Whenever that proof fails or orjson refuses the input,
the exact path runs: a string-aware bracket scan for depth (so the standard library's recursive
parser never sees deep nesting), `json.loads` with hooks that mark duplicates and non-finite
constants instead of dropping them, and `check_json_value` to locate each problem by JSON Pointer.
"""

import json
import math
import re
from typing import Any

import orjson
from django.conf import settings

from onboarding.errors import InvalidInput, PayloadTooLarge, finding
from onboarding.json_errors import binary_kind, describe

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
_FLOAT_LIMIT = float(2**63)

_NUL_ESCAPE = b"\\u0000"
_WHITESPACE = b" \t\r\n"
# Tokens for the depth scan: whole strings (skipped) and brackets.
_DEPTH_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


class IntakeError(InvalidInput):
    pass


def _error(code: str, message: str, path: str = "") -> IntakeError:
    return IntakeError(message, code=code, errors=[finding(code, path, message)])


def pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def load_json_bytes(
    data: bytes, *, max_bytes: int | None = None, max_depth: int | None = None
) -> Any:
    max_bytes = max_bytes or settings.PACK_MAX_BYTES
    max_depth = max_depth or settings.PACK_MAX_DEPTH
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"The document is {len(data)} bytes; the limit is {max_bytes}.",
            errors=[finding("too_large", "", f"The document is over {max_bytes} bytes.")],
        )
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _load_exact(data, max_depth)
    keys = _check_parsed(value, max_depth)
    if keys is None or data.find(_NUL_ESCAPE) != -1 or _key_endings(data) != keys:
        return _load_exact(data, max_depth)
    return value


def _key_endings(data: bytes) -> int:
    """Key endings in `data`, at least one per member written: with whitespace deleted, every
    key ends in `":` (strings can only add hits, through an escaped quote before a colon).
    Two C-speed passes."""
    return data.translate(None, _WHITESPACE).count(b'":')


def load_json_object(data: bytes, **limits: Any) -> dict[str, Any]:
    value = load_json_bytes(data, **limits)
    if not isinstance(value, dict):
        raise _error(
            "not_an_object",
            f"The top level must be a JSON object, not {json_type_name(value)}.",
        )
    return value


def json_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


def _check_parsed(value: Any, max_depth: int) -> int | None:
    """Number of object keys in an orjson result, or None when a depth or number problem needs
    the exact path to be located."""
    count = 0

    def walk(node: Any, depth: int) -> bool:
        nonlocal count
        if depth > max_depth:
            return False
        if type(node) is dict:
            count += len(node)
            items = node.values()
        else:
            items = node
        if len(items) > _SMALL:  # wide: scalars checked in C, containers visited
            checked = _scalars_ok(items)
            return checked is not None and all(walk(item, depth + 1) for item in checked[0])
        for item in items:
            kind = type(item)
            if kind is str:
                continue
            if kind is dict or kind is list:
                if not walk(item, depth + 1):
                    return False
            elif kind is int:
                if item > INT_MAX or item < INT_MIN:
                    return False
            elif kind is float and not -_FLOAT_LIMIT < item < _FLOAT_LIMIT:
                return False
        return True

    kind = type(value)
    if kind is dict or kind is list:
        return count if walk(value, 1) else None
    return 0 if check_scalar_ok(value) else None


def _scalars_ok(items: Any) -> tuple[list, Any] | None:
    """(containers, strings) among `items` when every other item is a JSON scalar within range
    (None otherwise). One pass in C per type present rather than a Python step per item: a
    5 MB array of numbers is 2.5 million items."""
    if len(items) <= _SMALL:
        return _small_scalars_ok(items)
    kinds = set(map(type, items))
    if not kinds <= _JSON_TYPES:
        return None
    only = len(kinds) == 1
    if int in kinds:
        ints = items if only else [item for item in items if type(item) is int]
        if min(ints) < INT_MIN or max(ints) > INT_MAX:
            return None
    if float in kinds:
        floats = items if only else [item for item in items if type(item) is float]
        # min/max may step over a NaN; isnan may not.
        if min(floats) <= -_FLOAT_LIMIT or max(floats) >= _FLOAT_LIMIT:
            return None
        if any(map(math.isnan, floats)):
            return None
    strings: Any = ()
    if str in kinds:
        strings = items if only else [item for item in items if type(item) is str]
    containers: list = []
    if dict in kinds or list in kinds:
        containers = [item for item in items if type(item) is dict or type(item) is list]
    return containers, strings


_JSON_TYPES = frozenset({str, int, float, bool, type(None), dict, list})
_SMALL = 16  # containers up to this size are cheaper to check item by item


def _small_scalars_ok(items: Any) -> tuple[list, list] | None:
    containers: list = []
    strings: list = []
    for item in items:
        kind = type(item)
        if kind is str:
            strings.append(item)
        elif kind is dict or kind is list:
            containers.append(item)
        elif kind is int:
            if item > INT_MAX or item < INT_MIN:
                return None
        elif kind is float:
            if not -_FLOAT_LIMIT < item < _FLOAT_LIMIT:  # also false for NaN
                return None
        elif item is not None and kind is not bool:
            return None
    return containers, strings


def check_scalar_ok(value: Any) -> bool:
    if type(value) is int:
        return INT_MIN <= value <= INT_MAX
    if type(value) is float:
        return -_FLOAT_LIMIT < value < _FLOAT_LIMIT
    return True


class _Duplicate(dict):
    """An object that had a key twice; `json.loads` builds it, `check_json_value` reports it."""

    duplicate_key = ""


class _Constant(float):
    """NaN, Infinity or -Infinity as written, kept so the walk can report its path."""

    spelling = ""


class _HugeInteger(float):
    """An integer literal too long for any 64-bit reader, kept (without converting it: Python
    refuses to read integers of more than 4,300 digits) so the walk can report its path."""

    digits = 0


_MAX_INT_DIGITS = len(str(INT_MIN))


def _integer(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS:
        marked = _HugeInteger(math.nan)
        marked.digits = len(text.lstrip("-"))
        return marked  # type: ignore[return-value]
    return int(text)


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in items:
        if key in result and not isinstance(result, _Duplicate):
            marked = _Duplicate(result)
            marked.duplicate_key = key
            result = marked
        result[key] = value
    return result


def _constant(name: str) -> float:
    marked = _Constant(math.nan)
    marked.spelling = name
    return marked


def _load_exact(data: bytes, max_depth: int) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        kind = binary_kind(data)
        if kind:
            raise _error(
                "not_a_json_file", f"This is not a JSON file: it looks like {kind}."
            ) from None
        raise _error(
            "invalid_encoding", f"The document is not UTF-8 (byte {exc.start} is invalid)."
        ) from None
    _check_depth_text(text, max_depth)
    try:
        value = json.loads(
            text, object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_integer
        )
    except json.JSONDecodeError as exc:
        if binary_kind(data):
            raise _error(
                "not_a_json_file", f"This is not a JSON file: it looks like {binary_kind(data)}."
            ) from None
        raise _error("malformed_json", describe(text, exc)) from None
    except RecursionError:  # unreachable after the depth scan; kept as a last guard
        raise _error("too_deep", f"Nesting is deeper than {max_depth} levels.") from None
    check_json_value(value, max_depth=max_depth)
    return value


def _check_depth_text(text: str, max_depth: int) -> None:
    if text.count("[") + text.count("{") <= max_depth:
        return
    depth = 0
    for match in _DEPTH_TOKENS.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > max_depth:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
                raise _error(
                    "too_deep",
                    f"Nesting is deeper than {max_depth} levels (at line {line} column {column}).",
                )
        elif token == "]" or token == "}":
            depth -= 1


def check_json_value(value: Any, *, max_depth: int | None = None, path: str = "") -> None:
    """The intake rules for an already-parsed Python value: raises IntakeError for the first
    problem in document order, with its JSON Pointer."""
    max_depth = max_depth or settings.PACK_MAX_DEPTH
    if _is_clean(value, max_depth):
        return
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, dict):
            _check_object(node, where, depth, max_depth)
            children = [(item, f"{where}/{pointer_token(key)}") for key, item in node.items()]
        elif isinstance(node, (list, tuple)):
            if depth > max_depth:
                raise _error("too_deep", f"Nesting is deeper than {max_depth} levels.", where)
            children = [(item, f"{where}/{index}") for index, item in enumerate(node)]
        else:
            _check_scalar(node, where)
            continue
        stack.extend((item, child, depth + 1) for item, child in reversed(children))


def _clean_string(text: str) -> bool:
    if text.isascii():
        return "\x00" not in text
    return not _SURROGATE.search(text)


def _is_clean(value: Any, max_depth: int) -> bool:
    """The same rules as the walk below, without building a pointer per node: most documents are
    clean, and only a failing one needs the slower walk that names where it fails. A wide
    container is checked a type at a time in C (see _scalars_ok)."""
    stack = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        kind = type(node)
        if kind is str:
            if not _clean_string(node):
                return False
        elif kind is dict:
            if depth > max_depth:
                return False
            if len(node) > _SMALL:
                if not _strings_clean(node.keys()) or not _wide_clean(node.values(), depth, push):
                    return False
                continue
            for key, item in node.items():
                if type(key) is not str or not _clean_string(key):
                    return False
                push((item, depth + 1))
        elif kind is list:
            if depth > max_depth:
                return False
            if len(node) > _SMALL:
                if not _wide_clean(node, depth, push):
                    return False
                continue
            for item in node:
                push((item, depth + 1))
        elif kind is int:
            if not INT_MIN <= node <= INT_MAX:
                return False
        elif kind is float:
            if not -_FLOAT_LIMIT < node < _FLOAT_LIMIT:  # also false for NaN
                return False
        elif node is not None and kind is not bool:
            return False  # subclasses (duplicate-key markers, NaN constants) and non-JSON types
    return True


def _wide_clean(items: Any, depth: int, push: Any) -> bool:
    checked = _scalars_ok(items)
    if checked is None or not _strings_clean(checked[1]):
        return False
    for child in checked[0]:
        push((child, depth + 1))
    return True


def _strings_clean(strings: Any) -> bool:
    """No NUL and no lone surrogate in any of `strings` (all must be str)."""
    if not strings:
        return True
    try:
        joined = "".join(strings)
    except TypeError:  # a key that is not a string
        return False
    return _clean_string(joined)


def _check_object(node: dict, where: str, depth: int, max_depth: int) -> None:
    if depth > max_depth:
        raise _error("too_deep", f"Nesting is deeper than {max_depth} levels.", where)
    for key in node:
        if not isinstance(key, str):
            raise _error("invalid_string", f"Object key {key!r} is not a string.", where)
        # The key itself cannot go into the pointer: the problem report must stay valid JSON.
        _check_string(key, where, "key")
    if isinstance(node, _Duplicate):
        key = node.duplicate_key
        raise _error(
            "duplicate_key",
            f"Duplicate key {shorten(key)} in the object at {where or '/'}.",
            f"{where}/{pointer_token(key)}",
        )


def _check_scalar(node: Any, where: str) -> None:
    if node is None or isinstance(node, bool):
        return
    if isinstance(node, str):
        _check_string(node, where, "string")
    elif isinstance(node, _HugeInteger):
        raise _error(
            "invalid_number",
            f"An integer of {node.digits:,} digits is outside the 64-bit integer range.",
            where,
        )
    elif isinstance(node, _Constant):
        raise _error("invalid_number", f"{node.spelling} is not a JSON number.", where)
    elif isinstance(node, int):
        if not INT_MIN <= node <= INT_MAX:
            raise _error(
                "invalid_number", f"The number {node} is outside the 64-bit integer range.", where
            )
    elif isinstance(node, float):
        if math.isnan(node) or math.isinf(node):
            raise _error("invalid_number", "The number overflows to infinity.", where)
        if not -_FLOAT_LIMIT < node < _FLOAT_LIMIT:
            raise _error(
                "invalid_number", f"The number {node!r} is outside the 64-bit integer range.", where
            )
    else:
        raise _error("invalid_value", f"A value of type {type(node).__name__} is not JSON.", where)


def shorten(text: str, limit: int = 60) -> str:
    """repr() of `text`, cut to `limit` characters: safe for messages (escapes lone surrogates
    and control characters)."""
    if len(text) > limit:
        return repr(text[:limit]) + "…"
    return repr(text)


def _check_string(text: str, where: str, what: str) -> None:
    if text.isascii():
        if "\x00" in text:
            raise _error("invalid_string", f"The {what} {shorten(text)} contains \\u0000.", where)
        return
    if _SURROGATE.search(text):
        raise _error(
            "invalid_string", f"The {what} {shorten(text)} contains a lone surrogate.", where
        )
