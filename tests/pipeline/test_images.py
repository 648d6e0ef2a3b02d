"""Each built image carries the shared package and its own part only.

One wheel holding every package used to go into every image, which hid a part
reaching into another at run time. Now each image installs two wheels (the
shared package and its part), and this test imports every package inside each
built image: its own must import, every other part's must be missing. The CLI
of each image reports the commands of absent parts as unavailable, one line,
exit 1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tmdb_collect", "tmdb_train", "tmdb_serve", "tmdb_dags", "tmdb_demo", "tmdb_monitor")
OWN = {"collect": "tmdb_collect", "train": "tmdb_train", "serve": "tmdb_serve",
       "airflow": "tmdb_dags", "monitor": "tmdb_monitor"}
PROBE = (
    "import importlib.util, json, sys\n"
    "names = ['tmdb_mlops', *sys.argv[1:]]\n"
    "print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names}))\n"
)


def _docker() -> str | None:
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and subprocess.run([candidate, "info"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """The four images of these sources (immutable tags: a second build is free)."""
    docker = _docker()
    require(docker is not None, "a running Docker engine (scripts/provision.sh starts one)")
    env_file = tmp_path_factory.mktemp("images") / "images.env"
    built = subprocess.run(
        [str(ROOT / "scripts/build-images.sh"), *OWN],
        env={**os.environ, "ENV_FILE": str(env_file), "DOCKER": docker},
        cwd=ROOT, capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    lines = env_file.read_text().splitlines()
    refs = dict(line.split("=", 1) for line in lines if "=" in line)
    return docker, {name: refs[f"{name.upper()}_IMAGE"] for name in OWN}


def _run(docker: str, image: str, *args: str, entrypoint: str) -> subprocess.CompletedProcess:
    return subprocess.run([docker, "run", "--rm", "--network", "none", "--entrypoint", entrypoint,
                           image, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", sorted(OWN))
def test_an_image_holds_the_shared_package_and_its_own_part_only(images, name: str) -> None:
    import json

    docker, refs = images
    probe = _run(docker, refs[name], "-c", PROBE, *PACKAGES, entrypoint="python")
    assert probe.returncode == 0, probe.stderr
    present = json.loads(probe.stdout)
    assert present.pop("tmdb_mlops") is True
    assert {package for package, found in present.items() if found} == {OWN[name]}


@pytest.mark.parametrize("name", ["collect", "train", "serve"])
def test_an_image_reports_the_other_parts_commands_as_unavailable(images, name: str) -> None:
    docker, refs = images
    other = {"collect": "train", "train": "serve", "serve": "collect"}[name]
    listed = _run(docker, refs[name], "--help", entrypoint="tmdb-mlops")
    assert listed.returncode == 0, listed.stderr
    assert "unavailable here" in listed.stdout
    result = _run(docker, refs[name], other, entrypoint="tmdb-mlops")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: '{other}' is not available"), lines
