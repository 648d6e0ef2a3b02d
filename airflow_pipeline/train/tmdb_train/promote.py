"""Stage 5: the promotion gate.

A registered candidate becomes the champion only if it beats the mean baseline
on its holdout and is no worse than the current champion RE-SCORED ON THE
CANDIDATE'S OWN HOLDOUT (metrics from different holdouts are not comparable),
within ``tolerance`` (a relative RMSE excess: 0.01 allows 1% worse). The
decision is written beside the version either way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from tmdb_mlops.errors import PlatformError
from tmdb_mlops.registry import Registry
from tmdb_mlops.schema import TARGET
from tmdb_train.evaluate import regression_metrics

log = logging.getLogger(__name__)


def decide(
    *,
    candidate_rmse: float,
    mean_baseline_rmse: float,
    champion_rmse: float | None,
    tolerance: float,
) -> tuple[bool, str]:
    """The gate's rule alone, so it can be tested without a registry."""
    if not candidate_rmse < mean_baseline_rmse:
        return False, (f"candidate RMSE {candidate_rmse:.4f} does not beat the mean baseline "
                       f"{mean_baseline_rmse:.4f}")
    if champion_rmse is None:
        return True, (f"no comparable champion; candidate RMSE {candidate_rmse:.4f} beats the "
                      f"mean baseline {mean_baseline_rmse:.4f}")
    limit = champion_rmse * (1.0 + tolerance)
    if candidate_rmse <= limit:
        return True, (f"candidate RMSE {candidate_rmse:.4f} <= champion {champion_rmse:.4f} "
                      f"x (1 + {tolerance}) on the candidate's holdout")
    return False, (f"candidate RMSE {candidate_rmse:.4f} is worse than champion "
                   f"{champion_rmse:.4f} x (1 + {tolerance}) on the candidate's holdout")


def gate(
    registry: Registry,
    *,
    version: str,
    holdout: pd.DataFrame,
    metrics: dict[str, Any],
    tolerance: float,
) -> dict[str, Any]:
    """Decide, record the decision, and move the champion pointer if it passes."""
    champion = registry.champion()
    champion_metrics: dict[str, Any] | None = None
    champion_error: str | None = None
    if champion is not None and champion != version:
        try:
            model = registry.load(champion)
            y = holdout[TARGET].to_numpy(dtype=np.float64)
            champion_metrics = regression_metrics(y, model.predict_frame(holdout))
        except PlatformError as exc:
            champion_error = str(exc)
            log.warning("current champion %s cannot be re-scored (%s); judging the candidate "
                        "on the baselines alone", champion, exc)
    promote, reason = decide(
        candidate_rmse=metrics["model"]["rmse"],
        mean_baseline_rmse=metrics["baselines"]["global_mean"]["rmse"],
        champion_rmse=champion_metrics["rmse"] if champion_metrics else None,
        tolerance=tolerance,
    )
    if champion_error:
        reason += f" (champion {champion} unusable: {champion_error})"
    decision = {
        "version": version,
        "promoted": promote,
        "reason": reason,
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tolerance": tolerance,
        "candidate": metrics["model"],
        "mean_baseline": metrics["baselines"]["global_mean"],
        "previous_champion": champion,
        "previous_champion_on_candidate_holdout": champion_metrics,
    }
    registry.write_decision(version, decision)
    if promote:
        registry.promote(version, reason=reason)
    log.info("promotion gate: %s %s: %s", version, "PROMOTED" if promote else "kept out", reason)
    return decision
