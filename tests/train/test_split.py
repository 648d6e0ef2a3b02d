"""Stage 2: the temporal split keeps the future out of training and model selection."""

from __future__ import annotations

import pandas as pd
import pytest

from tmdb_train.split import SplitError, temporal_split

pytestmark = pytest.mark.unit


def test_holdout_is_the_most_recent_releases(movies):
    train, holdout = temporal_split(movies, fraction=0.2)
    assert len(holdout) == 240 and len(train) == 960
    assert train["release_date"].max() <= holdout["release_date"].min()
    assert set(train["id"]).isdisjoint(holdout["id"])


def test_rows_without_a_date_stay_in_training():
    frame = pd.DataFrame({"id": [1, 2, 3, 4], "release_date": [None, "2001-01-01", "1999-01-01",
                                                               "2005-05-05"]})
    train, holdout = temporal_split(frame, fraction=0.25)
    assert holdout["id"].tolist() == [4]
    assert 1 in set(train["id"])


def test_split_is_deterministic_on_ties():
    frame = pd.DataFrame({"id": [3, 1, 2], "release_date": ["2000-01-01"] * 3})
    assert temporal_split(frame, fraction=0.3)[1]["id"].tolist() == [3]


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5])
def test_bad_fractions_are_refused(movies, fraction):
    with pytest.raises(SplitError):
        temporal_split(movies, fraction=fraction)
