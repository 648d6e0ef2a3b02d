#!/usr/bin/env python3
"""Print the requirements of one or more extras of pyproject.toml, one per line.

Why: the Dockerfile installs the dependencies in their own cached layer, built
from pyproject.toml and constraints.txt alone, so a change to the project's code
does not reinstall them (the code is installed afterwards with --no-deps). This
is `pip install --only-deps ".[extra]"`, which pip does not have; the list is
read from pyproject.toml, never copied. Standard library only: it runs in the
bare base image before anything is installed.

Usage (from the directory holding pyproject.toml):
    python3 scripts/extra-requirements.py EXTRA [EXTRA ...] > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(project: dict, extras: list[str]) -> list[str]:
    """The base dependencies plus each extra's, expanding self-references like ``pkg[a,b]``."""
    optional = project.get("optional-dependencies", {})
    own = _normalize(project["name"])
    self_ref = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*\[([^\]]+)\]\s*$")
    result: list[str] = []
    seen: set[str] = set()
    pending = list(extras)
    for requirement in project.get("dependencies", []):
        if requirement not in result:
            result.append(requirement)
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"error: pyproject.toml has no extra {extra!r} ({', '.join(optional)})")
        seen.add(extra)
        for requirement in optional[extra]:
            match = self_ref.match(requirement)
            if match and _normalize(match.group(1)) == own:
                pending.extend(e.strip() for e in match.group(2).split(","))
            elif requirement not in result:
                result.append(requirement)
    return result


def main(argv: list[str]) -> int:
    if not argv:
        raise SystemExit("usage: extra-requirements.py EXTRA [EXTRA ...]")
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    sys.stdout.write("".join(f"{line}\n" for line in requirements(project, argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
