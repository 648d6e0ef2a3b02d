"""scripts/provision.sh's package step, the path a fresh CI machine takes: no apt
when everything is there, one line when the mirror is unreachable, and one
unavailable package never blocks the others (docker.io above all).

apt-get and id are stand-ins on PATH (the real ones would change this machine);
the functions are sourced with PROVISION_DEFINE_ONLY=1 so no dockerd is touched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

FAKE_APT = """#!/bin/sh
echo "$*" >> "$APT_CALLS"
case "$1" in
  update)
    if [ "$APT_UPDATE_FAILS" = 1 ]; then
      echo "Err:1 http://mirror.invalid/debian bookworm InRelease" >&2
      echo "  Could not resolve 'mirror.invalid'" >&2
      echo "E: Failed to fetch http://mirror.invalid/debian/dists/bookworm/InRelease" >&2
      exit 100
    fi ;;
  install)
    for arg in "$@"; do
      [ "$arg" = unavailable-pkg ] && { echo "E: Unable to locate package $arg" >&2; exit 100; }
    done ;;
esac
exit 0
"""


def _provision(tmp_path: Path, *, require: str, update_fails: bool = False
               ) -> tuple[subprocess.CompletedProcess, list[str]]:
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "apt-get").write_text(FAKE_APT)
    (fake / "id").write_text('#!/bin/sh\n[ "$1" = -u ] && echo 0 || /usr/bin/id "$@"\n')
    for tool in fake.iterdir():
        tool.chmod(0o755)
    calls = tmp_path / "apt-calls"
    calls.touch()
    env = {
        "PATH": f"{fake}:/usr/bin:/bin",
        "APT_CALLS": str(calls),
        "APT_UPDATE_FAILS": "1" if update_fails else "0",
        "PROVISION_REQUIRE": require,
        "PROVISION_DEFINE_ONLY": "1",
    }
    script = (f"set -euo pipefail; STARTED_PIDS=(); source {ROOT}/scripts/provision.sh; "
              "_provision_packages; echo finished")
    result = subprocess.run(["bash", "-c", script], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    return result, calls.read_text().splitlines()


def test_nothing_missing_runs_no_apt(tmp_path: Path) -> None:
    result, calls = _provision(tmp_path, require="bash:bash sh:dash")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "finished"
    assert calls == []
    assert result.stderr == ""


def test_failing_apt_update_is_one_line_and_not_fatal(tmp_path: Path) -> None:
    result, calls = _provision(tmp_path, require="no-such-command-xyz:some-pkg", update_fails=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "finished"
    assert [c.split()[0] for c in calls] == ["update"]  # no install after a failed update
    errors = [line for line in result.stderr.splitlines() if "failed" in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("provision: apt-get update failed: E: Failed to fetch")
    assert "some-pkg" in errors[0]
    # apt's own multi-line output goes to the log, not the terminal.
    assert "Could not resolve" not in result.stderr
    assert "Could not resolve" in (tmp_path / "test-artifacts/provision-apt.log").read_text()


def test_an_unavailable_package_does_not_block_the_others(tmp_path: Path) -> None:
    result, calls = _provision(
        tmp_path, require="no-such-command-a:good-pkg no-such-command-b:unavailable-pkg")
    assert result.returncode == 0, result.stderr
    installs = [c for c in calls if c.startswith("install")]
    assert installs[0].endswith("good-pkg unavailable-pkg")  # one transaction first
    assert any(c.endswith(" good-pkg") for c in installs[1:])  # then one at a time
    errors = [line for line in result.stderr.splitlines() if "failed" in line]
    assert errors == [
        "provision: apt-get install failed for unavailable-pkg "
        "(see test-artifacts/provision-apt.log)"
    ]
