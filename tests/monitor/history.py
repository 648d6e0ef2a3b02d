"""A monitored history built in-process on a real store: the real stages on synthetic films.

Train partitions and inference partitions are written as the collector writes
them (``write_partition``, the processed schema), a real model is trained by
the trainer's ``train``, the monitor's ``run_predict`` keeps its predictions, an
outcomes partition holds the settled ratings of the films that matured (the
synthetic truth, optionally worsened to play a degraded model), and
``run_monitor`` writes the report. Used where a sandbox would only slow a test
down: the serving page, the gauges, the DAG's trigger. The sandbox-backed
history is ``test_history.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from tests.train.synthetic import synthetic_movies
from tmdb_collect.process import to_csv_bytes
from tmdb_mlops import layout
from tmdb_mlops.config import Settings, load_settings
from tmdb_mlops.monitor_report import MonitoringReport
from tmdb_mlops.partitions import write_partition
from tmdb_mlops.schema import OUTCOME_COLUMNS, columns_for
from tmdb_mlops.storage import Storage

AS_OF = date(2014, 3, 1)
PREDICTED_ON = (AS_OF, AS_OF + timedelta(days=92), AS_OF + timedelta(days=214))
MONITOR_ON = AS_OF + timedelta(days=305)
HORIZON = 180


@dataclass
class History:
    storage: Storage
    settings: Settings
    version: str
    report: MonitoringReport
    upcoming: pd.DataFrame


def _typed(frame: pd.DataFrame, split: str) -> pd.DataFrame:
    columns = columns_for(split)
    out = frame[list(columns)].copy()
    for name, dtype in columns.items():
        out[name] = out[name].astype("string") if dtype == "string" else pd.to_numeric(out[name])
    return out


def split_pool(n: int, *, seed: int, history_before: date, start: date, days: int
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history, upcoming): one synthetic population, the upcoming part re-dated into the window.

    One pool, so directors, casts and studios mean the same in both parts; a
    re-dated film's rating follows the generator's year trend (-1/40 a year), so
    the upcoming films are drawn from the population the model learnt.
    """
    pool = synthetic_movies(n, seed=seed, first_id=10_000)
    history = pool.iloc[: n * 2 // 3]
    history = history[history["release_date"] < history_before.isoformat()]
    upcoming = pool.iloc[n * 2 // 3:].copy()
    rng = np.random.default_rng(seed)
    new_dates = [start + timedelta(days=int(k)) for k in rng.integers(0, days, size=len(upcoming))]
    years = pd.to_datetime(upcoming["release_date"]).dt.year.to_numpy()
    shift = np.array([d.year for d in new_dates]) - years
    upcoming["vote_average"] = np.clip(upcoming["vote_average"] - shift / 40, 0, 10).round(1)
    upcoming["release_date"] = [d.isoformat() for d in new_dates]
    return history.reset_index(drop=True), upcoming.reset_index(drop=True)


def write_inference(storage: Storage, films: pd.DataFrame, dt: date) -> pd.DataFrame:
    window = (dt.isoformat(), (dt + timedelta(days=HORIZON)).isoformat())
    rows = films[(films["release_date"] >= window[0]) & (films["release_date"] <= window[1])]
    rows = _typed(rows.sort_values("id"), "inference")
    write_partition(storage, split="inference", dt=dt,
                    files={layout.movies_key("inference", dt): to_csv_bytes(rows, split="inference")},
                    manifest={"rows": len(rows), "source": "synthetic", "schema_version": 2})
    return rows


def write_outcomes(storage: Storage, films: pd.DataFrame, dt: date, *, settle_days: int,
                   worsen: float = 0.0) -> pd.DataFrame:
    """The settled ratings of the films that matured by ``dt`` (shifted by ``worsen`` points)."""
    settled = films[films["release_date"] <= (dt - timedelta(days=settle_days)).isoformat()]
    outcomes = pd.DataFrame({
        "id": settled["id"],
        "release_date": settled["release_date"],
        "vote_average": np.clip(settled["vote_average"] + worsen, 0, 10).round(1),
        "vote_count": settled["vote_count"],
        "popularity": settled["popularity"],
    })
    outcomes = _typed_outcomes(outcomes.sort_values("id"))
    write_partition(storage, split=layout.OUTCOMES, dt=dt,
                    files={layout.movies_key(layout.OUTCOMES, dt):
                           to_csv_bytes(outcomes, split=layout.OUTCOMES)},
                    manifest={"rows": len(outcomes), "source": "synthetic"})
    return outcomes


def _typed_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[list(OUTCOME_COLUMNS)].copy()
    for name, dtype in OUTCOME_COLUMNS.items():
        out[name] = out[name].astype("string") if dtype == "string" else pd.to_numeric(out[name])
    return out


def build_history(storage: Storage, *, worsen: float = 0.0, **settings: object) -> History:
    """Train as of AS_OF, predict three dates, let them mature, collect outcomes, monitor."""
    from tests.train.synthetic import write_train_partition
    from tmdb_monitor.predict import run_predict
    from tmdb_monitor.report import run_monitor
    from tmdb_train.run import train

    config = load_settings(storage_url=storage.url, **settings)
    history, upcoming = split_pool(
        1500, seed=11, history_before=AS_OF - timedelta(days=config.collect_settle_days),
        start=AS_OF, days=214 + HORIZON,
    )
    write_train_partition(storage, history, AS_OF)
    for dt in PREDICTED_ON:
        write_inference(storage, upcoming, dt)
    version = train(config, as_of=AS_OF, storage=storage).version
    for dt in PREDICTED_ON:
        run_predict(config, logical_date=dt, storage=storage)
    write_outcomes(storage, upcoming, MONITOR_ON, settle_days=config.collect_settle_days,
                   worsen=worsen)
    report = run_monitor(config, logical_date=MONITOR_ON, storage=storage)
    return History(storage=storage, settings=config, version=version, report=report,
                   upcoming=upcoming)
