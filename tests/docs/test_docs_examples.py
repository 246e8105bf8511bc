"""The docs stay true to the code: generated reference sections match the schemas, the API
reference covers every endpoint, and every link and screenshot the docs point at exists."""

import re
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

from docs.tools import pack_reference

ROOT = Path(__file__).resolve().parents[2]
DOCS_DIR = ROOT / "docs"
DOCS = [ROOT / "README.md", *sorted(DOCS_DIR.glob("*.md"))]
# Written by `make bench`, possibly after these docs: a link to it may wait for its first run.
GENERATED_LATER = {DOCS_DIR / "performance.md"}
# Paths that only serve pages or Django's own tools, not the JSON API.
# Pages with no API, and the catch-all 404 ("^").
# The OpenID Connect sign-in (oidc/login, oidc/callback) is a browser redirect flow (docs/sso.md).
NOT_API = {
    "",
    "login",
    "logout",
    "oidc/login",
    "oidc/callback",
    "confirm",
    "admin/packs",
    "ops",
    "api/docs/",
    "^",
}
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)
ANCHOR = re.compile(r'<a id="([^"]+)"')
PLACEHOLDER = re.compile(r"<[^>]+>|\{[^}]+\}")


def routes(patterns=None, prefix=""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if not route.startswith("django-admin"):
                yield from routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def slug(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    without_code = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return {slug(h) for h in HEADING.findall(without_code)} | set(ANCHOR.findall(text))


def test_pack_guide__generated_reference__matches_schemas_and_validator():
    current = pack_reference.GUIDE.read_text(encoding="utf-8")
    wanted = pack_reference._splice(current, pack_reference.render())
    assert wanted == current, "run: python -m docs.tools.pack_reference"


def test_pack_guide__every_schema_property__has_a_row():
    from packs.validation import load_schema

    text = pack_reference.GUIDE.read_text(encoding="utf-8")
    checked = 0
    for pack_type in ("domain", "tenant"):
        schema = load_schema(pack_type)
        nodes = [schema, *(schema.get("$defs") or {}).values()]
        for node in nodes:
            for name in node.get("properties") or {}:
                assert f"| `{name}` |" in text, f"{pack_type} field {name} is not documented"
                checked += 1
    assert checked > 20, "a schema without properties would pass the loop"


def test_api_reference__every_api_route__is_documented():
    text = PLACEHOLDER.sub("{}", (DOCS_DIR / "api.md").read_text(encoding="utf-8"))
    missing = [
        route
        for route in routes()
        if route not in NOT_API and f"/{PLACEHOLDER.sub('{}', route)}" not in text
    ]
    assert not missing, f"docs/api.md lacks {missing} (python -m docs.tools.api_examples)"


def test_docs__relative_links__point_at_existing_files_and_headings():
    broken = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for target in LINK.findall(text) + IMAGE.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue
            file_part, _, fragment = target.partition("#")
            path = (doc.parent / file_part).resolve() if file_part else doc
            if path in GENERATED_LATER:
                continue
            if not path.exists():
                broken.append(f"{doc.name}: {target} (no such file)")
            elif fragment and path.suffix == ".md" and fragment not in anchors(path):
                broken.append(f"{doc.name}: {target} (no such heading)")
    assert not broken, broken


def test_ui_guide__screenshots__exist_and_are_shown():
    text = (DOCS_DIR / "ui.md").read_text(encoding="utf-8")
    shown = {target for target in IMAGE.findall(text) if target.startswith("screens/")}
    assert shown, "docs/ui.md shows no screenshot"
    assert all((DOCS_DIR / target).is_file() for target in shown)
