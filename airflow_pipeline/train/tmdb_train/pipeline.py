"""The pipeline the trainer fits: the shared featurizer, then LightGBM (or ridge).

Only the trainer builds pipelines, so the builder and the default LightGBM
parameters live here; what a fitted pipeline pickles (the featurizer, sklearn's
and LightGBM's classes) is importable wherever bundles are unpickled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sklearn.pipeline import Pipeline

from tmdb_mlops.features import EXPERIMENT_COLUMNS, MovieFeaturizer

ModelKind = Literal["lightgbm", "ridge"]

DEFAULT_LGBM_PARAMS: dict[str, Any] = {
    "n_estimators": 600,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
}


def build_pipeline(
    model: ModelKind = "lightgbm",
    *,
    seed: int = 42,
    params: Mapping[str, Any] | None = None,
    feature_params: Mapping[str, Any] | None = None,
    post_release: bool = False,
    n_jobs: int = 1,
) -> Pipeline:
    """One unfitted Pipeline: the featurizer, then LightGBM (or ridge for the baseline).

    Args:
        model: ``"lightgbm"`` (what is served) or ``"ridge"`` (the linear baseline,
            on the very same features, imputed and scaled).
        seed: seeds folds and the booster; with ``deterministic`` and a fixed
            thread count the same data gives the same model.
        params: LGBMRegressor (or Ridge) parameters overriding the defaults.
        feature_params: MovieFeaturizer parameters.
        post_release: ALSO use vote_count, popularity and revenue. Only for the
            leakage experiment; such a pipeline is refused for serving.
        n_jobs: LightGBM threads, fixed so results do not depend on the machine; one
            thread is also the fastest at this size (OpenMP threads on a busy 2-core
            machine made a fit ~10x slower in our measurements).
    """
    featurizer = MovieFeaturizer(
        random_state=seed,
        post_release_columns=EXPERIMENT_COLUMNS if post_release else (),
        **dict(feature_params or {}),
    )
    if model == "ridge":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import Ridge
        from sklearn.preprocessing import StandardScaler

        return Pipeline([
            ("features", featurizer),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", Ridge(**{"alpha": 10.0, **dict(params or {})})),
        ])
    if model != "lightgbm":
        raise ValueError(f"unknown model kind {model!r}")
    from lightgbm import LGBMRegressor

    regressor = LGBMRegressor(
        **{**DEFAULT_LGBM_PARAMS, **dict(params or {})},
        random_state=seed,
        n_jobs=n_jobs,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    return Pipeline([("features", featurizer), ("model", regressor)])
