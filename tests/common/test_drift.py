"""The drift statistics (tmdb_mlops.drift): kinds from the input contract, PSI, share changes."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.train.synthetic import synthetic_movies
from tmdb_mlops import drift
from tmdb_mlops.inputs import INPUT_COLUMNS

pytestmark = pytest.mark.unit

LIMITS = {"psi_threshold": 0.25, "share_threshold": 0.15, "missing_threshold": 0.15}


@pytest.fixture(scope="module")
def films() -> pd.DataFrame:
    return synthetic_movies(3000, seed=4, first_id=10_000)  # titles of one length: "Film 1xxxx"


@pytest.fixture(scope="module")
def profile(films: pd.DataFrame) -> dict:
    return drift.build_profile(films.iloc[:2000], predictions=np.linspace(4, 8, 400),
                               target_mean=6.1)


def _by_column(results: list[dict]) -> dict[str, dict]:
    return {r["column"]: r for r in results}


def test_every_raw_input_has_a_kind_derived_from_the_contract() -> None:
    kinds = drift.column_kinds()
    assert list(kinds) == list(INPUT_COLUMNS)
    assert kinds["runtime"] == kinds["budget"] == drift.NUMBER
    assert kinds["release_date"] == drift.WEEKDAY
    assert kinds["genres"] == kinds["cast"] == kinds["production_countries"] == drift.LIST
    assert kinds["title"] == kinds["overview"] == drift.TEXT_LENGTH
    assert kinds["original_language"] == kinds["director"] == drift.CATEGORY


def test_the_profile_is_stable_json(films: pd.DataFrame, profile: dict) -> None:
    again = drift.build_profile(films.iloc[:2000], predictions=np.linspace(4, 8, 400),
                                target_mean=6.1)
    assert json.dumps(profile, sort_keys=True) == json.dumps(again, sort_keys=True)
    runtime = profile["columns"]["runtime"]
    assert len(runtime["edges"]) == 9 and len(runtime["shares"]) == 10
    assert sum(runtime["shares"]) == pytest.approx(1.0, abs=1e-5)
    assert profile["target_mean"] == 6.1 and profile["prediction"]["kind"] == drift.NUMBER


def test_the_same_population_is_not_flagged(films: pd.DataFrame, profile: dict) -> None:
    results = drift.compare(profile, films.iloc[2000:], **LIMITS)
    flagged = [r["column"] for r in results if r["flagged"] or r["missing_flagged"]]
    assert flagged == []
    assert all(r["value"] is None or r["value"] < r["threshold"] / 2 for r in results)


def test_psi_is_the_textbook_formula(films: pd.DataFrame, profile: dict) -> None:
    shifted = films.iloc[2000:].assign(runtime=films["runtime"].iloc[2000:] + 60)
    result = _by_column(drift.compare(profile, shifted, **LIMITS))["runtime"]
    reference = profile["columns"]["runtime"]
    values = shifted["runtime"].dropna().to_numpy()
    counts = np.bincount(np.searchsorted(reference["edges"], values, side="left"), minlength=10)
    actual = np.maximum(counts / counts.sum(), drift.EPSILON)
    expected = np.maximum(np.asarray(reference["shares"]), drift.EPSILON)
    assert result["value"] == pytest.approx(float(np.sum((actual - expected) * np.log(actual / expected))),
                                            abs=1e-5)
    assert result["flagged"] and result["value"] > 1


def test_category_list_and_missing_rate_shifts_are_flagged(films: pd.DataFrame, profile: dict) -> None:
    current = films.iloc[2000:].assign(genres="Documentary", original_language="ja",
                                       runtime=np.nan)
    results = _by_column(drift.compare(profile, current, **LIMITS))
    genres = results["genres"]
    assert genres["flagged"] and genres["top_changes"][0]["value"] == "Documentary"
    assert genres["top_changes"][0]["current"] == 1.0
    assert results["original_language"]["flagged"]
    runtime = results["runtime"]
    assert runtime["value"] is None and runtime["missing_flagged"] and runtime["missing_rate"] == 1.0


def test_a_column_missing_from_the_partition_counts_as_all_missing(
    films: pd.DataFrame, profile: dict
) -> None:
    results = _by_column(drift.compare(profile, films.iloc[2000:].drop(columns=["writers"]), **LIMITS))
    assert results["writers"]["missing_rate"] == 1.0 and results["writers"]["missing_flagged"]


def test_few_values_are_reported_but_not_flagged(films: pd.DataFrame, profile: dict) -> None:
    tiny = films.iloc[2000:2010].assign(runtime=500.0)
    runtime = _by_column(drift.compare(profile, tiny, **LIMITS))["runtime"]
    assert runtime["value"] > 1 and not runtime["flagged"] and "fewer than" in runtime["note"]


def test_prediction_drift_uses_the_holdout_reference(profile: dict, films: pd.DataFrame) -> None:
    same = _by_column(drift.compare(profile, films.iloc[:50], predictions=np.linspace(4, 8, 300),
                                    **LIMITS))["prediction"]
    higher = _by_column(drift.compare(profile, films.iloc[:50], predictions=np.full(300, 9.5),
                                      **LIMITS))["prediction"]
    assert same["value"] < 0.05 and not same["flagged"]
    assert higher["flagged"] and math.isfinite(higher["value"])
