"""The project's first design rule, enforced: each part imports the shared package, never another part.

Read from the source (the AST), so a lazy import inside a function counts as
much as one at the top, and so does ``importlib.import_module("...")``. The
shared package must not even *name* a part: a string like ``"tmdb_train.x"``
is an import waiting to happen. Each part's pyproject.toml may depend on the
shared distribution and on no other part.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
SHARED = "tmdb_mlops"

#: part -> (its packages' folders, its pyproject folder or None)
PARTS: dict[str, tuple[tuple[Path, ...], Path | None]] = {
    "tmdb_collect": ((ROOT / "data-prepare/tmdb_collect",), ROOT / "data-prepare"),
    "tmdb_train": ((ROOT / "airflow_pipeline/train/tmdb_train",), ROOT / "airflow_pipeline/train"),
    "tmdb_serve": ((ROOT / "serving/tmdb_serve",), ROOT / "serving"),
    "tmdb_monitor": ((ROOT / "monitoring/tmdb_monitor",), ROOT / "monitoring"),
    "tmdb_dags": (
        (ROOT / "airflow_pipeline/dag_helpers/tmdb_dags", ROOT / "airflow_pipeline/dags"),
        ROOT / "airflow_pipeline/dag_helpers",
    ),
    "tmdb_demo": ((ROOT / "demo/tmdb_demo",), ROOT / "demo"),
}
PART_PACKAGES = set(PARTS)
DISTRIBUTIONS = {"tmdb-collect", "tmdb-train", "tmdb-serve", "tmdb-dags", "tmdb-demo", "tmdb-monitor"}


def _files(folders: tuple[Path, ...]) -> list[Path]:
    return sorted(path for folder in folders for path in folder.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, wherever the import stands, and import_module("...") calls."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in {"import_module", "__import__"} and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


def named_packages(path: Path) -> set[str]:
    """Part packages named in string constants (``"tmdb_serve.main:app"``, entry points...)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            named.update(p for p in PART_PACKAGES if p in node.value)
    return named


def _top(module: str) -> str:
    return module.split(".", 1)[0]


@pytest.mark.parametrize("part", sorted(PARTS))
def test_a_part_imports_no_other_part(part: str) -> None:
    folders, _ = PARTS[part]
    leaks = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _files(folders)
        for module in imported_modules(path)
        if _top(module) in PART_PACKAGES - {part}
    }
    assert not leaks, sorted(leaks)


def test_the_shared_package_imports_and_names_no_part() -> None:
    files = _files((ROOT / "common" / SHARED,))
    assert files
    leaks = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files
        for module in imported_modules(path)
        if _top(module) in PART_PACKAGES
    } | {
        f"{path.relative_to(ROOT)} names {package}"
        for path in files
        for package in named_packages(path)
    }
    assert not leaks, sorted(leaks)


def test_the_check_sees_lazy_imports_and_import_module(tmp_path: Path) -> None:
    """The checker itself: an import hidden in a function, or a string import, is found."""
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "import importlib\n"
        "def f():\n"
        "    from tmdb_train.train import feature_importance\n"
        "    return importlib.import_module('tmdb_serve.main')\n"
        "TARGET = 'tmdb_collect.cli:collect'\n"
    )
    assert {"tmdb_train.train", "tmdb_serve.main"} <= imported_modules(sneaky)
    assert named_packages(sneaky) == {"tmdb_serve", "tmdb_collect"}


@pytest.mark.parametrize("part", sorted(PARTS))
def test_a_part_depends_on_the_shared_distribution_and_no_other_part(part: str) -> None:
    _, project = PARTS[part]
    assert project is not None
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    requirements = list(meta.get("dependencies", []))
    for extra in meta.get("optional-dependencies", {}).values():
        requirements += extra
    names = {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
             for r in requirements}
    assert "tmdb-mlops" in names
    assert not names & DISTRIBUTIONS, f"{part} depends on another part: {names & DISTRIBUTIONS}"


def test_every_part_command_is_an_entry_point_and_the_shared_cli_finds_them() -> None:
    from importlib.metadata import entry_points

    from tmdb_mlops.cli import ENTRY_POINT_GROUP, PLATFORM_COMMANDS

    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert set(PLATFORM_COMMANDS) <= set(found), found
    for name, value in found.items():
        assert _top(value) in PART_PACKAGES, f"{name} -> {value} is not a part's command"


def _all_modules() -> list[str]:
    names = []
    for package in (SHARED, *sorted(PART_PACKAGES)):
        module = importlib.import_module(package)
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, f"{package}.")]
    return names


@pytest.mark.parametrize("module", _all_modules())
def test_nothing_raises_at_import_time(module: str) -> None:
    importlib.import_module(module)
