#!/usr/bin/env python3
"""Print the third-party requirements of one part of the platform, one per line.

Why: the Dockerfile installs an image's dependencies in their own cached layer,
built from the pyproject.toml files and constraints.txt alone, so a change to
the project's code does not reinstall them (the code is installed afterwards
with --no-deps). This is `pip install --only-deps ./part`, which pip does not
have. A requirement on another project of this repository (every part needs
`tmdb-mlops[...]`) is replaced by that project's own requirements and those of
the extras named, so the lists are read from the pyproject files, never copied.
Standard library only: it runs in the bare base image before anything is installed.

Usage (from the repository root):
    python3 scripts/part-requirements.py serving [EXTRA ...] > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

#: The repository's projects, by folder. Keep in sync with requirements-dev.txt.
PROJECTS = ("common", "data-prepare", "airflow_pipeline/train", "serving", "monitoring",
            "airflow_pipeline/dag_helpers", "demo")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]+)\])?\s*(.*)$")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def local_projects(root: Path) -> dict[str, dict]:
    """Normalized distribution name -> its [project] table, for every project that exists."""
    found = {}
    for folder in PROJECTS:
        path = root / folder / "pyproject.toml"
        if path.exists():
            project = tomllib.loads(path.read_text())["project"]
            found[_normalize(project["name"])] = project
    return found


def requirements(projects: dict[str, dict], name: str, extras: list[str]) -> list[str]:
    """Third-party requirements of a project and its extras, local projects expanded."""
    result: list[str] = []
    pending = [(_normalize(name), tuple(extras))]
    seen: set[tuple[str, str | None]] = set()
    while pending:
        current, wanted = pending.pop(0)
        project = projects[current]
        optional = project.get("optional-dependencies", {})
        groups: list[str | None] = [None, *wanted]
        for group in groups:
            if (current, group) in seen:
                continue
            seen.add((current, group))
            if group is not None and group not in optional:
                raise SystemExit(f"error: {project['name']} has no extra {group!r}")
            for requirement in project.get("dependencies", []) if group is None else optional[group]:
                match = _REQUIREMENT.match(requirement)
                dependency = _normalize(match.group(1)) if match else ""
                if dependency in projects:
                    named = [e.strip() for e in (match.group(2) or "").split(",") if e.strip()]
                    pending.append((dependency, tuple(named)))
                elif requirement not in result:
                    result.append(requirement)
    return result


def main(argv: list[str]) -> int:
    if not argv:
        raise SystemExit("usage: part-requirements.py PART_FOLDER [EXTRA ...]")
    root = Path.cwd()
    folder, extras = argv[0].rstrip("/"), argv[1:]
    if folder not in PROJECTS:
        raise SystemExit(f"error: {folder!r} is not one of {', '.join(PROJECTS)}")
    projects = local_projects(root)
    name = tomllib.loads((root / folder / "pyproject.toml").read_text())["project"]["name"]
    sys.stdout.write("".join(f"{line}\n" for line in requirements(projects, name, extras)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
