"""The monitoring page's data: the latest report, its charts, and the Prometheus gauges.

The report is written by ``tmdb-mlops monitor`` (``monitoring/dt=D/report.json``,
schema ``tmdb_mlops.monitor_report``); this module only reads the newest one
(manifest-verified), at most once per refresh period, and turns it into what
the template shows: the champion's realized RMSE against its holdout RMSE, the
breakdowns, the drift table and heat map, and the error estimate of the
partitions not yet matured. The page handler renders what :meth:`page` returns.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from markupsafe import Markup

from tmdb_mlops.monitor_report import (
    ColumnDrift,
    MonitoringReport,
    PartitionDrift,
    PartitionQuality,
    VersionQuality,
    latest_report,
)
from tmdb_mlops.storage import Storage
from tmdb_serve import charts
from tmdb_serve.metrics import ServiceMetrics

log = logging.getLogger(__name__)

#: The page draws at most this many partitions (the report has them all).
CHART_PARTITIONS = 30
CHART_VERSIONS = 4


@dataclass
class MonitoringPage:
    report: MonitoringReport | None
    message: str = ""
    champion: VersionQuality | None = None
    versions_chart: Markup = Markup("")
    drift_chart: Markup = Markup("")
    estimate_chart: Markup = Markup("")
    newest_drift: PartitionDrift | None = None
    pending: list[PartitionQuality] = field(default_factory=list)
    checked: list[PartitionQuality] = field(default_factory=list)


def _short(version: str) -> str:
    """A version id short enough for a legend: its random suffix."""
    return version if len(version) <= 8 else "…" + version[-6:]


def versions_chart(report: MonitoringReport) -> Markup:
    """Realized RMSE of each version's predictions by logical date, its holdout RMSE dashed."""
    dates = sorted({p.dt for p in report.partitions})[-CHART_PARTITIONS:]
    versions = [v for v in report.versions if v.predictions][-CHART_VERSIONS:]
    series: dict[str, list[float | None]] = {}
    levels: dict[str, float] = {}
    for quality in versions:
        by_dt = {p.dt: p.realized_rmse for p in report.partitions if p.version == quality.version}
        series[f"{_short(quality.version)} realized"] = [by_dt.get(dt) for dt in dates]
        if quality.holdout_rmse is not None:
            levels[f"{_short(quality.version)} holdout"] = quality.holdout_rmse
    return charts.lines(dates, series, levels=levels,
                        title="Realized RMSE by prediction date against holdout RMSE")


def _tooltip(column: ColumnDrift) -> str:
    value = "n/a" if column.value is None else f"{column.value:.3f}"
    text = (f"{column.statistic} {value} (threshold {column.threshold:g}); missing "
            f"{column.missing_rate_reference:.1%} -> {column.missing_rate:.1%}")
    return text + (f"; {column.note}" if column.note else "")


def drift_chart(report: MonitoringReport) -> Markup:
    """Input columns (and the prediction) by inference partitions, coloured by statistic/threshold."""
    partitions = report.drift.partitions[-CHART_PARTITIONS:]
    rows: list[str] = []
    cells: dict[tuple[str, str], tuple[float | None, str]] = {}
    for partition in partitions:
        for column in partition.columns:
            if column.column not in rows:
                rows.append(column.column)
            cells[(column.column, partition.dt)] = (column.ratio, _tooltip(column))
    return charts.heatmap(rows, [p.dt for p in partitions], cells,
                          title="Drift against the champion's training data")


def estimate_chart(report: MonitoringReport) -> Markup:
    """The champion's partitions: estimated RMSE (all, and on the scored films) beside realized."""
    own = [p for p in report.partitions if p.version == report.champion][-12:]
    return charts.grouped_bars(
        [p.dt for p in own],
        {
            "estimated (all films)": [p.estimated_rmse for p in own],
            "estimated (scored)": [p.estimated_rmse_scored for p in own],
            "realized (scored)": [p.realized_rmse for p in own],
        },
        title="Estimated against realized RMSE, by prediction date",
    )


class MonitoringService:
    """The newest report, looked up at most every refresh period, and what the page shows of it."""

    def __init__(self, *, storage: Storage, refresh_seconds: float = 30.0) -> None:
        self._storage = storage
        self._refresh = max(refresh_seconds, 1.0)
        self._lock = threading.Lock()
        self._cached: tuple[float, MonitoringReport | None] | None = None

    def report(self) -> MonitoringReport | None:
        """The newest report, or None before the first ``tmdb-mlops monitor``.

        Raises:
            StorageError: the store cannot be read (the page says so).
        """
        with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self._refresh:
                return cached[1]
            report = latest_report(self._storage)
            self._cached = (time.monotonic(), report)
            return report

    def page(self) -> MonitoringPage:
        """Everything the /monitoring template shows."""
        try:
            report = self.report()
        except Exception as exc:  # noqa: BLE001 - the store may be down; the page still renders
            log.warning("cannot read the monitoring report: %s", exc)
            return MonitoringPage(report=None, message=f"The monitoring report cannot be read ({exc}).")
        if report is None:
            return MonitoringPage(
                report=None,
                message="No monitoring report yet: run 'tmdb-mlops predict' and "
                        "'tmdb-mlops monitor --logical-date D' (or the tmdb_monitor DAG).",
            )
        champion = next((v for v in report.versions if v.champion), None)
        own = [p for p in report.partitions if p.version == report.champion]
        return MonitoringPage(
            report=report,
            champion=champion,
            versions_chart=versions_chart(report),
            drift_chart=drift_chart(report),
            estimate_chart=estimate_chart(report),
            newest_drift=report.drift.partitions[-1] if report.drift.partitions else None,
            pending=[p for p in own if p.pending > 0],
            checked=[p for p in own if p.scored > 0],
        )

    def update_gauges(self, metrics: ServiceMetrics) -> None:
        """Set the monitoring gauges from the newest report (before each /metrics scrape)."""
        try:
            metrics.set_monitoring(self.report())
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail on the report
            log.warning("cannot read the monitoring report for the gauges: %s", exc)
