"""The retraining decision, alone: from the report's figures to "retrain or not, and why".

Pure (no store, no clock), so the rule is tested without either, as the
promotion gate's ``decide`` is. Two reasons to retrain, each configurable:

* **performance**: the champion's realized RMSE exceeds its holdout RMSE by more
  than ``MONITOR_RETRAIN_MARGIN`` (relative), on at least ``MONITOR_MIN_MATURED``
  distinct films whose rating has settled; fewer films are not judged;
* **drift**: in the newest inference partition compared, a statistic passes its
  threshold (``MONITOR_PSI_THRESHOLD``, ``MONITOR_SHARE_THRESHOLD``,
  ``MONITOR_MISSING_THRESHOLD``), unless ``MONITOR_DRIFT_RETRAIN`` is off.

Only the newest partition counts for drift: an old partition stays drifted for
ever, and the retrain it asked for has been requested already. Every check is
recorded in ``checks``, firing or not, so a report says why nothing happened too.
"""

from __future__ import annotations

from tmdb_mlops.monitor_report import PartitionDrift, TriggerDecision, VersionQuality


def decide(
    *,
    champion: VersionQuality | None,
    newest_drift: PartitionDrift | None,
    margin: float,
    min_matured: int,
    drift_retrain: bool,
) -> TriggerDecision:
    """Retrain or not, the reasons if so, and every check made."""
    reasons: list[str] = []
    checks: list[str] = []
    if champion is None:
        checks.append("no champion: nothing to judge")
    else:
        realized, holdout = champion.realized, champion.holdout_rmse
        films = realized.films if realized else 0
        if realized is None or realized.rmse is None or films < min_matured:
            checks.append(f"performance of {champion.version}: {films} matured films scored, "
                          f"fewer than {min_matured}: not judged yet")
        elif holdout is None:
            checks.append(f"performance of {champion.version}: no holdout RMSE to compare with")
        else:
            limit = holdout * (1 + margin)
            verdict = (f"performance of {champion.version}: realized RMSE {realized.rmse:.3f} on "
                       f"{films} matured films against holdout RMSE {holdout:.3f} "
                       f"({realized.rmse / holdout - 1:+.1%}; margin {margin:.0%})")
            if realized.rmse > limit:
                reasons.append(verdict + ": degraded")
            checks.append(verdict)
    if newest_drift is None:
        checks.append("drift: no inference partition compared")
    elif newest_drift.flagged:
        verdict = f"drift in inference dt={newest_drift.dt}: " + "; ".join(newest_drift.flagged)
        if drift_retrain:
            reasons.append(verdict)
        checks.append(verdict if drift_retrain else verdict + " (MONITOR_DRIFT_RETRAIN is off)")
    else:
        checks.append(f"drift in inference dt={newest_drift.dt}: no statistic past its threshold")
    return TriggerDecision(retrain=bool(reasons), reasons=reasons, checks=checks)
