"""The linear pre-scan every CEL condition passes before the compiler sees it (issue 13).

The `cel` library parses, evaluates and frees an expression recursively and has no guard: a
condition nested a few thousand levels deep kills the process with SIGSEGV (measured on
cel 0.14.5 / common-expression-language 0.10: a chain of `.a`, `+ 1` or `[0]` at about 12,400
links on an 8 MiB main-thread stack and 376 in a thread with a 256 KiB stack; 36 nested brackets
in a 256 KiB thread). Some constructs cost the square of the payload: `map` and `filter` copy
the list built so far at every element, a comprehension inside another runs the inner one per
element of the outer, and a body that reads anything but its loop variable may scan the whole
payload per element; `matches` compiles its pattern at every call, and a pattern such as
`(.{1000}){1000}` takes hundreds of milliseconds to compile.

`scan_condition` reads the text once, token by token, and refuses each of these with a
`CelError` that names the column, in microseconds. What it accepts compiles and evaluates within
a 256 KiB thread stack with room to spare (tests/packs/test_cel_limits.py runs the worst
accepted shapes there). The limits are far above what real conditions use (the reference packs:
at most 84 characters, nesting 0, chains of 3).
"""

import re
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_CHARS = 2_000
MAX_TOKENS = 500
# Brackets plus ternaries open at one point: the parser spends ~7 KiB of stack on each.
MAX_NESTING = 12
# Estimated depth of the syntax tree: links of member, index, call and binary-operator chains
# summed over the open brackets; the evaluator spends ~0.7 KiB of stack on each level.
MAX_DEPTH = 64
# Estimated cost of compiling the `matches` patterns of one condition, in units of about a
# microsecond (measured: a literal or an ASCII class costs ~0.2 µs, `.` ~20 µs, a negated class
# ~40 µs, `\\w` or `\\p{L}` ~1.3 ms).
MAX_PATTERN_COST = 4_000

COMPREHENSIONS = frozenset({"all", "exists", "exists_one"})
QUADRATIC_MACROS = frozenset({"map", "filter"})
# Free identifiers that name no variable: literals, type names, the optional namespace.
_LITERAL_WORDS = frozenset({"true", "false", "null", "optional", "dyn", "type", "null_type"})
_LITERAL_WORDS |= {"int", "uint", "double", "bool", "string", "bytes", "list", "map"}
_BINARY = frozenset({"==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "in"})
_OPEN = {"(": ")", "[": "]", "[?": "]", "{": "}"}
_CLOSE = frozenset({")", "]", "}"})

_TOKEN = re.compile(
    r"""(?P<space>[\t\n\f\r ]+|//[^\n]*)
    |(?P<string>[bB]?[rR](?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n\r]*'|"[^"\n\r]*")
       |[bB]?(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"
                |'(?:\\.|[^'\\\n\r])*'|"(?:\\.|[^"\\\n\r])*"))
    |(?P<quote>[bBrR]{0,2}['"])
    |(?P<number>\d*\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|0[xX][0-9a-fA-F]+[uU]?|\d+[uU]?)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>==|!=|<=|>=|&&|\|\||\.\?|\[\?|[-+*/%!<>?:.,()\[\]{}])
    |(?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


class ScanError(ValueError):
    """A condition refused by the pre-scan; `offset` is the 0-based index in the text."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message = message
        self.offset = offset


class Token(NamedTuple):
    kind: str
    text: str
    start: int


@dataclass
class _Frame:
    opener: str  # "", "(", "[", "[?", "{"
    macro: str = ""  # the comprehension this bracket holds the arguments of
    argument: int = 0  # index of the argument being read (commas seen)
    loop_variables: set[str] = field(default_factory=set)
    body_of: "_Frame | None" = None  # the comprehension whose body encloses this frame
    chain: int = 0  # links of the current operator chain
    peak: int = 0  # deepest chain seen in this frame, carried to the parent when it closes
    ternaries: int = 0


@dataclass(frozen=True)
class ScanResult:
    tokens: int
    pattern_cost: int
    comprehensions: int


def tokenize(text: str) -> list[Token]:
    """The significant tokens of `text`, at most MAX_TOKENS of them."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "space":
            continue
        if kind == "quote":
            raise ScanError("A string literal is not closed.", match.start())
        if len(tokens) == MAX_TOKENS:
            raise ScanError(
                f"The condition has more than {MAX_TOKENS} tokens; the limit is {MAX_TOKENS}.",
                match.start(),
            )
        tokens.append(Token(kind, match.group(), match.start()))
    return tokens


def scan_condition(text: str) -> ScanResult:
    """Raises ScanError for a condition outside the limits; otherwise its token count, the
    estimated cost of its patterns and its number of comprehensions."""
    if len(text) > MAX_CHARS:
        raise ScanError(
            f"The condition is {len(text)} characters long; the limit is {MAX_CHARS}.", MAX_CHARS
        )
    if _plainly_within_limits(text):
        return ScanResult(len(text) // 2 + 1, 0, 0)
    return _Scanner(tokenize(text)).run()


# Every token that opens a level holds one of these characters, every link of a chain one of
# these (or the word `in`).
_NEST_CHARS = "([{?"
_LINK_CHARS = ".([=!<>+-*/%"
_SPECIAL = re.compile(r"\b(?:all|exists|exists_one|map|filter|matches)\b")


def _plainly_within_limits(text: str) -> bool:
    """A sound shortcut that most conditions take (a few microseconds): counting characters
    bounds the tokens, the nesting and the chains from above, and without comprehensions or
    patterns there is nothing else to check."""
    return (
        len(text) <= MAX_TOKENS
        and sum(map(text.count, _NEST_CHARS)) <= MAX_NESTING
        and sum(map(text.count, _LINK_CHARS)) + text.count("in") <= MAX_DEPTH
        and _SPECIAL.search(text) is None
    )


class _Scanner:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.frames = [_Frame("")]
        self.depth = 0  # sum of the open frames' chains
        self.nesting = 0  # open brackets plus open ternaries
        self.pattern_cost = 0
        self.comprehensions = 0

    def run(self) -> ScanResult:
        previous: Token | None = None
        for index, token in enumerate(self.tokens):
            following = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
            self.step(token, previous, following, index)
            previous = token
        return ScanResult(len(self.tokens), self.pattern_cost, self.comprehensions)

    def step(self, token: Token, previous: Token | None, following: Token | None, index: int):
        text, frame = token.text, self.frames[-1]
        after_operand = previous is not None and _ends_operand(previous)
        if token.kind == "ident" and text != "in":
            self.identifier(token, previous, following, index)
        elif text in _OPEN:
            if after_operand:  # a call or an index applied to what precedes it
                self.link(token)
            self.open(token, index)
        elif text in _CLOSE:
            self.close(token)
        elif text in (",", ":", "&&", "||"):
            self.depth -= frame.chain
            frame.chain = 0
            if text == ",":
                frame.argument += 1
        elif text == "?":
            frame.ternaries += 1
            self.nest(token)
        elif text in (".", ".?") or (text in _BINARY and (text != "-" or after_operand)):
            self.link(token)

    def link(self, token: Token) -> None:
        frame = self.frames[-1]
        frame.chain += 1
        frame.peak = max(frame.peak, frame.chain)
        self.depth += 1
        self.check_depth(token)

    def check_depth(self, token: Token) -> None:
        if self.depth > MAX_DEPTH:
            raise ScanError(
                f"The expression is nested too deeply (more than {MAX_DEPTH} levels of "
                "operators, field selections, indexes and calls).",
                token.start,
            )

    def nest(self, token: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ScanError(
                f"Brackets and ternaries are nested more than {MAX_NESTING} deep.", token.start
            )

    def open(self, token: Token, index: int) -> None:
        parent = self.frames[-1]
        frame = _Frame(token.text, body_of=self.body(parent))
        previous = self.tokens[index - 1] if index >= 1 else None
        name = previous.text if previous is not None and previous.kind == "ident" else ""
        method = token.text == "(" and index >= 2 and self.tokens[index - 2].text in (".", ".?")
        if method and name in QUADRATIC_MACROS:
            raise ScanError(
                f"{name}() is not supported in conditions: its cost grows with the square of "
                "the list (use exists, all or exists_one).",
                previous.start,
            )
        if method and name in COMPREHENSIONS:
            if frame.body_of is not None:
                raise ScanError(
                    f"{name}() inside {frame.body_of.macro}(): a comprehension inside another "
                    "costs the product of both lists.",
                    previous.start,
                )
            frame.macro = name
            self.comprehensions += 1
        self.frames.append(frame)
        self.nest(token)

    @staticmethod
    def body(frame: _Frame) -> "_Frame | None":
        if frame.macro and frame.argument >= 1:
            return frame
        return frame.body_of

    def close(self, token: Token) -> None:
        if len(self.frames) == 1:
            return  # unbalanced: the compiler reports it
        frame = self.frames.pop()
        self.nesting -= 1 + frame.ternaries
        self.depth -= frame.chain
        parent = self.frames[-1]
        parent.chain += frame.peak
        parent.peak = max(parent.peak, parent.chain)
        self.depth += frame.peak
        self.check_depth(token)

    def identifier(
        self, token: Token, previous: Token | None, following: Token | None, index: int
    ) -> None:
        selected = previous is not None and previous.text in (".", ".?")
        called = following is not None and following.text == "("
        frame = self.frames[-1]
        body = self.body(frame)
        if token.text == "matches" and called:
            self.pattern(token, selected, body, index)
        if selected or called or token.text in _LITERAL_WORDS:
            return
        if frame.macro and frame.argument == 0:
            frame.loop_variables.add(token.text)
        elif body is not None and token.text not in body.loop_variables:
            names = ", ".join(sorted(body.loop_variables)) or "its loop variable"
            raise ScanError(
                f"Inside {body.macro}() only {names} and literals may be used, not "
                f"{token.text}: the body runs once per element.",
                token.start,
            )

    def pattern(self, token: Token, selected: bool, body: "_Frame | None", index: int) -> None:
        if not selected:
            raise ScanError("Write matches as text.matches('pattern').", token.start)
        if body is not None:
            raise ScanError(
                f"matches() inside {body.macro}() compiles its pattern once per element.",
                token.start,
            )
        argument = self.tokens[index + 2] if index + 2 < len(self.tokens) else None
        closing = self.tokens[index + 3] if index + 3 < len(self.tokens) else None
        if argument is None or argument.kind != "string" or closing is None:
            raise ScanError("The pattern of matches() must be a string literal.", token.start)
        if closing.text != ")":
            raise ScanError("The pattern of matches() must be a string literal.", token.start)
        self.pattern_cost += pattern_cost(argument.text)
        if self.pattern_cost > MAX_PATTERN_COST:
            raise ScanError(
                "The patterns of matches() are too costly to compile (Unicode classes such as "
                "\\w, or large repetition counts).",
                argument.start,
            )


def _ends_operand(token: Token) -> bool:
    if token.kind in ("number", "string"):
        return True
    if token.kind == "ident":
        return token.text != "in"
    return token.text in _CLOSE


# --- the cost of a regular expression (estimated, linear in the pattern) ----------------------

_CLASS_ESCAPES = {"w": 1_300, "W": 1_300, "p": 1_300, "P": 1_300, "d": 100, "D": 100}
_CLASS_ESCAPES |= {"s": 50, "S": 50}
_CASE_FOLDING = re.compile(r"\(\?[a-zA-Z]*i")
_REPEAT = re.compile(r"\{(\d{1,7})(?:,(\d{0,7}))?\}")


def pattern_cost(literal: str) -> int:
    """An upper estimate of the cost of compiling the regular expression written as the CEL
    string literal `literal` (escapes left as written: overestimating is safe). Counted
    repetitions multiply what they repeat; groups sum their contents."""
    body = literal.lstrip("bBrR")
    quote = 3 if body[:3] in ("'''", '"""') else 1
    pattern = body[quote:-quote]
    scale = 4 if _CASE_FOLDING.search(pattern) else 1  # case folding widens every class
    stack: list[int] = [0]
    last = 0
    position = 0
    while position < len(pattern):
        char = pattern[position]
        position += 1
        if char == "\\":
            while position < len(pattern) and pattern[position] == "\\":
                position += 1
            letter = pattern[position] if position < len(pattern) else ""
            position += 1
            last = _CLASS_ESCAPES.get(letter, 1)
        elif char == "[":
            last, position = _class_cost(pattern, position)
        elif char == ".":
            last = 20
        elif char == "(":
            stack.append(0)
            last = 0
            continue
        elif char == ")":
            last = stack.pop() if len(stack) > 1 else 0
        elif char == "{" and (repeat := _REPEAT.match(pattern, position - 1)):
            low, high = repeat.group(1), repeat.group(2)
            count = max(int(low), int(high) if high else int(low) + 1)
            stack[-1] += last * (count - 1)
            last *= count
            position = repeat.end()
            continue
        elif char in "*+?|^$":
            continue
        else:
            last = 1
        stack[-1] += last
    return sum(stack) * scale


def _class_cost(pattern: str, position: int) -> tuple[int, int]:
    """Cost of the class `[...]` whose body starts at `position`, and the position after it."""
    negated = pattern.startswith("^", position)
    cost = 40 if negated else 1
    position += negated
    if pattern.startswith("]", position):
        position += 1
    while position < len(pattern) and pattern[position] != "]":
        if pattern[position] == "\\":
            while position < len(pattern) and pattern[position] == "\\":
                position += 1
            cost += _CLASS_ESCAPES.get(pattern[position : position + 1], 0)
        position += 1
    return cost, position + 1
