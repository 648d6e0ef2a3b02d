"""Issue #13 on models the real trainer fitted on a collected sandbox history.

The coverage is recomputed here from the registered bundle and the films' true
ratings (the holdout rebuilt from the store's partitions as the trainer split
it), and compared with metrics.json and with the nominal coverage; the TreeSHAP
sum property is checked on the whole holdout.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from tests.serve.conftest import AS_OF, TrainedStore
from tmdb_mlops.explain import Explainer
from tmdb_mlops.features import featurizer_of
from tmdb_mlops.schema import TARGET
from tmdb_mlops.storage import open_storage
from tmdb_train.data import load_training_data
from tmdb_train.split import temporal_split

pytestmark = pytest.mark.integration


def test_coverage_recomputed_on_the_served_sandbox_models_matches_metrics(
    trained_store: TrainedStore,
) -> None:
    registry = trained_store.registry()
    data = load_training_data(open_storage(str(trained_store.path)), as_of=date.fromisoformat(AS_OF))
    for version in trained_store.versions:
        model = registry.load(version)
        figures = model.metrics["interval"]
        _, holdout = temporal_split(data.frame, fraction=model.metrics["holdout_fraction"])
        calibration, evaluation = temporal_split(holdout, fraction=0.5)
        assert figures["evaluation_rows"] == len(evaluation)
        assert figures["calibration_rows"] == len(calibration)
        raw, low, high = model.predict_frame_with_intervals(evaluation)
        truth = evaluation[TARGET].to_numpy(dtype=float)
        inside = (truth >= low) & (truth <= high)
        assert float(inside.mean()) == pytest.approx(figures["empirical_coverage"], abs=1e-6)
        # ~130 evaluation films here (a 2011- history): the 3-point goal is checked on the
        # whole sandbox history (tests/train/test_sandbox_e2e.py); here, within 3 standard errors.
        nominal = figures["nominal_coverage"]
        error = 3 * np.sqrt(nominal * (1 - nominal) / len(evaluation))
        assert abs(float(inside.mean()) - nominal) <= error, version
        assert (low <= np.clip(raw, 0, 10)).all() and (np.clip(raw, 0, 10) <= high).all()


def test_base_value_plus_contributions_is_the_raw_prediction_on_the_whole_holdout(
    trained_store: TrainedStore,
) -> None:
    registry = trained_store.registry()
    data = load_training_data(open_storage(str(trained_store.path)), as_of=date.fromisoformat(AS_OF))
    model = registry.load(trained_store.versions[0])
    _, holdout = temporal_split(data.frame, fraction=model.metrics["holdout_fraction"])
    encoded = featurizer_of(model.pipeline).transform(holdout)
    base, by_source = Explainer.of(model.pipeline).contributions(encoded)
    np.testing.assert_allclose(base + by_source.sum(axis=1), model.predict_frame(holdout),
                               rtol=0, atol=1e-6)
