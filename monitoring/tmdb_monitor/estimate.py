"""The error of predictions whose outcomes have not arrived: direct loss estimation, per partition.

Each prediction carries the error the version's loss estimator expected for it
(``est_abs_error``, ``est_squared_error``, written by ``predict``). A
partition's estimated RMSE is the square root of their mean, its estimated MAE
their mean; that is the figure for partitions not yet matured. Where some of a
partition's predictions are scored, the estimate on exactly those predictions
stands beside their realized RMSE, so the estimator itself is checked (the
page's "estimated against realized" chart). One ``groupby``: linear.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmdb_mlops.monitor_report import PartitionQuality
from tmdb_monitor.realized import rounded


def partition_quality(rows: pd.DataFrame, *, holdout_rmse: dict[str, float | None]) -> list[PartitionQuality]:
    """Per (prediction date, version): the estimate of all its predictions, realized where scored."""
    if rows.empty:
        return []
    data = rows.assign(
        est_n=rows["est_squared_error"].notna(),
        est_sq=rows["est_squared_error"].fillna(0.0),
        est_abs=rows["est_abs_error"].fillna(0.0),
        sc=rows["scored"],
        sq=(rows["error"] ** 2).where(rows["scored"], 0.0),
        ab=rows["error"].abs().where(rows["scored"], 0.0),
        sc_est_n=rows["scored"] & rows["est_squared_error"].notna(),
        pending=~rows["matured"],
        pe_est_n=~rows["matured"] & rows["est_squared_error"].notna(),
    )
    data = data.assign(sc_est_sq=data["est_sq"].where(data["sc_est_n"], 0.0),
                       pe_est_sq=data["est_sq"].where(data["pe_est_n"], 0.0),
                       pe_est_abs=data["est_abs"].where(data["pe_est_n"], 0.0))
    sums = data.groupby(["dt", "model_version"], sort=True).agg(
        n=("id", "size"), matured=("matured", "sum"), scored=("sc", "sum"), est_n=("est_n", "sum"),
        est_sq=("est_sq", "sum"), est_abs=("est_abs", "sum"), sq=("sq", "sum"), ab=("ab", "sum"),
        sc_est_n=("sc_est_n", "sum"), sc_est_sq=("sc_est_sq", "sum"), pending=("pending", "sum"),
        pe_est_n=("pe_est_n", "sum"), pe_est_sq=("pe_est_sq", "sum"), pe_est_abs=("pe_est_abs", "sum"),
    )
    out = []
    for (dt, version), row in sums.iterrows():
        scored = int(row["scored"])
        out.append(PartitionQuality(
            dt=str(dt),
            version=str(version),
            predictions=int(row["n"]),
            matured=int(row["matured"]),
            scored=scored,
            estimated_rmse=rounded(np.sqrt(row["est_sq"] / row["est_n"])) if row["est_n"] else None,
            estimated_mae=rounded(row["est_abs"] / row["est_n"]) if row["est_n"] else None,
            realized_rmse=rounded(np.sqrt(row["sq"] / scored)) if scored else None,
            realized_mae=rounded(row["ab"] / scored) if scored else None,
            estimated_rmse_scored=(rounded(np.sqrt(row["sc_est_sq"] / row["sc_est_n"]))
                                   if row["sc_est_n"] else None),
            pending=int(row["pending"]),
            estimated_rmse_pending=(rounded(np.sqrt(row["pe_est_sq"] / row["pe_est_n"]))
                                    if row["pe_est_n"] else None),
            estimated_mae_pending=(rounded(row["pe_est_abs"] / row["pe_est_n"])
                                   if row["pe_est_n"] else None),
            holdout_rmse=holdout_rmse.get(str(version)),
        ))
    return out
