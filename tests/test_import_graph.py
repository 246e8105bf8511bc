"""The project's modules import each other without a circle (issues #14 and #24).

The graph is read from the source with `ast`: every `import` and `from ... import` anywhere in a
module (a function-level import hides a circle from Python, not from a reader), plus the string
URLconfs handed to `include()`. Edges to the standard library and third-party packages are
dropped. A circle of modules anywhere in the project — between apps (which import-linter's
layers forbid as well) or between the files of one app — fails the test with the circle spelled
out."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _project_packages() -> tuple[str, ...]:
    """`onboarding` and every installed app that lives in this repository."""
    from django.apps import apps

    local = {
        config.name.split(".")[0]
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(ROOT)
        and ".venv" not in Path(config.path).parts
    }
    return tuple(sorted(local | {"onboarding"}))


PACKAGES = _project_packages()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[_module_name(path)] = path
    return modules


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imported_modules(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `module` imports: `from pkg import name` is pkg.name when that is a
    module, else pkg itself."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, path, node)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        elif isinstance(node, ast.Call) and _is_include(node) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return {name for name in found if name in known and name != module}


def _is_include(node: ast.Call) -> bool:
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "include") or (
        isinstance(func, ast.Attribute) and func.attr == "include"
    )


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {module: imported_modules(module, path, modules) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_import_graph__every_module__no_circle():
    graph = import_graph()
    assert {"onboarding", "tenants", "packs", "runtime_config", "governance", "console"} <= set(
        PACKAGES
    )
    assert "console.views" in graph["console.urls"]  # the graph sees what it should
    assert "runtime_config.push" in graph["runtime_config.runtime"]
    circles = cycles(graph)
    assert circles == [], "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_import_graph__every_module__loads_no_module_by_name():
    """A module loaded by a computed name, or by a dotted path in a string, is an edge this
    graph and import-linter cannot see (a list Django reads from the settings, such as a
    middleware chain, is not the code's choice of a module)."""
    offenders = []
    for module, path in project_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                literal = bool(node.args) and isinstance(node.args[0], ast.Constant)
                if name in ("import_module", "__import__") or (name == "import_string" and literal):
                    offenders.append(f"{module}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_cycles__small_graphs__finds_exactly_the_circles(graph, expected):
    assert cycles(graph) == expected
