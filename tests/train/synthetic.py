"""Synthetic-but-realistic processed train partitions for fast tests.

Ratings depend on what the features can see (director, cast, writer and
company quality, certification, genres, year, runtime, language) plus noise,
so a model has something to learn; the post-release columns are correlated with the rating, so a test can
tell whether they leaked into the features.
"""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd

from tmdb_mlops import layout
from tmdb_mlops.partitions import write_partition
from tmdb_mlops.schema import columns_for
from tmdb_mlops.storage import Storage

GENRES = {"Drama": 0.4, "Comedy": -0.2, "Horror": -0.8, "Documentary": 0.7, "Action": -0.3,
          "Animation": 0.3, "Romance": 0.0, "Thriller": -0.1, "Science Fiction": -0.2}
LANGUAGES = {"en": 0.0, "fr": 0.3, "ja": 0.4, "es": 0.1, "de": 0.2, "xx": 0.0}


def synthetic_movies(n: int, *, seed: int = 0, first_id: int = 1) -> pd.DataFrame:
    """``n`` films from 1980 to 2013 with the processed train columns."""
    rng = np.random.default_rng(seed)
    # The schema-2 columns draw from their own stream: the older columns stay as they were.
    extra = np.random.default_rng([seed, 2])
    directors = [f"Director {i}" for i in range(max(n // 8, 5))]
    director_quality = dict(zip(directors, rng.normal(0, 0.9, len(directors)), strict=True))
    actors = [f"Actor {i}" for i in range(max(n // 3, 10))]
    actor_quality = dict(zip(actors, rng.normal(0, 0.5, len(actors)), strict=True))
    writers = [f"Writer {i}" for i in range(max(n // 6, 5))]
    writer_quality = dict(zip(writers, extra.normal(0, 0.5, len(writers)), strict=True))
    companies = [f"Studio {i}" for i in range(12)]
    company_quality = dict(zip(companies, extra.normal(0, 0.3, len(companies)), strict=True))
    certifications = {"": 0.0, "G": 0.2, "PG": 0.0, "PG-13": -0.2, "R": 0.1}
    genre_names = list(GENRES)
    rows = []
    for i in range(n):
        day = date(1980, 1, 1).toordinal() + int(rng.integers(0, 34 * 365))
        released = date.fromordinal(day)
        genres = list(rng.choice(genre_names, size=int(rng.integers(1, 4)), replace=False))
        director = str(rng.choice(directors))
        cast = list(rng.choice(actors, size=int(rng.integers(0, 6)), replace=False))
        credited = list(extra.choice(writers, size=int(extra.integers(0, 3)), replace=False))
        if extra.random() < 0.2:
            credited.insert(0, director)  # the director wrote it too
        studios = list(extra.choice(companies, size=int(extra.integers(0, 3)), replace=False))
        certification = str(extra.choice(list(certifications), p=[0.5, 0.05, 0.15, 0.15, 0.15]))
        language = str(rng.choice(list(LANGUAGES), p=[0.6, 0.1, 0.08, 0.08, 0.08, 0.06]))
        runtime = float(rng.normal(105, 20)) if rng.random() > 0.05 else np.nan
        budget = float(rng.lognormal(16, 1.5)) if rng.random() > 0.6 else np.nan
        score = (
            6.0
            + director_quality[director]
            + (np.mean([actor_quality[a] for a in cast]) if cast else 0.0)
            + (np.mean([writer_quality.get(w, 0.0) for w in credited]) if credited else 0.0)
            + (np.mean([company_quality[c] for c in studios]) if studios else 0.0)
            + certifications[certification]
            + np.mean([GENRES[g] for g in genres])
            + LANGUAGES[language]
            + (0.0 if np.isnan(runtime) else (runtime - 105) / 60)
            - (released.year - 1995) / 40
            + rng.normal(0, 0.6)
        )
        rating = round(float(np.clip(score, 0, 10)), 1)
        votes = int(20 + np.exp(rating / 2) * rng.uniform(1, 3))
        rows.append({
            "id": first_id + i,
            "title": f"Film {first_id + i}" + (" 2" if rng.random() < 0.1 else ""),
            "original_title": f"Film {first_id + i}",
            "original_language": language,
            "overview": "" if rng.random() < 0.3 else "A story " * int(rng.integers(3, 30)),
            "release_date": released.isoformat(),
            "genres": "|".join(genres),
            "runtime": runtime,
            "budget": budget,
            "production_countries": "|".join(rng.choice(["US", "GB", "FR", "DE", "JP"],
                                                        size=int(rng.integers(0, 3)),
                                                        replace=False)),
            "director": director,
            "cast": "|".join(cast),
            "writers": "|".join(credited),
            "production_companies": "|".join(studios),
            "certification": certification,
            "poster_path": f"/p{first_id + i}.jpg",
            "vote_average": rating,
            "vote_count": votes,
            "popularity": votes / 7.0,
            "revenue": float(votes * 1e5),
        })
    frame = pd.DataFrame(rows, columns=list(columns_for("train")))
    return frame.replace({"": np.nan})


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode()


def write_train_partition(storage: Storage, frame: pd.DataFrame, dt: date) -> dict:
    """One processed train partition, written as the collector writes it (manifest last)."""
    return write_partition(
        storage,
        split="train",
        dt=dt,
        files={layout.movies_key("train", dt): csv_bytes(frame)},
        manifest={"rows": len(frame), "source": "synthetic"},
    )


def write_history(storage: Storage, frame: pd.DataFrame, dates: list[date]) -> None:
    """Spread ``frame`` over several partitions, round robin."""
    for k, dt in enumerate(dates):
        write_train_partition(storage, frame.iloc[k :: len(dates)], dt)


def fitted_synthetic(n: int = 700, *, seed: int = 3, model_seed: int = 7, n_estimators: int = 80):
    """A small LightGBM pipeline fitted on the temporal train side of ``n`` synthetic films.

    Returns (pipeline, train, holdout). For the tests of the featurizer and of serving's
    single-row predictor, which need the same fitted state.
    """
    from tmdb_mlops.schema import TARGET
    from tmdb_train.pipeline import build_pipeline
    from tmdb_train.split import temporal_split

    train, holdout = temporal_split(synthetic_movies(n, seed=seed), fraction=0.2)
    pipeline = build_pipeline(seed=model_seed, params={"n_estimators": n_estimators})
    pipeline.fit(train, train[TARGET].to_numpy())
    return pipeline, train, holdout
