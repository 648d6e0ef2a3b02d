"""Fixtures for the trainer's tests: synthetic partition histories in a store."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.train.synthetic import synthetic_movies, write_history
from tmdb_mlops.config import Settings, load_settings
from tmdb_mlops.storage import Storage, open_storage

AS_OF = date(2014, 3, 1)
DATES = [AS_OF - timedelta(days=k) for k in (3, 2, 1, 0)]


@pytest.fixture(scope="session")
def movies() -> pd.DataFrame:
    return synthetic_movies(1200, seed=21)


@pytest.fixture
def store(tmp_path: Path, movies: pd.DataFrame) -> Storage:
    storage = open_storage(str(tmp_path / "store"))
    write_history(storage, movies, DATES)
    return storage


def settings_for(storage: Storage, **overrides: object) -> Settings:
    return load_settings(storage_url=storage.url, **overrides)
