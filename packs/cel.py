"""Severity-rule conditions as CEL (DESIGN §7, §9), on the Rust-backed `cel` package.

Conditions are compiled once (at validation, and again when the runtime loads a config) and
evaluated over the activation `{exceptionType, rawPayload}`; pack text never reaches Python's
`eval`.

The Rust compiler costs ~5 µs plus ~0.3 µs per character, which alone would exceed the 50 ms
budget for a pack of 4,000 rules. Most conditions are plain comparisons joined by `&&`/`||`;
those are recognised by `_SIMPLE` (a subset of CEL that the library is known to accept, checked
by a property test) and handed to the library on first evaluation instead. Everything else is
compiled immediately, so an invalid condition is always reported at compile time.
"""

import re
from typing import Any

import cel as _cel

# Identifiers CEL reserves; they cannot name a variable or a field.
_RESERVED = frozenset(
    {
        "as",
        "break",
        "const",
        "continue",
        "else",
        "false",
        "for",
        "function",
        "if",
        "import",
        "in",
        "let",
        "loop",
        "package",
        "namespace",
        "null",
        "return",
        "true",
        "var",
        "void",
        "while",
    }
)
_IDENT = rf"(?!(?:{'|'.join(sorted(_RESERVED))})(?![A-Za-z0-9_]))[A-Za-z_][A-Za-z0-9_]{{0,63}}"
_LITERAL = (
    r"(?:'[^'\\\x00-\x1f\x7f]{0,200}'"
    r'|"[^"\\\x00-\x1f\x7f]{0,200}"'
    r"|-?[0-9]{1,15}(?:\.[0-9]{1,15})?"
    r"|true|false|null)"
)
_COMPARISON = rf"(?:{_IDENT}(?:\.{_IDENT}){{0,7}}) ?(?:==|!=|<=|>=|<|>) ?{_LITERAL}"
# One comparison with the joiner before it; a simple condition is a contiguous run of these
# (at most 16) covering the whole text.
_PARTS = re.compile(
    rf"(?:^| (&&|\|\|) )({_IDENT}(?:\.{_IDENT}){{0,7}}) ?(==|!=|<=|>=|<|>) ?({_LITERAL})"
)
# The usual shape, recognised for a whole list of conditions in one pass: the exception type
# first, then only `&&` comparisons.
_GUARDED_LINE = re.compile(
    rf"^exceptionType ?== ?'([^'\\\x00-\x1f\x7f]{{0,200}})'((?: && {_COMPARISON}){{0,15}})$",
    re.MULTILINE,
)
_ERROR_AT = re.compile(r"<input>:(\d+):(\d+): (.*)")


class CelError(ValueError):
    """A condition that does not compile. `position` is the 1-based column on `line`."""

    def __init__(self, message: str, *, position: int | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.position = position
        self.line = line


class CompiledCondition:
    """`exception_type`: the only exception type the condition can match, when its shape proves
    it (a conjunction with a conjunct `exceptionType == '<name>'` is false for every other type:
    in CEL, `false && error` is false). `named_types`: the exception types it compares with `==`
    (None: not known without parsing)."""

    __slots__ = ("_program", "exception_type", "named_types", "source")

    def __init__(
        self,
        source: str,
        program: Any = None,
        *,
        exception_type: str | None = None,
        named_types: tuple[str, ...] | None = None,
    ):
        self.source = source
        self._program = program
        self.exception_type = exception_type
        self.named_types = named_types

    def __repr__(self) -> str:
        return f"CompiledCondition({self.source!r})"

    @property
    def program(self) -> Any:
        if self._program is None:
            self._program = _compile_program(self.source)
        return self._program


def _simple_parts(expr: str) -> list[tuple[str, str, str, str]] | None:
    """(joiner, path, operator, literal) of each comparison when `expr` is in the plain
    comparison subset known to compile, else None."""
    parts = []
    end = 0
    for match in _PARTS.finditer(expr):
        if match.start() != end:
            return None
        end = match.end()
        parts.append(match.groups())
    if end != len(expr) or not parts or len(parts) > 16:
        return None
    return parts


def is_simple(expr: str) -> bool:
    return _simple_parts(expr) is not None


def compile_condition(expr: str) -> CompiledCondition:
    if not isinstance(expr, str):
        raise CelError("A condition must be a string.")
    parts = _simple_parts(expr)
    if parts is None:
        return CompiledCondition(expr, _compile_program(expr))
    named = []
    conjunction = True
    for joiner, path, operator, literal in parts:
        if joiner == "||":
            conjunction = False
        if path == "exceptionType" and operator == "==" and literal[0] in "'\"":
            named.append(literal[1:-1])
    guard = named[0] if conjunction and named else None
    return CompiledCondition(expr, exception_type=guard, named_types=tuple(named))


def compile_conditions(exprs: list[Any]) -> list[CompiledCondition | CelError]:
    """compile_condition for many conditions at once (a pack's severity rules), each result a
    CompiledCondition or the CelError it raised. Same results, about twice as fast for the
    usual shape `exceptionType == '<name>' && ...`: one regex pass over all of them."""
    results: list[CompiledCondition | CelError | None] = [None] * len(exprs)
    batch = [i for i, expr in enumerate(exprs) if isinstance(expr, str) and "\n" not in expr]
    line_of: dict[int, int] = {}
    offset = 0
    for index in batch:
        line_of[offset] = index
        offset += len(exprs[index]) + 1
    for match in _GUARDED_LINE.finditer("\n".join(exprs[index] for index in batch)):
        if "exceptionType" in match.group(2):  # names more types: the general path lists them
            continue
        index = line_of[match.start()]
        name = match.group(1)
        results[index] = CompiledCondition(exprs[index], exception_type=name, named_types=(name,))
    for index, result in enumerate(results):
        if result is None:
            try:
                results[index] = compile_condition(exprs[index])
            except CelError as exc:
                results[index] = exc
    return results  # type: ignore[return-value]


def _compile_program(expr: str) -> Any:
    if not expr.strip():
        raise CelError("The condition is empty.", position=1, line=1)
    try:
        return _cel.compile(expr)
    except Exception as exc:  # the library raises ValueError, but any failure is a bad condition
        raise _to_cel_error(str(exc)) from None


def _to_cel_error(text: str) -> CelError:
    match = _ERROR_AT.search(text)
    if match is None:
        return CelError(text.splitlines()[0] if text else "The condition does not compile.")
    line, column, detail = int(match.group(1)), int(match.group(2)), match.group(3)
    return CelError(f"{detail} (line {line}, column {column})", position=column, line=line)


def condition_matches(compiled: CompiledCondition, activation: dict[str, Any]) -> bool:
    """Only a result of exactly `true` matches; a missing field, a type mismatch or any other
    evaluation error means the rule does not apply."""
    if (
        compiled.exception_type is not None
        and activation.get("exceptionType") != compiled.exception_type
    ):
        return False
    try:
        return compiled.program.execute(activation) is True
    except Exception:
        return False
