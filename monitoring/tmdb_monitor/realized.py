"""Realized error of the matured predictions: per model version, horizon bucket and genre.

Each figure is computed on the **scored** predictions (matured, with a settled
rating; ``join``), beside what it is judged against: the version's holdout RMSE
(its metrics.json), the global-mean baseline on the same films (the training
mean, from the version's monitoring reference) and the error the direct loss
estimation expected for the same predictions before their outcome existed, and,
for predictions that carried an interval, how often the rating fell inside it
(the realized coverage, beside the nominal and the holdout-measured one). A
film predicted on several dates counts once per prediction (each is a
prediction that was shown); ``films`` counts distinct films. Grouped figures are
one pandas ``groupby`` each: linear in the predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tmdb_mlops.monitor_report import (
    HORIZON_BUCKETS,
    NOT_AVAILABLE,
    ErrorStats,
    IntervalCoverage,
    VersionQuality,
)
from tmdb_mlops.schema import LIST_SEPARATOR

NO_GENRE = "(none)"


def rounded(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


def _stats_columns(scored: pd.DataFrame, target_mean: float | None) -> pd.DataFrame:
    """Per-row sums the grouped figures are built from."""
    error = scored["error"].astype("float64")
    baseline = ((target_mean - scored["actual"]) ** 2) if target_mean is not None else np.nan
    return pd.DataFrame({
        "id": scored["id"],
        "sq": error ** 2,
        "abs": error.abs(),
        "err": error,
        "base_sq": baseline,
        "est_abs": scored["est_abs_error"].astype("float64"),
        "est_sq": scored["est_squared_error"].astype("float64"),
    }, index=scored.index)


def _from_sums(group: str, row: pd.Series, *, baseline: bool) -> ErrorStats:
    n = int(row["n"])
    return ErrorStats(
        group=group,
        predictions=n,
        films=int(row["films"]),
        rmse=rounded(np.sqrt(row["sq"] / n)),
        mae=rounded(row["abs"] / n),
        bias=rounded(row["err"] / n),
        baseline_rmse=rounded(np.sqrt(row["base_sq"] / n)) if baseline else None,
        estimated_rmse=rounded(np.sqrt(row["est_sq_sum"] / row["est_n"])) if row["est_n"] else None,
        estimated_mae=rounded(row["est_abs_sum"] / row["est_n"]) if row["est_n"] else None,
    )


def grouped(columns: pd.DataFrame, keys: pd.Series, *, baseline: bool) -> list[ErrorStats]:
    """One ErrorStats per key value (rows may repeat under several keys: genres)."""
    if columns.empty:
        return []
    data = columns.assign(key=keys.to_numpy(), has_est=columns["est_sq"].notna())
    data = data.assign(est_sq_v=data["est_sq"].where(data["has_est"], 0.0),
                       est_abs_v=data["est_abs"].where(data["has_est"], 0.0))
    sums = data.groupby("key", sort=True).agg(
        n=("sq", "size"), films=("id", "nunique"), sq=("sq", "sum"), abs=("abs", "sum"),
        err=("err", "sum"), base_sq=("base_sq", "sum"), est_n=("has_est", "sum"),
        est_sq_sum=("est_sq_v", "sum"), est_abs_sum=("est_abs_v", "sum"),
    )
    return [_from_sums(str(key), row, baseline=baseline) for key, row in sums.iterrows()]


def error_stats(scored: pd.DataFrame, *, target_mean: float | None) -> ErrorStats | None:
    """The figures of all scored predictions given (None when there are none)."""
    if scored.empty:
        return None
    columns = _stats_columns(scored, target_mean)
    [stats] = grouped(columns, pd.Series(["all"] * len(columns)), baseline=target_mean is not None)
    return stats


def horizon_labels(days: pd.Series) -> pd.Series:
    """Each horizon's bucket label (``HORIZON_BUCKETS``), vectorised."""
    labels = pd.Series("unknown", index=days.index, dtype="object")
    values = days.astype("Float64")
    for label, low, high in HORIZON_BUCKETS:
        labels[(values >= low) & (values <= high)] = label
    return labels


def by_horizon(scored: pd.DataFrame, *, target_mean: float | None) -> list[ErrorStats]:
    columns = _stats_columns(scored, target_mean)
    stats = grouped(columns, horizon_labels(scored["horizon_days"]),
                    baseline=target_mean is not None)
    order = {label: i for i, (label, _, _) in enumerate(HORIZON_BUCKETS)}
    return sorted(stats, key=lambda s: order.get(s.group, len(order)))


def by_genre(scored: pd.DataFrame, *, target_mean: float | None) -> list[ErrorStats]:
    """Each genre's figures; a film of several genres counts in each of them."""
    if scored.empty:
        return []
    genres = scored["genres"].fillna(NO_GENRE).astype("object").str.split(LIST_SEPARATOR)
    exploded = genres.explode()
    columns = _stats_columns(scored, target_mean).loc[exploded.index]
    return grouped(columns, exploded, baseline=target_mean is not None)


def interval_coverage(scored: pd.DataFrame, *, metrics: dict[str, Any] | None) -> IntervalCoverage | None:
    """Realized coverage of the scored predictions that carried an interval (None: none did)."""
    with_interval = scored[scored["interval_low"].notna() & scored["interval_high"].notna()]
    summary = (metrics or {}).get("interval") or {}
    if with_interval.empty:
        return None
    actual = with_interval["actual"].astype("float64")
    low = with_interval["interval_low"].astype("float64")
    high = with_interval["interval_high"].astype("float64")
    inside = (actual >= low) & (actual <= high)
    return IntervalCoverage(
        predictions=len(with_interval),
        nominal_coverage=summary.get("nominal_coverage"),
        holdout_coverage=summary.get("empirical_coverage"),
        realized_coverage=rounded(float(inside.mean())),
        mean_width=rounded(float((high - low).mean())),
        below=int((actual < low).sum()),
        above=int((actual > high).sum()),
    )


def version_quality(
    rows: pd.DataFrame,
    *,
    version: str,
    champion: bool,
    metrics: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
) -> VersionQuality:
    """One version's predictions up to the date, and the realized error of its matured ones."""
    reference = (metadata or {}).get("monitoring_reference") or {}
    target_mean = (reference.get("profile") or {}).get("target_mean")
    notes = []
    if metrics is None:
        notes.append("holdout metrics: the version is not in the registry")
    if target_mean is None:
        notes.append(f"global-mean baseline and drift reference: {NOT_AVAILABLE}")
    if len(rows) and not rows["est_squared_error"].notna().any():
        notes.append(f"error estimate: {NOT_AVAILABLE}")
    if len(rows) and not rows["interval_low"].notna().any():
        notes.append(f"prediction interval: {NOT_AVAILABLE}")
    scored = rows[rows["scored"]]
    model = (metrics or {}).get("model", {})
    return VersionQuality(
        version=version,
        champion=champion,
        as_of=(metadata or {}).get("as_of"),
        holdout_rmse=model.get("rmse"),
        holdout_mae=model.get("mae"),
        predictions=len(rows),
        films=int(rows["id"].nunique()),
        matured=int(rows["matured"].sum()),
        awaiting_outcome=int((rows["matured"] & ~rows["has_outcome"]).sum()),
        unrated=int((rows["has_outcome"] & ~rows["scored"]).sum()),
        realized=error_stats(scored, target_mean=target_mean),
        by_horizon=by_horizon(scored, target_mean=target_mean),
        by_genre=by_genre(scored, target_mean=target_mean),
        interval=interval_coverage(scored, metrics=metrics),
        notes=notes,
    )

