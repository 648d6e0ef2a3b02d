"""The host-wide TMDB budget: one schedule shared through a locked file.

The unit tests drive the limiter with a fake clock, so what they check (slot
spacing, sharing, recovery from bad state) is exact. The process test starts
real, separate Python processes on one directory and checks the property the
budget exists for, on the slots they were given and on when they got them: in
aggregate they never exceed the rate. No test asserts how fast anything ran.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tmdb_collect.rate_budget import STALE_AHEAD_SECONDS, HostRateLimiter, RateLimiter, budget_file
from tmdb_collect.tmdb_client import TMDBClient
from tmdb_mlops.config import load_settings
from tmdb_mlops.errors import ConfigError

pytestmark = pytest.mark.unit


class FakeTime:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def limiter(directory: Path, fake: FakeTime, *, rate: float = 20.0, key: str = "h_1") -> HostRateLimiter:
    return HostRateLimiter(directory, rate=rate, key=key, clock=fake.clock, sleep=fake.sleep)


def test_a_lone_limiter_gets_the_whole_rate_without_bursts(tmp_path: Path) -> None:
    fake = FakeTime()
    alone = limiter(tmp_path, fake)
    slots = [alone.acquire() for _ in range(5)]
    assert slots == pytest.approx([fake.now + 0.05 * i for i in range(5)])
    assert fake.slept == pytest.approx([0.05, 0.1, 0.15, 0.2])
    fake.now += 100  # after an idle spell no burst is saved up, and nothing is owed
    assert alone.acquire() == fake.now and alone.acquire() == pytest.approx(fake.now + 0.05)


def test_limiters_on_one_directory_share_one_schedule(tmp_path: Path) -> None:
    """Two processes' limiters (two descriptors on one file) interleave on one schedule."""
    fake = FakeTime()
    first, second = limiter(tmp_path, fake), limiter(tmp_path, fake)
    slots = [first.acquire(), second.acquire(), first.acquire(), second.acquire()]
    assert slots == pytest.approx([fake.now + 0.05 * i for i in range(4)])
    # The state is the next send time, readable by anyone debugging a slow host.
    assert float(budget_file(tmp_path, "h_1").read_text()) == pytest.approx(fake.now + 0.2)


def test_each_api_host_has_its_own_budget(tmp_path: Path) -> None:
    fake = FakeTime()
    tmdb, sandbox = limiter(tmp_path, fake, key="api.themoviedb.org_"), limiter(tmp_path, fake, key="x_8")
    assert tmdb.acquire() == sandbox.acquire() == fake.now
    assert budget_file(tmp_path, "api.themoviedb.org_").name == "api.themoviedb.org.next"
    assert budget_file(tmp_path, "127.0.0.1_8700").name == "127.0.0.1_8700.next"
    assert budget_file(tmp_path, "../../etc/passwd").parent == tmp_path


@pytest.mark.parametrize("state", [b"", b"garbage\n", b"nan\n", b"inf\n"])
def test_unreadable_state_restarts_the_schedule_now(tmp_path: Path, state: bytes) -> None:
    budget_file(tmp_path, "h_1").write_bytes(state)
    fake = FakeTime()
    assert limiter(tmp_path, fake).acquire() == fake.now and fake.slept == []


def test_state_far_in_the_future_is_stale_not_a_stall(tmp_path: Path) -> None:
    """A wall-clock step back, or a file from before a reboot, must not stop the host."""
    fake = FakeTime()
    path = budget_file(tmp_path, "h_1")
    path.write_text(f"{fake.now + STALE_AHEAD_SECONDS + 1:.6f}\n")
    assert limiter(tmp_path, fake).acquire() == fake.now and fake.slept == []
    path.write_text(f"{fake.now + 2:.6f}\n")  # a real queue ahead is waited for
    assert limiter(tmp_path, fake).acquire() == pytest.approx(fake.now + 2)


def test_an_unusable_directory_fails_at_once_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as caught:
        HostRateLimiter(blocker / "budget", rate=40)
    assert "TMDB_RATE_LIMIT_DIR" in str(caught.value) and str(blocker) in str(caught.value)


def test_the_client_uses_the_host_budget_when_the_setting_is_set(tmp_path: Path) -> None:
    settings = load_settings(tmdb_base_url="http://127.0.0.1:8700/3", tmdb_api_key="k",
                             tmdb_rate_limit=25, tmdb_rate_limit_dir=str(tmp_path / "budget"))
    with TMDBClient.from_settings(settings) as client:
        assert isinstance(client.limiter, HostRateLimiter)
        assert client.limiter.interval == pytest.approx(0.04)
        assert client.limiter.path == tmp_path / "budget" / "127.0.0.1_8700.next"
    unset = load_settings(tmdb_base_url="http://127.0.0.1:8700/3", tmdb_api_key="k")
    assert isinstance(TMDBClient.from_settings(unset).limiter, RateLimiter)


WORKER = """
import json, sys, time
from tmdb_collect.rate_budget import HostRateLimiter
directory, rate, start, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
limiter = HostRateLimiter(directory, rate=rate, key="127.0.0.1_9")
time.sleep(max(0.0, start - time.time()))
got = []
while time.time() < start + seconds:
    slot = limiter.acquire()
    got.append([slot, time.time()])
print(json.dumps(got))
"""


@pytest.mark.integration
def test_processes_sharing_a_directory_stay_within_the_rate_together(tmp_path: Path) -> None:
    """Three collectors' worth of processes, one budget: at most rate*T + 1 in any T."""
    rate, processes, seconds = 50.0, 3, 1.5
    start = time.time() + 1.5  # every worker is up before the first slot
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(rate), str(start),
                          str(seconds)], stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    results = [json.loads(w.communicate(timeout=60)[0]) for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert all(results), "every process got slots (none starved)"
    interval, precision = 1 / rate, 1e-5  # the file keeps microseconds of epoch time
    slots = sorted(slot for result in results for slot, _ in result)
    # The schedule itself: one slot per interval for the host, whoever asked.
    assert all(b - a >= interval - precision for a, b in zip(slots, slots[1:], strict=False))
    assert len(slots) <= rate * (slots[-1] - slots[0] + precision) + 1
    # When the processes actually went: never before their slot (2 ms for the
    # clocks), so any window holds at most what the rate allows over the window
    # plus the latest wake-up seen (late wake-ups bunch together, nothing more).
    pairs = [(slot, when) for result in results for slot, when in result]
    assert all(when >= slot - 0.002 for slot, when in pairs)
    late = max(when - slot for slot, when in pairs)
    sent = sorted(when for _, when in pairs)
    window = 0.5
    for i, begin in enumerate(sent):
        inside = sum(1 for when in sent[i:] if when < begin + window)
        assert inside <= rate * (window + late + 0.002 + precision) + 1, (begin, inside, late)
