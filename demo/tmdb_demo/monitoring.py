"""The demo's monitoring stretch: sandbox time moves on until the first predictions mature.

The sandbox's films end in 2014 and a rating settles ``COLLECT_SETTLE_DAYS``
(180) days after release, so after training as of ``end`` the demo keeps going
in logical dates, as the daily ``tmdb_monitor`` DAG would:

1. the champion predicts the inference partitions of ``end``, ``end`` + 3 and
   ``end`` + 7 months (collected first when missing): ``tmdb-mlops predict``;
2. at ``end`` + 10 months, the ratings of the predicted films that have settled
   are collected (``collect --split outcomes``, with an outcomes window wide
   enough to cover the whole stretch in one run, instead of one run per day);
3. ``tmdb-mlops monitor`` at that date writes the report /monitoring shows: the
   films released in the first months have matured (realized RMSE against the
   holdout RMSE), the later ones have not (their estimated error), and every
   partition is compared with the training data (drift).

Every step is a child process running the same command as Airflow, and what is
reported comes from the report JSON, never from log lines.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import date, timedelta

from tmdb_mlops.errors import PlatformError
from tmdb_mlops.monitor_report import MonitoringReport, read_report
from tmdb_mlops.partitions import list_partitions
from tmdb_mlops.predictions import list_predictions
from tmdb_mlops.storage import Storage

#: Prediction dates after ``end`` (days), and the monitoring date (days after ``end``).
PREDICTION_OFFSETS = (0, 92, 214)
MONITOR_OFFSET = 305

Run = Callable[..., subprocess.CompletedProcess]


def monitoring_dates(end: date) -> tuple[list[date], date]:
    return [end + timedelta(days=d) for d in PREDICTION_OFFSETS], end + timedelta(days=MONITOR_OFFSET)


def run_monitoring(
    *,
    cli: str,
    env: dict[str, str],
    store: Storage,
    end: date,
    champion: str,
    run: Run,
    say: Callable[[str], None],
) -> MonitoringReport:
    """Predict, let the predictions mature, collect their outcomes, monitor; returns the report."""
    predicted_on, monitor_on = monitoring_dates(end)
    inference = set(list_partitions(store, split="inference"))
    done = set(list_predictions(store))
    for day in predicted_on:
        if day not in inference:
            run([cli, "collect", "--logical-date", day.isoformat(), "--split", "inference"],
                env=env, what=f"collect inference {day}")
        if (day, champion) not in done:
            run([cli, "predict", "--logical-date", day.isoformat()], env=env, what=f"predict {day}")
    say(f"predict: {champion} on the inference partitions of "
        f"{', '.join(d.isoformat() for d in predicted_on)}")
    window = (monitor_on - end).days  # one outcomes run covers every film settled since `end`
    run([cli, "collect", "--logical-date", monitor_on.isoformat(), "--split", "outcomes"],
        env={**env, "COLLECT_OUTCOMES_WINDOW_DAYS": str(window)}, what=f"collect outcomes {monitor_on}")
    run([cli, "monitor", "--logical-date", monitor_on.isoformat()], env=env, what=f"monitor {monitor_on}")
    report = read_report(store, monitor_on)
    if report is None:  # exit 0 without a report would be a monitor bug
        raise PlatformError(f"monitor {monitor_on} wrote no report")
    return report


def describe(report: MonitoringReport) -> list[str]:
    """What the demo prints of the report."""
    lines = []
    champion = report.version(report.champion) if report.champion else None
    if champion is not None and champion.realized is not None:
        r = champion.realized
        lines.append(
            f"monitor {report.logical_date}: realized RMSE {r.rmse:.3f} on {r.films} matured films "
            f"(holdout RMSE {champion.holdout_rmse:.3f}, mean baseline "
            f"{r.baseline_rmse if r.baseline_rmse is not None else float('nan'):.3f}, estimated "
            f"beforehand {r.estimated_rmse if r.estimated_rmse is not None else float('nan'):.3f})"
        )
    pending = [p for p in report.partitions if p.version == report.champion and p.pending]
    for p in pending:
        if p.estimated_rmse_pending is not None:
            lines.append(f"  predicted {p.dt}: {p.pending} of {p.predictions} films not matured yet, "
                         f"estimated RMSE {p.estimated_rmse_pending:.3f}")
    flagged = sum(len(p.flagged) for p in report.drift.partitions)
    lines.append(f"  drift: {len(report.drift.partitions)} inference partitions compared, "
                 f"{flagged} statistics past their thresholds")
    lines.append("  retraining " + ("requested: " + report.trigger.reasons[0] if report.trigger.retrain
                                    else "not needed"))
    return lines
