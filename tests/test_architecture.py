"""The shape of the code (issue 24, docs/architecture.md): apps in layers that import-linter keeps,
no function-local imports of project modules beyond the few Django requires, no room past 500
lines, and the wiring the apps register in their AppConfig.ready."""

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from onboarding import worker
from onboarding.hooks import Hook
from tests.test_import_graph import PACKAGES, ROOT, project_modules

MAX_LINES = 500
# Files over MAX_LINES that another engineer is splitting: each entry names the size it may not
# exceed, and goes when the file is split.
OVERSIZED: dict[str, int] = {}
# Function-local imports of project modules allowed, by module: Django requires them in
# AppConfig.ready (models do not exist before). Each needs a comment saying so.
LOCAL_IMPORTS = {
    "tenants.apps": 1,
    "runtime_config.apps": 1,
    "governance.apps": 1,
    "rollouts.apps": 1,
    "audit.apps": 1,
    "webhooks.apps": 1,
    "impact.apps": 1,
}
MAX_LOCAL_IMPORTS = 10
REASON = re.compile(r"#.*(AppConfig\.ready|Django)")


def _app_files():
    for module, path in sorted(project_modules().items()):
        relative = path.relative_to(ROOT).as_posix()
        yield module, relative, path


def test_app_files__line_count__at_most_500():
    too_long = {}
    for _module, relative, path in _app_files():
        count = len(path.read_text(encoding="utf-8").splitlines())
        limit = OVERSIZED.get(relative, MAX_LINES)
        if count > limit:
            too_long[relative] = count
    assert too_long == {}, f"split these by concern (at most {MAX_LINES} lines): {too_long}"


@pytest.mark.parametrize("relative", sorted(OVERSIZED))
def test_oversized_allowance__file_still_oversized__allowance_still_needed(relative):
    count = len((ROOT / relative).read_text(encoding="utf-8").splitlines())
    assert count > MAX_LINES, f"{relative} is {count} lines now: remove it from OVERSIZED"


def _local_imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, source line) of every import of a project module inside a function."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for function in ast.walk(ast.parse(text)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if not node.level else [module]
            else:
                continue
            if any(name.split(".")[0] in PACKAGES for name in names):
                found.append((node.lineno, lines[node.lineno - 1]))
    return found


def _has_reason(path: Path, line: int) -> bool:
    lines = path.read_text(encoding="utf-8").splitlines()
    above = lines[line - 2].strip() if line >= 2 else ""
    return bool(REASON.search(lines[line - 1]) or (above.startswith("#") and REASON.search(above)))


def test_local_imports__project_modules__only_the_allowed_ones_each_with_its_reason():
    counts, unexplained = {}, []
    for module, relative, path in _app_files():
        found = _local_imports(module, path)
        if found:
            counts[module] = len(found)
        unexplained += [f"{relative}:{line}" for line, _ in found if not _has_reason(path, line)]
    assert counts == LOCAL_IMPORTS, "import at the top of the module, or invert the dependency"
    assert sum(counts.values()) <= MAX_LOCAL_IMPORTS
    assert unexplained == [], "say why on the line or above it (AppConfig.ready, or Django)"


def test_local_imports__counter__sees_function_level_and_relative_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os\n\n\ndef f():\n    from tenants import models\n    from . import x\n"
        "    import json\n",
        encoding="utf-8",
    )
    assert [line for line, _ in _local_imports("packs.probe", probe)] == [5, 6]


# --- import-linter -----------------------------------------------------------------------------


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    program = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert program, "import-linter is a dev dependency (pyproject.toml)"
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [program, "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    """The apps and the contract copied outside the repository: probes go there, never here."""
    root = tmp_path_factory.mktemp("tree")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for package in config["tool"]["importlinter"]["root_packages"]:
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_lint_imports__project__contracts_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


# Each of the app cycles this round removed, put back as one import.
WRONG_IMPORTS = [
    ("tenants/services.py", "governance", "tenants is not allowed to import governance"),
    ("packs/services/statuses.py", "runtime_config.cache", "packs is not allowed to import"),
    ("runtime_config/selectors.py", "impact.engine", "runtime_config is not allowed to import"),
    ("onboarding/parsers.py", "packs.validation", "onboarding is not allowed to import packs"),
    ("audit/receivers.py", "webhooks.signals", "audit is not allowed to import webhooks"),
    ("governance/api.py", "console.api", "governance is not allowed to import console"),
]


@pytest.mark.parametrize(("relative", "imported", "message"), WRONG_IMPORTS)
def test_lint_imports__wrong_import_in_a_copy__contract_broken(
    tree_copy, relative, imported, message
):
    target = tree_copy / relative
    original = target.read_text(encoding="utf-8")
    assert _lint_imports(tree_copy).returncode == 0  # the copy alone keeps the contract
    target.write_text(original + f"\nimport {imported}  # the probe\n", encoding="utf-8")
    try:
        result = _lint_imports(tree_copy)
    finally:
        target.write_text(original, encoding="utf-8")
    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout
    assert message in result.stdout
    assert f"{relative.removesuffix('.py').replace('/', '.')} -> {imported}" in result.stdout


def test_lint_imports__contract__every_app_in_a_layer():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    roots = set(config["importlinter"]["root_packages"])
    (layers,) = [c for c in config["importlinter"]["contracts"] if c["type"] == "layers"]
    declared = {layer.strip("()") for layer in layers["layers"]}
    assert roots == set(PACKAGES), "every app of the project is a root package of the contract"
    assert roots <= declared, "every app sits in a layer"
    coverage = set(config["coverage"]["run"]["source"])
    assert roots - {"webhooks"} <= coverage


# --- wiring registered in AppConfig.ready -------------------------------------------------------


def test_worker__apps_registered__queues_and_recovery_steps():
    assert worker.QUEUES == {
        "activations": False,
        "webhooks": True,
        "webhooks_slow": "WEBHOOK_SLOW_LANE_CONCURRENCY",
        "rollouts": False,
        "impact": False,
    }
    steps = {f"{step.__module__}.{step.__name__}" for step in worker.RECOVERY_STEPS}
    assert steps == {
        "governance.services.scheduling.scheduled_recover",
        "webhooks.services.recovery.outbox_recover",
        "rollouts.services.waves.rollouts_recover",
        "impact.runs.pending_runs_recover",
    }


def test_packs_hooks__answered_by_the_apps_above():
    """What the answers do is tested where the behaviour is (pack_in_use, pack_pending_approval,
    playbook links, the pack lists' active_for)."""
    from packs import hooks
    from packs.models import DomainPack, TenantPack

    assert hooks.active_config._answer.__module__ == "runtime_config.receivers"
    assert hooks.tenants_running._answer.__module__ == "runtime_config.receivers"
    assert hooks.pack_status_changing.has_listeners(DomainPack)
    assert hooks.pack_status_changing.has_listeners(TenantPack)


def test_hook__unanswered__default_answer():
    hook = Hook("test.question", default=lambda **kwargs: ("default", kwargs))
    assert hook(x=1) == ("default", {"x": 1})


def test_hook__answered__answer_and_a_second_answerer_refused():
    from django.core.exceptions import ImproperlyConfigured

    hook = Hook("test.question", default=lambda **kwargs: None)

    def answer(**kwargs):
        return kwargs["x"] * 2

    hook.answer(answer)
    hook.answer(answer)  # the same answerer again (a second ready()) is harmless
    assert hook(x=2) == 4
    with pytest.raises(ImproperlyConfigured):
        hook.answer(lambda **kwargs: 0)
