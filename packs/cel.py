"""Severity-rule conditions as CEL (DESIGN §7, §9), on the Rust-backed `cel` package.

Conditions are compiled once (at validation, and again when the runtime loads a config) and
evaluated over the activation `{exceptionType, rawPayload}`; pack text never reaches Python's
`eval`.

Before the compiler sees a condition, `scan_condition` reads it once, linearly, and refuses what
the library cannot survive or cannot evaluate in bounded time (issue 13): the compiler and the
evaluator recurse on the nesting of the expression and abort the whole process (SIGSEGV) when
the stack runs out, and some constructs cost the square of the payload. Limits and the
measurements behind them are in docs/packs.md ("Limits of conditions").

The Rust compiler costs ~5 µs plus ~0.3 µs per character, which alone would exceed the 50 ms
budget for a pack of 4,000 rules. Most conditions are plain comparisons joined by `&&`/`||`;
those are recognised by `_SIMPLE` (a subset of CEL that the library is known to accept, checked
by a property test) and handed to the library on first evaluation instead. Everything else is
compiled immediately, so an invalid condition is always reported at compile time.
"""

import re
from typing import Any

import cel as _cel
import orjson

from onboarding.errors import InvalidInput, finding
from packs.cel_scan import MAX_CHARS, ScanError, scan_condition

# Evaluation cost, in units of about 0.2 µs (one token of a condition applied to one node of
# the payload, the worst measured rate: a comprehension step). A condition costs
# `fixed_cost + node_weight * payload size`; converting a payload for the library costs
# CONVERSION_WEIGHT units per node (measured ~3 µs).
CONVERSION_WEIGHT = 15
# One evaluation request: about a second of the worst conditions, and payloads up to some
# 300,000 nodes; a real request (a few rules on a payload of a few hundred nodes) uses < 0.1 %.
EVALUATION_BUDGET = 5_000_000
COMPILE_BUDGET = 250_000

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
    """A condition that does not compile or exceeds a limit of cel_scan. `position` is the
    1-based column on `line`."""

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        line: int | None = None,
        limit: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.position = position
        self.line = line
        self.limit = limit  # refused by a limit rather than by the CEL grammar


class CompiledCondition:
    """`exception_type`: the only exception type the condition can match, when its shape proves
    it (a conjunction with a conjunct `exceptionType == '<name>'` is false for every other type:
    in CEL, `false && error` is false). `named_types`: the exception types it compares with `==`
    (None: not known without parsing)."""

    __slots__ = ("_program", "exception_type", "fixed_cost", "named_types", "node_weight", "source")

    def __init__(
        self,
        source: str,
        program: Any = None,
        *,
        exception_type: str | None = None,
        named_types: tuple[str, ...] | None = None,
        fixed_cost: int | None = None,
        node_weight: int = 0,
    ):
        self.source = source
        self._program = program
        self.exception_type = exception_type
        self.named_types = named_types
        # Plain comparisons with literals cost the same whatever the payload holds.
        self.fixed_cost = fixed_cost if fixed_cost is not None else len(source) // 4 + 1
        self.node_weight = node_weight

    def cost(self, payload_size: int) -> int:
        return self.fixed_cost + self.node_weight * payload_size

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


def compile_condition(expr: str, *, budget: "CompileBudget | None" = None) -> CompiledCondition:
    """The condition compiled (or recognised as a plain comparison), else CelError. `budget`
    bounds the characters handed to the compiler over many calls (one pack)."""
    if not isinstance(expr, str):
        raise CelError("A condition must be a string.")
    if len(expr) > MAX_CHARS:
        raise _scan_error(
            expr,
            ScanError(
                f"The condition is {len(expr)} characters long; the limit is {MAX_CHARS}.",
                MAX_CHARS,
            ),
        )
    parts = _simple_parts(expr)
    if parts is None:
        if budget is not None:
            budget.charge(len(expr))
        try:
            scanned = scan_condition(expr)
        except ScanError as exc:
            raise _scan_error(expr, exc) from None
        return CompiledCondition(
            expr,
            _compile_program(expr),
            fixed_cost=scanned.tokens + scanned.pattern_cost,
            node_weight=scanned.tokens,
        )
    named = []
    conjunction = True
    for joiner, path, operator, literal in parts:
        if joiner == "||":
            conjunction = False
        if path == "exceptionType" and operator == "==" and literal[0] in "'\"":
            named.append(literal[1:-1])
    guard = named[0] if conjunction and named else None
    return CompiledCondition(expr, exception_type=guard, named_types=tuple(named))


class CompileBudget:
    """Characters the compiler may still read for one pack. It costs ~70 µs for a condition of
    100 characters (measured on a loaded 2-core machine), so 5 MB of conditions outside the
    plain comparisons would take seconds; a pack may have COMPILE_BUDGET characters of them
    (thousands of such rules; the reference packs have none)."""

    def __init__(self, chars: int = 0):
        self.total = chars or COMPILE_BUDGET
        self.left = self.total

    def charge(self, chars: int) -> None:
        self.left -= chars
        if self.left < 0:
            raise CelError(
                "Not compiled: the pack's conditions other than plain comparisons exceed "
                f"{self.total:,} characters in all.",
                limit=True,
            )


def compile_conditions(exprs: list[Any]) -> list[CompiledCondition | CelError]:
    """compile_condition for many conditions at once (a pack's severity rules), each result a
    CompiledCondition or the CelError it raised, under one CompileBudget. Same results, about
    twice as fast for the usual shape `exceptionType == '<name>' && ...`: one regex pass over
    all of them."""
    budget = CompileBudget()
    results: list[CompiledCondition | CelError | None] = [None] * len(exprs)
    batch = [
        i
        for i, expr in enumerate(exprs)
        if isinstance(expr, str) and "\n" not in expr and len(expr) <= MAX_CHARS
    ]
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
                results[index] = compile_condition(exprs[index], budget=budget)
            except CelError as exc:
                results[index] = exc
    return results  # type: ignore[return-value]


def _scan_error(expr: str, exc: ScanError) -> CelError:
    offset = min(exc.offset, len(expr))
    line = expr.count("\n", 0, offset) + 1
    column = offset - (expr.rfind("\n", 0, offset) + 1) + 1
    return CelError(
        f"{exc.message} (line {line}, column {column})", position=column, line=line, limit=True
    )


def _compile_program(expr: str) -> Any:
    if not expr.strip():
        raise CelError("The condition is empty.", position=1, line=1)
    try:
        return _cel.compile(expr)
    except Exception as exc:  # the library raises ValueError, but any failure is a bad condition
        raise _to_cel_error(str(exc)) from None
    except BaseException as exc:  # a Rust panic surfaces as pyo3's PanicException
        if not _is_panic(exc):
            raise
        raise CelError("The condition could not be compiled.") from None


def _is_panic(exc: BaseException) -> bool:
    return type(exc).__name__ == "PanicException"


def _to_cel_error(text: str) -> CelError:
    match = _ERROR_AT.search(text)
    if match is None:
        return CelError(text.splitlines()[0] if text else "The condition does not compile.")
    line, column, detail = int(match.group(1)), int(match.group(2)), match.group(3)
    return CelError(f"{detail} (line {line}, column {column})", position=column, line=line)


class Budget:
    """Evaluation cost units left; shared by the activations of one request or validation."""

    __slots__ = ("left", "total")

    def __init__(self, units: int):
        self.total = units
        self.left = units

    def charge(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise EvaluationTooCostly(self.total)


class EvaluationTooCostly(InvalidInput):
    def __init__(self, budget: int):
        message = (
            "Evaluating the conditions over this payload would cost more than the "
            f"{budget:,} units one evaluation may use; send a smaller payload."
        )
        super().__init__(
            message,
            code="evaluation_too_costly",
            errors=[finding("evaluation_too_costly", "/payload", message)],
        )


class Activation:
    """One exception as conditions see it, `{exceptionType, rawPayload}`, converted for the
    library once: the library converts a plain dict at every call, which costs the size of the
    payload per rule evaluated. Every evaluation is charged to `budget`, conversion first."""

    __slots__ = ("_context", "_values", "budget", "exception_type", "payload_size")

    def __init__(self, exception_type: Any, raw_payload: Any, *, budget: Budget | None = None):
        self.exception_type = exception_type
        self._values = {"exceptionType": exception_type, "rawPayload": raw_payload}
        self._context: Any = None
        self.payload_size = payload_size(raw_payload) + payload_size(exception_type)
        self.budget = budget if budget is not None else Budget(EVALUATION_BUDGET)
        self.budget.charge(CONVERSION_WEIGHT * self.payload_size)

    @property
    def context(self) -> Any:
        if self._context is None:
            try:
                self._context = _cel.Context(variables=self._values)
            except Exception:
                self._context = self._values  # the library raises again, per rule: no match
        return self._context


def payload_size(value: Any) -> int:
    """About the nodes of a JSON value plus one per 16 bytes of its text: what the library's
    conversion and a linear scan of the value cost. Counted on the compact JSON (orjson, in C:
    a walk in Python costs more than the evaluations it guards); separators and brackets
    inside strings only make the estimate larger."""
    try:
        text = orjson.dumps(value)
    except TypeError:  # not plain JSON: walk it
        return _walked_size(value)
    return text.count(b",") + text.count(b"[") + text.count(b"{") + 1 + len(text) // 16


def _walked_size(value: Any) -> int:
    size = 0
    stack = [value]
    while stack:
        node = stack.pop()
        size += 1
        if isinstance(node, str):
            size += len(node) >> 4
        elif isinstance(node, dict):
            size += sum(len(key) for key in node) >> 4
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return size


def condition_matches(compiled: CompiledCondition, activation: Activation | dict[str, Any]) -> bool:
    """Only a result of exactly `true` matches; a missing field, a type mismatch or any other
    evaluation error means the rule does not apply. An Activation is charged the condition's
    cost first (EvaluationTooCostly when its budget runs out)."""
    if isinstance(activation, Activation):
        if (
            compiled.exception_type is not None
            and activation.exception_type != compiled.exception_type
        ):
            return False
        activation.budget.charge(compiled.cost(activation.payload_size))
        context = activation.context
    else:
        if (
            compiled.exception_type is not None
            and activation.get("exceptionType") != compiled.exception_type
        ):
            return False
        context = activation
    try:
        return compiled.program.execute(context) is True
    except Exception:
        return False
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        return False
