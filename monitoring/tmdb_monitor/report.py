"""``tmdb-mlops monitor --logical-date D``: the report, its summary table, the write.

Chains the stages (``join`` -> ``realized`` and ``estimate`` -> ``drift`` ->
``trigger``) into a ``tmdb_mlops.monitor_report.MonitoringReport`` and writes it
to ``monitoring/dt=D/report.json`` through ``write_folder`` (the report, then
the manifest). Everything read is named with its manifest's sha256 in
``inputs``; nothing depends on the wall clock, so a rerun on the same store
writes the same bytes. The champion is the registry's at the time of the run.
"""

from __future__ import annotations

import io
import logging
from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table

from tmdb_mlops import layout
from tmdb_mlops.config import Settings
from tmdb_mlops.errors import PlatformError
from tmdb_mlops.monitor_report import MonitoringReport, VersionQuality
from tmdb_mlops.partitions import write_folder
from tmdb_mlops.registry import Registry
from tmdb_mlops.storage import Storage, storage_from_settings
from tmdb_monitor import MONITOR_VERSION
from tmdb_monitor.drift import drift_section
from tmdb_monitor.estimate import partition_quality
from tmdb_monitor.join import joined
from tmdb_monitor.realized import version_quality
from tmdb_monitor.trigger import decide

log = logging.getLogger(__name__)


def _registry_files(registry: Registry, version: str) -> tuple[dict | None, dict | None]:
    """(metrics, metadata) of a version; None for what the registry cannot give."""
    try:
        return registry.metrics(version), registry.metadata(version)
    except PlatformError as exc:
        log.warning("version %s: %s", version, exc)
        return None, None


def build_report(settings: Settings, *, logical_date: date, storage: Storage) -> MonitoringReport:
    """Every figure of the report for one logical date."""
    registry = Registry(storage, signing_key=settings.model_signing_key)
    champion = registry.champion()
    data = joined(storage, logical_date=logical_date, settle_days=settings.collect_settle_days,
                  min_votes=settings.collect_min_votes)
    frame = data.frame
    versions = sorted(set(frame["model_version"].dropna().astype(str)) | ({champion} - {None}))
    files = {version: _registry_files(registry, version) for version in versions}
    qualities: list[VersionQuality] = []
    for version in versions:
        metrics, metadata = files[version]
        qualities.append(version_quality(
            frame[frame["model_version"] == version], version=version,
            champion=version == champion, metrics=metrics, metadata=metadata,
        ))
    holdout = {q.version: q.holdout_rmse for q in qualities}
    drift, inference_read = drift_section(
        storage, champion=champion, metadata=files.get(champion, (None, None))[1] if champion else None,
        logical_date=logical_date, settings=settings, predictions=frame,
    )
    champion_quality = next((q for q in qualities if q.champion), None)
    trigger = decide(
        champion=champion_quality,
        newest_drift=drift.partitions[-1] if drift.partitions else None,
        margin=settings.monitor_retrain_margin,
        min_matured=settings.monitor_min_matured,
        drift_retrain=settings.monitor_drift_retrain,
    )
    return MonitoringReport(
        logical_date=logical_date.isoformat(),
        champion=champion,
        settings={
            "collect_settle_days": settings.collect_settle_days,
            "collect_min_votes": settings.collect_min_votes,
            "monitor_retrain_margin": settings.monitor_retrain_margin,
            "monitor_min_matured": settings.monitor_min_matured,
            "monitor_drift_retrain": settings.monitor_drift_retrain,
            "monitor_version": MONITOR_VERSION,
        },
        versions=qualities,
        partitions=partition_quality(frame, holdout_rmse=holdout),
        drift=drift,
        trigger=trigger,
        inputs={"predictions": data.predictions_read, "outcomes": data.outcomes_read,
                "inference": inference_read},
    )


def write_report(storage: Storage, report: MonitoringReport) -> dict[str, Any]:
    """``monitoring/dt=D/report.json``, then its manifest."""
    dt = report.date
    return write_folder(
        storage,
        folder=layout.monitoring_prefix(dt),
        files={layout.report_key(dt): report.to_bytes()},
        manifest={
            "stage": "monitor",
            "monitor_version": MONITOR_VERSION,
            "report_format": report.report_format,
            "logical_date": report.logical_date,
            "champion": report.champion,
            "retrain": report.trigger.retrain,
        },
    )


def run_monitor(
    settings: Settings, *, logical_date: date, storage: Storage | None = None
) -> MonitoringReport:
    """Build and write the report of ``logical_date``."""
    store = storage or storage_from_settings(settings)
    store.check()
    report = build_report(settings, logical_date=logical_date, storage=store)
    write_report(store, report)
    log.info("monitoring dt=%s written to %s/%s; retrain: %s", logical_date, store.url,
             layout.monitoring_prefix(logical_date), report.trigger.retrain)
    return report


def _num(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _pct(value: float | None, spec: str = ".1%") -> str:
    return "?" if value is None else format(value, spec)


def _coverage(quality: VersionQuality) -> str:
    """One line: the realized coverage of the version's interval on its matured predictions."""
    interval = quality.interval
    if interval is None or interval.realized_coverage is None:
        return f"interval coverage, {quality.version}: no matured prediction with an interval"
    return (f"interval coverage, {quality.version}: {_pct(interval.realized_coverage)} of "
            f"{interval.predictions} matured ratings inside their interval (nominal "
            f"{_pct(interval.nominal_coverage, '.0%')}, holdout {_pct(interval.holdout_coverage)}; "
            f"{interval.below} below, {interval.above} above; mean width "
            f"{_num(interval.mean_width, '.2f')})")


def summary(report: MonitoringReport, *, width: int = 140) -> str:
    """The tables the command prints: versions, partitions, drift, the decision."""
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    versions = Table(title=f"Model versions, monitoring {report.logical_date} (* champion)")
    for name in ("version", "holdout RMSE", "predictions", "matured", "scored films",
                 "realized RMSE", "MAE", "bias", "mean-baseline RMSE", "estimated RMSE"):
        versions.add_column(name, justify="left" if name == "version" else "right",
                            no_wrap=name == "version")
    for q in report.versions:
        r = q.realized
        versions.add_row(
            ("* " if q.champion else "  ") + q.version, _num(q.holdout_rmse), str(q.predictions),
            str(q.matured), str(r.films if r else 0), _num(r.rmse if r else None),
            _num(r.mae if r else None), _num(r.bias if r else None, "+.3f"),
            _num(r.baseline_rmse if r else None), _num(r.estimated_rmse if r else None),
        )
    console.print(versions)
    for q in report.versions:
        console.print(_coverage(q))
    parts = Table(title="Prediction partitions: estimated (before outcomes) and realized RMSE")
    for name in ("dt", "version", "predictions", "scored", "estimated on scored", "realized RMSE",
                 "pending", "estimated on pending"):
        parts.add_column(name, justify="left" if name in ("dt", "version") else "right",
                         no_wrap=name == "version")
    for p in report.partitions[-12:]:
        parts.add_row(p.dt, p.version, str(p.predictions), str(p.scored),
                      _num(p.estimated_rmse_scored), _num(p.realized_rmse), str(p.pending),
                      _num(p.estimated_rmse_pending))
    console.print(parts)
    drift = report.drift
    if drift.note:
        console.print(f"drift: {drift.note}")
    for partition in drift.partitions[-3:]:
        flagged = "; ".join(partition.flagged) or "nothing past its threshold"
        console.print(f"drift, inference dt={partition.dt} ({partition.rows} films) against "
                      f"{drift.reference_version}: {flagged}")
    decision = "RETRAIN: " + " | ".join(report.trigger.reasons) if report.trigger.retrain \
        else "no retraining: " + " | ".join(report.trigger.checks)
    console.print(decision)
    return console.file.getvalue()  # type: ignore[attr-defined]
