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


@pytest.mark.parametrize("shuffle_seed", [None, 0, 1])
def test_a_frame_already_in_order_splits_as_one_sorted_first(shuffle_seed):
    """Issue #15: an ordered frame is not sorted (copied) again; the split is the same."""
    import numpy as np

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"id": rng.permutation(400) + 1,
                          "release_date": rng.choice(["2001-01-01", "2001-01-02", "2003-05-05",
                                                      "1999-12-31"], 400),
                          "title": [f"film {i}" for i in range(400)]})
    ordered = frame.sort_values(["release_date", "id"], kind="stable").reset_index(drop=True)
    source = ordered if shuffle_seed is None else ordered.sample(frac=1, random_state=shuffle_seed)
    for got, expected in zip(temporal_split(source, fraction=0.25),
                             temporal_split(ordered.sample(frac=1, random_state=9), fraction=0.25),
                             strict=True):
        pd.testing.assert_frame_equal(got, expected)
    # Ties on the date keep the id order; a tie out of id order is sorted.
    swapped = ordered.copy()
    swapped.loc[[0, 1], "id"] = swapped.loc[[1, 0], "id"].to_numpy()
    if swapped.loc[0, "release_date"] == swapped.loc[1, "release_date"]:
        assert temporal_split(swapped, fraction=0.25)[0]["id"].iloc[0] == ordered["id"].iloc[0]
