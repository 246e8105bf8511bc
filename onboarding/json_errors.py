"""Parse errors of JSON said the way a person fixes them (issue 23): the real position of the
mistake and what it is in words ("Trailing comma after line 55 …"), rather than the parser's
view of where it noticed ("Expecting property name … at line 56 column 1", the closing brace).

`describe(text, error)` turns the standard library's JSONDecodeError into one sentence that
always names a line and column; `binary_kind(data)` recognises a file that is not text at all
(an image, an archive, a PDF) so the intake says "not a JSON file" rather than "not UTF-8"."""

import json
import re

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")

# Leading bytes of files people upload by mistake (most-used formats only).
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an Office document"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a program"),
)
_TEXT_CONTROLS = set(b"\t\n\r\x0c")


def binary_kind(data: bytes) -> str | None:
    """What a non-text file looks like ("a PNG image"), "a binary file" when its first bytes
    hold control characters no text file has, None when it may be text."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    head = data[:1024]
    if any(byte < 0x20 and byte not in _TEXT_CONTROLS for byte in head):
        return "a binary file"
    return None


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _at(text: str, index: int) -> str:
    line, column = _position(text, index)
    return f"line {line} column {column}"


def _previous_token(text: str, index: int) -> int:
    """Index of the last character before `index` that is not whitespace (-1: none)."""
    index -= 1
    while index >= 0 and text[index] in " \t\r\n":
        index -= 1
    return index


def describe(text: str, error: json.JSONDecodeError) -> str:
    pos, message = error.pos, error.msg
    here = _at(text, pos)
    char = text[pos] if pos < len(text) else ""
    prev = _previous_token(text, pos)
    if not text.strip():
        return f"The document is empty (line {error.lineno} column {error.colno})."
    if message.startswith("Unexpected UTF-8 BOM"):
        return f"The file starts with a byte order mark at {here}: save it as UTF-8 without BOM."
    if message.startswith("Unterminated string"):
        return f"The string that starts at {here} is never closed: a double quote is missing."
    if message.startswith("Invalid control character"):
        return (
            f"A line break or control character inside the string at {here}: write it as "
            "\\n or \\t, or close the string before the line ends."
        )
    if message.startswith("Invalid \\escape") or message.startswith("Invalid \\u"):
        return (
            f"An invalid backslash escape at {here}: inside a string write \\\\ for a backslash "
            '(valid escapes: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX).'
        )
    if message == "Extra data":
        return (
            f"Unexpected text after the end of the JSON document at {here}: "
            "the document must be one object."
        )
    if not char:
        return (
            f"The document ends too early at {here}: "
            "a value, a closing brace or a closing bracket is missing."
        )
    if prev >= 0 and text[prev] == "," and char in "}]":
        comma_line, comma_column = _position(text, prev)
        closing = "brace" if char == "}" else "bracket"
        return (
            f"Trailing comma after line {comma_line} (column {comma_column}): nothing follows it "
            f"before the closing {closing} at {here}. Remove the comma."
        )
    if text.startswith("//", pos) or text.startswith("/*", pos):
        return f"A comment at {here}: JSON does not allow comments."
    if char == "'":
        return f"Single quotes at {here}: JSON needs double quotes around keys and strings."
    if message.startswith("Expecting ',' delimiter"):
        prev_line, _ = _position(text, max(prev, 0))
        where = f"after line {prev_line}" if prev_line != _position(text, pos)[0] else "before"
        return f"A comma is missing {where} at {here}: items must be separated by commas."
    if message.startswith("Expecting ':' delimiter"):
        return f'A colon is missing after the key at {here}: write "key": value.'
    word = _WORD.match(text, pos)
    if message.startswith("Expecting property name") and word:
        return f'The key {word.group()} at {here} needs double quotes: "{word.group()}".'
    if message.startswith("Expecting value") and word:
        hint = {"True": "true", "False": "false", "None": "null", "undefined": "null"}
        fix = hint.get(word.group())
        tail = f" (write {fix})" if fix else ": strings need double quotes"
        return f"Unexpected {word.group()} at {here}{tail}."
    if message.startswith("Expecting value"):
        return f"A value is missing or unexpected {char!r} at {here}."
    return f"Malformed JSON: {message} at {here}."
