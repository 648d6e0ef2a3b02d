"""Histories for the monitor's integration tests: real sandboxes, real commands, real stores.

``sandbox_history``: the sandbox's own films (bokeh-sampledata). A history is
collected as of 2014-03-01 and a model trained on it; it predicts the inference
partitions of 2014-03-01 and 2014-06-01; then, months later in sandbox time, the
outcomes arrive: none on 2014-08-27 (nothing has settled), the films released on
2014-03-07 on 2014-09-03 (the default window of one day), all of the settled
ones on 2014-12-31 (a window of 400 days). A monitoring report is written on
2014-08-27 and on 2014-12-31. Every step is a ``tmdb-mlops`` command.

``drift_history``: a sandbox over synthetic films (``films.py``) with three
stretches of upcoming films drawn from the training population: as they are
(2014), an hour longer (2015), all documentaries (2016).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.collect.conftest import Sandbox, collect_env, run_cli, start_sandbox
from tests.monitor.films import write_dataset
from tests.monitor.history import split_pool

AS_OF = date(2014, 3, 1)
PREDICTED_ON = (date(2014, 3, 1), date(2014, 6, 1))
NOTHING_SETTLED = date(2014, 8, 27)
FIRST_SETTLED = date(2014, 9, 3)  # 180 days after 2014-03-07, a day with several releases
ALL_SETTLED = date(2014, 12, 31)
WIDE_WINDOW = "400"


@dataclass
class MonitoredStore:
    path: Path
    env: dict[str, str]
    sandbox: Sandbox

    def run(self, *args: str, **extra: str):
        result = run_cli(*args, env={**self.env, **extra}, timeout=600)
        assert result.returncode == 0, f"{args}: {result.stderr[-3000:]}"
        return result


def _started(root: Path, *args: str) -> Sandbox:
    return start_sandbox(root / "logs", *args, api_key="monitor-test-key")


@pytest.fixture(scope="session")
def sandbox_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitoredStore]:
    root = tmp_path_factory.mktemp("monitored")
    sandbox = _started(root)
    env = collect_env(sandbox, str(root / "store"), COLLECT_HISTORY_START="2011-01-01",
                      COLLECT_SLICES="1", TMDB_CONCURRENCY="16", MODEL_POLL_SECONDS="0")
    store = MonitoredStore(path=root / "store", env=env, sandbox=sandbox)
    try:
        store.run("collect", "--logical-date", AS_OF.isoformat(), "--split", "all")
        store.run("train", "--as-of", AS_OF.isoformat())
        for day in PREDICTED_ON:
            if day != AS_OF:
                store.run("collect", "--logical-date", day.isoformat(), "--split", "inference")
            store.run("predict", "--logical-date", day.isoformat())
        store.run("collect", "--logical-date", NOTHING_SETTLED.isoformat(), "--split", "outcomes")
        store.run("monitor", "--logical-date", NOTHING_SETTLED.isoformat())
        store.run("collect", "--logical-date", FIRST_SETTLED.isoformat(), "--split", "outcomes")
        store.run("collect", "--logical-date", ALL_SETTLED.isoformat(), "--split", "outcomes",
                  COLLECT_OUTCOMES_WINDOW_DAYS=WIDE_WINDOW)
        store.run("monitor", "--logical-date", ALL_SETTLED.isoformat())
        yield store
    finally:
        sandbox.stop()


#: The drift history: the same upcoming films in three stretches, shifted on purpose.
DRIFT_DATES = {"unshifted": date(2014, 3, 1), "runtime": date(2015, 3, 1),
               "documentary": date(2016, 3, 1)}


@pytest.fixture(scope="session")
def drift_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitoredStore]:
    root = tmp_path_factory.mktemp("drift")
    history, upcoming = split_pool(1500, seed=11, history_before=AS_OF - timedelta(days=180),
                                   start=AS_OF, days=178)
    stretches = []
    for offset, (name, _) in enumerate(DRIFT_DATES.items()):
        films = upcoming.copy()
        films["id"] = films["id"] + 20_000 * offset  # 5 digits still: titles keep their length
        films["release_date"] = [
            (date.fromisoformat(d) + timedelta(days=365 * offset + (1 if offset == 2 else 0)))
            .isoformat() for d in films["release_date"]
        ]
        if name == "runtime":
            films["runtime"] = films["runtime"] + 60
        if name == "documentary":
            films["genres"] = "Documentary"
        stretches.append(films)
    dataset = write_dataset(root / "films.jsonl", history, *stretches)
    sandbox = _started(root, "--dataset", str(dataset))
    env = collect_env(sandbox, str(root / "store"), COLLECT_HISTORY_START="1980-01-01",
                      COLLECT_SLICES="1", TMDB_CONCURRENCY="16")
    store = MonitoredStore(path=root / "store", env=env, sandbox=sandbox)
    try:
        store.run("collect", "--logical-date", AS_OF.isoformat(), "--split", "train")
        store.run("train", "--as-of", AS_OF.isoformat())
        for day in DRIFT_DATES.values():
            store.run("collect", "--logical-date", day.isoformat(), "--split", "inference")
            store.run("predict", "--logical-date", day.isoformat())
        store.run("monitor", "--logical-date", DRIFT_DATES["documentary"].isoformat())
        yield store
    finally:
        sandbox.stop()
