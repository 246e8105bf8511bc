"""Every `manage.py` command and `make` target shown in the README and docs/*.md exists, and every
option used is accepted by the command's own parser: a renamed option breaks this test, not an
operator following the guide."""

import re
import shlex
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(sh|bash|console|shell)\s*$")
SEPARATORS = {"|", "||", "&&", ";", "&"}
MANAGE = re.compile(r"(?:^|/)manage\.py$")


def shell_blocks(path: Path):
    """(line number, command text) for each command of each shell block, `\\` lines joined."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index].strip())
        index += 1
        if not match:
            continue
        console = match.group(1) == "console"
        pending, start = "", 0
        while index < len(lines) and lines[index].strip() != "```":
            line = lines[index]
            index += 1
            if console and not pending:
                if not line.startswith("$ "):
                    continue  # output, not a command
                line = line[2:]
            if not pending:
                start = index
            stripped = line.split(" #", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
            if pending:
                stripped = stripped.strip()
            if stripped.endswith("\\"):
                pending += stripped[:-1].rstrip() + " "
                continue
            text = (pending + stripped).strip()
            pending = ""
            if text:
                yield start, text
        index += 1


SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")


def words(text: str) -> list[str]:
    # `TOKEN=$(manage.py issue_token ...)`: the inner command is a command of its own.
    text = SUBSTITUTION.sub(lambda m: f" ; {m.group(1)} ; ", text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes in an illustrative line: take it word by word
        return text.split()


def segments(tokens: list[str]):
    current: list[str] = []
    for token in tokens:
        if token in SEPARATORS:
            yield current
            current = []
        else:
            current.append(token)
    yield current


def invocations():
    """(doc:line, kind, name, args) for every manage.py command and make target in the docs."""
    found = []
    for path in DOCS:
        for line, text in shell_blocks(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            for segment in segments(words(text)):
                for position, token in enumerate(segment):
                    if MANAGE.search(token) and position + 1 < len(segment):
                        end = next(
                            (
                                i
                                for i, t in enumerate(segment[position + 2 :], position + 2)
                                if t.startswith((">", "2>"))
                            ),
                            len(segment),
                        )
                        found.append(
                            (where, "manage", segment[position + 1], segment[position + 2 : end])
                        )
                        break
                    if token == "make" and (position == 0 or "=" in segment[position - 1]):
                        targets = [t for t in segment[position + 1 :] if not t.startswith("-")]
                        targets = [t for t in targets if "=" not in t]
                        found.extend((where, "make", target, []) for target in targets[:1])
                        break
    return found


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE)}


FOUND = invocations()
MANAGE_CALLS = [item for item in FOUND if item[1] == "manage"]
MAKE_CALLS = [item for item in FOUND if item[1] == "make"]


def test_docs__shell_blocks__show_commands_and_make_targets():
    commands = {name for _where, _kind, name, _args in MANAGE_CALLS}
    assert {"seed_demo", "import_packs", "activate", "validate_pack"} <= commands
    assert {"run", "test"} <= {name for _where, _kind, name, _args in MAKE_CALLS}


@pytest.mark.parametrize(
    ("where", "name", "args"),
    [(w, n, a) for w, _k, n, a in MANAGE_CALLS],
    ids=[f"{w}:{n}" for w, _k, n, _a in MANAGE_CALLS],
)
def test_docs_manage_command__as_written__is_a_real_command_accepting_its_options(
    where, name, args
):
    commands = get_commands()
    assert name in commands, f"{where}: `manage.py {name}` is not a management command"
    command = load_command_class(commands[name], name)
    parser = command.create_parser("manage.py", name)
    known = set(parser._option_string_actions)
    for arg in args:
        if arg.startswith("--"):
            option = arg.split("=", 1)[0]
            assert option in known, f"{where}: `manage.py {name}` has no option {option}"
    try:
        _namespace, unknown = parser.parse_known_args(args)
    except (CommandError, SystemExit) as exc:
        pytest.fail(f"{where}: `manage.py {name} {' '.join(args)}` is refused: {exc}")
    assert not [u for u in unknown if u.startswith("-")], f"{where}: unknown options {unknown}"


@pytest.mark.parametrize(
    ("where", "target"),
    [(w, n) for w, _k, n, _a in MAKE_CALLS],
    ids=[f"{w}:{n}" for w, _k, n, _a in MAKE_CALLS],
)
def test_docs_make_target__as_written__exists_in_the_makefile(where, target):
    assert target in make_targets(), f"{where}: `make {target}` is not a Makefile target"


def test_docs_parser__console_block_with_continuation__yields_each_command(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text(
        '```console\n$ python manage.py activate \\\n    --tenant T --dry-run\n{"ok": true}\n'
        "$ make run\n```\n\n```sh\nA=1 .venv/bin/python manage.py verify_packs && make test\n```\n",
        encoding="utf-8",
    )
    texts = [text for _line, text in shell_blocks(doc)]
    assert texts == [
        "python manage.py activate --tenant T --dry-run",
        "make run",
        "A=1 .venv/bin/python manage.py verify_packs && make test",
    ]
    calls = [list(segments(words(text))) for text in texts]
    assert calls[2] == [["A=1", ".venv/bin/python", "manage.py", "verify_packs"], ["make", "test"]]
