"""Reading the parts of pack content that other parts refer to (tools, exception types,
playbooks). Tolerant of malformed content: validation reports the shape problems, these
helpers only look at what is there."""

import re
from typing import Any

# `name(`: an identifier immediately followed by an opening parenthesis, as playbook step text
# writes tool calls ("Run recalculatePosition(accountId,cusip)").
_CALL = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*)\(")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Step fields whose text describes what the step does.
_TEXT_FIELDS = ("action", "description")


def tool_names(domain_content: Any) -> set[str]:
    tools = domain_content.get("tools") if isinstance(domain_content, dict) else None
    return set(tools) if isinstance(tools, dict) else set()


def exception_type_names(domain_content: Any) -> set[str]:
    types = domain_content.get("exceptionTypes") if isinstance(domain_content, dict) else None
    return set(types) if isinstance(types, dict) else set()


def playbook_id(playbook: dict[str, Any]) -> str:
    value = playbook.get("playbookId")
    if isinstance(value, str) and value:
        return value
    value = playbook.get("exceptionType")
    return value if isinstance(value, str) else ""


def step_texts(step: Any) -> list[str]:
    if isinstance(step, str):
        return [step]
    if isinstance(step, dict):
        return [step[key] for key in _TEXT_FIELDS if isinstance(step.get(key), str)]
    return []


def text_calls(text: str) -> list[str]:
    """Names written as calls (`name(`) in free text, in order of appearance."""
    return _CALL.findall(text)


def step_tool_refs_detailed(
    playbook: dict[str, Any], known_tools: set[str]
) -> list[tuple[str, str, str]]:
    """(pointer of the step relative to the playbook, tool name, kind) with kind one of
    `tool` (structured field), `call` (`name(` in text) or `mention` (a known tool named in
    text). Each name is listed once per step, the first kind found winning."""
    steps = playbook.get("steps") if isinstance(playbook, dict) else None
    if not isinstance(steps, list):
        return []
    refs: list[tuple[str, str, str]] = []
    for index, step in enumerate(steps):
        found: dict[str, str] = {}  # name -> kind, first kind found winning
        if isinstance(step, dict) and isinstance(step.get("tool"), str):
            found[step["tool"]] = "tool"
        for text in step_texts(step):
            for name in text_calls(text):
                found.setdefault(name, "call")
            for name in _WORD.findall(text):
                if name in known_tools:
                    found.setdefault(name, "mention")
        refs.extend((f"/steps/{index}", name, kind) for name, kind in found.items())
    return refs


def step_tool_refs(playbook: dict[str, Any], known_tools: set[str]) -> list[tuple[str, str]]:
    """(JSON Pointer of the step relative to the playbook, e.g. `/steps/2`, tool name) for every
    structured `tool` field, every `name(` call and every known tool named in the step text."""
    return [(pointer, name) for pointer, name, _ in step_tool_refs_detailed(playbook, known_tools)]
