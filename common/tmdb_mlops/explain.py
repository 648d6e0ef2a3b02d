"""Per-input explanations: LightGBM's TreeSHAP values summed back to the raw inputs.

``Booster.predict(X, pred_contrib=True)`` gives, for each encoded feature, its
exact additive contribution to the raw score (TreeSHAP), plus the expected
value in the last column: they add up to the booster's raw output. A person
typed in raw inputs, not 40 encoded columns, so the contributions are summed
per raw input through the featurizer's ``feature_sources_`` (every genre
indicator into ``genres``, every cast encoding into ``cast``...). The sum is
unchanged: ``base_value + sum(contributions)`` is the unclamped prediction
(the served one is clipped to 0-10 afterwards, which no contribution explains).

Only the served pipeline's shape is explained: the featurizer straight into
LightGBM (the ridge baseline is never served). Shared, so that serving and the
tests compute explanations the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tmdb_mlops.features import featurizer_of

if TYPE_CHECKING:
    import numpy as np


class NotExplainable(TypeError):
    """The pipeline is not the featurizer followed by a LightGBM model."""


@dataclass(frozen=True)
class Explainer:
    """The booster, the iterations served, and the feature -> raw input summing matrix."""

    booster: Any
    iterations: int | None
    sources: tuple[str, ...]
    #: (n_features, n_sources) 0/1 matrix: contributions @ matrix = per-source sums.
    matrix: np.ndarray

    @classmethod
    def of(cls, pipeline: Any) -> Explainer:
        import numpy as np

        featurizer = featurizer_of(pipeline)
        steps = pipeline.steps
        booster = getattr(steps[-1][1], "booster_", None)
        if booster is None or len(steps) != 2:
            raise NotExplainable("only a featurizer -> LightGBM pipeline has TreeSHAP explanations")
        per_feature = featurizer.feature_sources_
        sources = tuple(dict.fromkeys(per_feature))
        column = {source: j for j, source in enumerate(sources)}
        matrix = np.zeros((len(per_feature), len(sources)), dtype=np.float64)
        for i, source in enumerate(per_feature):
            matrix[i, column[source]] = 1.0
        # The same trees as pipeline.predict: the best iteration when early stopping set one.
        iterations = booster.best_iteration if booster.best_iteration > 0 else None
        return cls(booster=booster, iterations=iterations, sources=sources, matrix=matrix)

    def contributions(self, encoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(base values, per-source contributions) of an encoded matrix (n, n_features)."""
        import numpy as np

        X = np.asarray(encoded, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        shap = np.asarray(self.booster.predict(X, pred_contrib=True, num_iteration=self.iterations,
                                               num_threads=1), dtype=np.float64)
        return shap[:, -1], shap[:, :-1] @ self.matrix

    def explain_row(self, encoded: list[float] | np.ndarray) -> dict[str, Any]:
        """One film's ``{"base_value", "contributions": {raw input: float}}``."""
        base, by_source = self.contributions(encoded)
        return {"base_value": float(base[0]),
                "contributions": dict(zip(self.sources, by_source[0].tolist(), strict=True))}
