"""The monitoring report's schema: what ``monitoring/dt=D/report.json`` holds (issue #12).

Written by ``tmdb-mlops monitor`` (the monitoring part), read by serving's
/monitoring page, /monitoring.json and its Prometheus gauges, and by the
monitoring DAG's trigger task: one definition for all of them. Only
pydantic here, so the Airflow image (the shared package without extras) reads
it too.

Numbers are rounded to 6 decimals and the JSON is written with sorted keys and
nothing from the wall clock, so a rerun on the same store gives the same bytes.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from tmdb_mlops import layout
from tmdb_mlops.partitions import list_folders, read_folder_manifest, read_verified
from tmdb_mlops.storage import Storage

REPORT_FORMAT: Final = 1

#: Horizon buckets (days from the prediction's logical date to the release), inclusive.
HORIZON_BUCKETS: Final[tuple[tuple[str, int, int], ...]] = (
    ("0-30", 0, 30),
    ("31-90", 31, 90),
    ("91-180", 91, 180),
    ("181+", 181, 10**6),
)
NOT_AVAILABLE: Final = "not available for this version"


def horizon_bucket(days: int | None) -> str:
    """The bucket label of a horizon in days ("unknown" without a release date)."""
    if days is None:
        return "unknown"
    for label, low, high in HORIZON_BUCKETS:
        if low <= days <= high:
            return label
    return "unknown"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ErrorStats(_Model):
    """Realized error of a set of matured predictions, with what it is compared against."""

    group: str = Field("all", description="'all', a horizon bucket or a genre")
    predictions: int = Field(description="matured predictions with a settled rating (scored)")
    films: int = Field(description="distinct films among them")
    rmse: float | None = None
    mae: float | None = None
    bias: float | None = Field(None, description="mean of prediction - rating (>0: too high)")
    baseline_rmse: float | None = Field(
        None, description="the training mean predicted for the same films (global-mean baseline)"
    )
    estimated_rmse: float | None = Field(
        None, description="direct loss estimation on the same predictions, made before the outcome"
    )
    estimated_mae: float | None = None


class IntervalCoverage(_Model):
    """How often the matured films' ratings fell inside their served interval (issue #13)."""

    predictions: int = Field(description="scored predictions that carried an interval")
    nominal_coverage: float | None = Field(None, description="the version's nominal coverage")
    holdout_coverage: float | None = Field(
        None, description="measured by the trainer on the later half of its holdout"
    )
    realized_coverage: float | None = Field(None, description="share of ratings inside the interval")
    mean_width: float | None = None
    below: int = Field(0, description="ratings under the interval's low bound")
    above: int = Field(0, description="ratings over the interval's high bound")


class VersionQuality(_Model):
    """One model version: its predictions so far, and how the matured ones fared."""

    version: str
    champion: bool = False
    as_of: str | None = None
    holdout_rmse: float | None = Field(None, description="from the version's metrics.json")
    holdout_mae: float | None = None
    predictions: int = Field(0, description="predictions made by the version up to the date")
    films: int = 0
    matured: int = Field(0, description="predictions whose rating has settled by the date")
    awaiting_outcome: int = Field(0, description="matured, but no outcome collected yet")
    unrated: int = Field(0, description="outcome collected, fewer votes than COLLECT_MIN_VOTES")
    realized: ErrorStats | None = None
    by_horizon: list[ErrorStats] = Field(default_factory=list)
    by_genre: list[ErrorStats] = Field(default_factory=list)
    interval: IntervalCoverage | None = Field(
        None, description="realized coverage of the interval; null for a version without one"
    )
    notes: list[str] = Field(default_factory=list)


class PartitionQuality(_Model):
    """The predictions of one (logical date, version): estimated, and realized where matured."""

    dt: str
    version: str
    predictions: int
    matured: int = 0
    scored: int = Field(0, description="matured with a settled rating")
    estimated_rmse: float | None = Field(None, description="all the partition's predictions")
    estimated_mae: float | None = None
    realized_rmse: float | None = Field(None, description="the scored predictions")
    realized_mae: float | None = None
    estimated_rmse_scored: float | None = Field(
        None, description="the estimate on exactly the scored predictions, beside realized_rmse"
    )
    pending: int = Field(0, description="predictions whose rating has not settled yet")
    estimated_rmse_pending: float | None = Field(
        None, description="the estimate of the pending predictions: the error expected before any outcome"
    )
    estimated_mae_pending: float | None = None
    holdout_rmse: float | None = None


class ShareChange(_Model):
    value: str
    reference: float
    current: float
    change: float


class ColumnDrift(_Model):
    """One column (or the prediction) of one inference partition against the reference."""

    column: str
    kind: str
    rows: int
    statistic: Literal["psi", "share_change"]
    value: float | None = None
    threshold: float
    flagged: bool = False
    missing_rate_reference: float = 0.0
    missing_rate: float = 0.0
    missing_change: float = 0.0
    missing_threshold: float
    missing_flagged: bool = False
    top_changes: list[ShareChange] = Field(default_factory=list)
    note: str | None = None

    @property
    def ratio(self) -> float | None:
        """The statistic over its threshold (>1: flagged); the heat map's colour."""
        ratios = [abs(self.missing_change) / self.missing_threshold]
        if self.value is not None:
            ratios.append(self.value / self.threshold)
        return max(ratios)


class PartitionDrift(_Model):
    dt: str
    rows: int
    predicted_by: str | None = Field(None, description="the version whose predictions were compared")
    columns: list[ColumnDrift] = Field(default_factory=list)
    flagged: list[str] = Field(default_factory=list, description="'column statistic' past its threshold")


class LargestDrift(_Model):
    dt: str
    column: str
    statistic: str
    value: float
    threshold: float


class DriftSection(_Model):
    """Every raw input and the prediction, per inference partition since the champion's training."""

    reference_version: str | None = None
    reference_as_of: str | None = None
    reference_rows: int | None = None
    thresholds: dict[str, float] = Field(default_factory=dict)
    note: str | None = None
    partitions: list[PartitionDrift] = Field(default_factory=list)
    largest: LargestDrift | None = None


class TriggerDecision(_Model):
    """Whether to retrain, and why (or why not): the DAG logs ``reasons``."""

    retrain: bool = False
    reasons: list[str] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list, description="what was checked, firing or not")


class MonitoringReport(_Model):
    report_format: int = REPORT_FORMAT
    logical_date: str
    champion: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    versions: list[VersionQuality] = Field(default_factory=list)
    partitions: list[PartitionQuality] = Field(default_factory=list)
    drift: DriftSection = Field(default_factory=DriftSection)
    trigger: TriggerDecision = Field(default_factory=TriggerDecision)
    inputs: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)

    @property
    def date(self) -> date:
        return date.fromisoformat(self.logical_date)

    def version(self, version: str) -> VersionQuality | None:
        return next((v for v in self.versions if v.version == version), None)

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, so the same report is the same bytes."""
        return (json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> MonitoringReport:
        return cls.model_validate_json(data)


def list_reports(storage: Storage) -> list[date]:
    """Logical dates of the complete monitoring reports, oldest first."""
    dates = {layout.dt_from_key(folder) for folder in list_folders(storage, layout.MONITORING_PREFIX)}
    return sorted(d for d in dates if d is not None)


def read_report(storage: Storage, dt: date) -> MonitoringReport | None:
    """The report of one date, checked against its manifest; None when it does not exist."""
    manifest = read_folder_manifest(storage, layout.monitoring_prefix(dt))
    if manifest is None:
        return None
    return MonitoringReport.from_bytes(read_verified(storage, layout.report_key(dt), manifest))


def latest_report(storage: Storage, *, until: date | None = None) -> MonitoringReport | None:
    """The newest report (on or before ``until``), or None before the first monitor run."""
    dates = [d for d in list_reports(storage) if until is None or d <= until]
    return read_report(storage, dates[-1]) if dates else None
