"""The upcoming films scored by the served model: once per (partition, model version).

The newest complete inference partition is looked up at most once per refresh
period, read through its manifest (sha256-checked), scored in one
``predict_frame`` call and cached, so a page view costs a lookup, not a model
run. Posters are URLs built from the partition's ``poster_path``; nothing here
calls the TMDB API.

One source of predictions (issue #12): when ``tmdb-mlops predict`` has written
``predictions/dt=D/model=V/`` for this partition's exact content (its manifest
names the partition's sha256) and the served version, the page shows those
stored predictions, the ones the monitor scores later; it scores the partition
itself only when they do not exist.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from tmdb_mlops import layout, predictions
from tmdb_mlops.inputs import INPUT_COLUMNS
from tmdb_mlops.partitions import list_partitions, read_manifest, read_processed_frame
from tmdb_mlops.schema import LIST_SEPARATOR
from tmdb_mlops.storage import Storage
from tmdb_serve import charts
from tmdb_serve.inference import clamp
from tmdb_serve.model_store import ServableModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Film:
    id: int
    title: str
    release_date: str
    genres: list[str]
    prediction: float
    clamped: bool
    poster_url: str | None
    director: str
    original_language: str
    runtime: float | None
    #: The calibrated interval (issue #13), None for a version without one.
    interval_low: float | None = None
    interval_high: float | None = None


@dataclass
class PartitionView:
    """One inference partition scored by one model version (the cached unit).

    The histogram of its predictions is drawn here, once, because it depends
    on nothing but the scores.
    """

    dt: date
    model_version: str
    films: list[Film]
    histogram: Markup
    genres: list[str]
    months: list[str]
    #: Where the predictions come from: the stored predictions file, or this server.
    source: str = "scored by the server"
    #: Each film's raw inputs (the partition's row), by id: the detail view shows them
    #: and explains the prediction from them.
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: The nominal coverage of the intervals shown (None: the version has none).
    coverage: float | None = None

    def film(self, film_id: int) -> Film | None:
        return next((film for film in self.films if film.id == film_id), None)


def _text(value: Any) -> str:
    """A CSV cell as text; missing (None, NaN, pd.NA) is empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


class PartitionScorer:
    """Scores the latest inference partition with a model and keeps the result."""

    def __init__(
        self, *, storage: Storage, poster_base_url: str, refresh_seconds: float = 30.0
    ) -> None:
        self._storage = storage
        self._poster_base = poster_base_url.rstrip("/")
        self._refresh = max(refresh_seconds, 1.0)
        self._lock = threading.Lock()
        self._view: PartitionView | None = None
        self._view_key: tuple[date, str, str] | None = None
        self._latest: tuple[float, date | None, dict | None] = (0.0, None, None)
        self._stored: dict[tuple[date, str], tuple[float, dict | None]] = {}

    def _latest_partition(self) -> tuple[date | None, dict | None]:
        """The newest complete inference partition, looked up at most every refresh period."""
        checked_at, dt, manifest = self._latest
        if time.monotonic() - checked_at < self._refresh:
            return dt, manifest
        dt, manifest = None, None
        dates = list_partitions(self._storage, split="inference")
        if dates:
            dt = dates[-1]
            manifest = read_manifest(self._storage, split="inference", dt=dt)
        self._latest = (time.monotonic(), dt, manifest)
        return dt, manifest

    def _stored_manifest(self, dt: date, version: str) -> dict | None:
        """The predictions manifest of (dt, version), looked up at most every refresh period."""
        checked = self._stored.get((dt, version))
        if checked is not None and time.monotonic() - checked[0] < self._refresh:
            return checked[1]
        manifest = predictions.read_manifest(self._storage, dt, version)
        self._stored = {(dt, version): (time.monotonic(), manifest)}
        return manifest

    def _stored_values(
        self, frame: pd.DataFrame, dt: date, version: str, manifest: dict
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The stored predictions (and intervals) of these rows, when made on exactly this partition."""
        stored = self._stored_manifest(dt, version)
        movies = manifest.get("files", {}).get(layout.movies_key("inference", dt), {}).get("sha256")
        if stored is None or stored.get("source", {}).get("movies_sha256") != movies:
            return None
        rows = predictions.read_predictions(self._storage, dt, version, stored)
        if rows is None:
            return None
        by_id = rows.set_index("id")
        if not set(frame["id"].tolist()) <= set(by_id.index.tolist()):
            return None
        chosen = by_id.loc[frame["id"].to_numpy()]
        return (chosen["prediction"].to_numpy(dtype=float), chosen["clamped"].to_numpy() == 1,
                chosen["interval_low"].to_numpy(dtype=float),
                chosen["interval_high"].to_numpy(dtype=float))

    def _poster(self, path: str) -> str | None:
        return f"{self._poster_base}/{path.lstrip('/')}" if path else None

    def _score(self, model: ServableModel, dt: date, manifest: dict) -> PartitionView:
        frame = read_processed_frame(self._storage, split="inference", dt=dt, manifest=manifest)
        stored = self._stored_values(frame, dt, model.version, manifest)
        missing = np.full(len(frame), np.nan)
        if stored is not None:
            values, clamped, low, high = stored
            source = f"stored: {layout.predictions_prefix(dt, model.version)}/"
        else:
            raw, low_found, high_found = (model.predict_frame_with_intervals(frame) if len(frame)
                                          else (np.empty(0), None, None))
            values, clamped = clamp(raw)
            low = missing if low_found is None else low_found
            high = missing if high_found is None else high_found
            source = "scored by the server (no stored predictions for this partition and version)"
        films = []
        records: dict[int, dict[str, Any]] = {}
        rows = zip(frame.iterrows(), values, clamped, low, high, strict=True)
        for (_, row), value, flag, lo, hi in rows:
            runtime = row["runtime"]
            film_id = int(row["id"])
            records[film_id] = {column: row.get(column) for column in INPUT_COLUMNS}
            films.append(Film(
                id=film_id,
                title=_text(row["title"]),
                release_date=_text(row["release_date"]),
                genres=[g for g in _text(row["genres"]).split(LIST_SEPARATOR) if g],
                prediction=round(float(value), 2),
                clamped=bool(flag),
                poster_url=self._poster(_text(row["poster_path"])),
                director=_text(row["director"]),
                original_language=_text(row["original_language"]),
                runtime=None if pd.isna(runtime) else float(runtime),
                interval_low=None if np.isnan(lo) else round(float(lo), 2),
                interval_high=None if np.isnan(hi) else round(float(hi), 2),
            ))
        return PartitionView(
            dt=dt,
            model_version=model.version,
            films=films,
            histogram=charts.histogram(values, title=f"Predicted ratings, {len(films)} films"),
            genres=sorted({g for film in films for g in film.genres}),
            months=sorted({film.release_date[:7] for film in films if film.release_date}),
            source=source,
            records=records,
            coverage=model.fast.coverage,
        )

    def view(self, model: ServableModel) -> PartitionView | None:
        """The scored partition for this model, computed once per (partition, version).

        Returns None when no inference partition has been collected yet.

        Raises:
            StorageError: the store cannot be read (the page says so and still renders).
        """
        with self._lock:
            dt, manifest = self._latest_partition()
            if dt is None or manifest is None:
                return None
            digest = str(manifest.get("files", {}).get(layout.movies_key("inference", dt), {}))
            stored = self._stored_manifest(dt, model.version)
            key = (dt, digest + str((stored or {}).get("files")), model.version)
            if self._view_key != key:
                started = time.perf_counter()
                self._view = self._score(model, dt, manifest)
                self._view_key = key
                log.info(
                    "scored inference partition %s with model %s: %d films in %.2fs",
                    dt, model.version, len(self._view.films), time.perf_counter() - started,
                )
            return self._view
