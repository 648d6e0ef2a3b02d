"""The results page's data: upcoming films, their predictions, the model card, charts.

Predictions for the latest inference partition are computed once per
(partition, model version) and cached, so a page view costs a lookup and a
slice, not a model run. Posters are URLs built from the partition's
``poster_path``; nothing here calls the TMDB API. The page handler only renders
what :meth:`ResultsService.page` returns.
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from markupsafe import Markup

from tmdb_mlops import layout
from tmdb_mlops.partitions import list_partitions, read_manifest, read_verified
from tmdb_mlops.schema import LIST_SEPARATOR, columns_for
from tmdb_mlops.storage import Storage
from tmdb_serve import charts
from tmdb_serve.inference import clamp
from tmdb_serve.model_store import ServableModel

log = logging.getLogger(__name__)

SortKey = Literal["prediction", "release_date", "title"]


@dataclass(frozen=True)
class Film:
    title: str
    release_date: str
    genres: list[str]
    prediction: float
    clamped: bool
    poster_url: str | None
    director: str
    original_language: str
    runtime: float | None


@dataclass
class PartitionView:
    """One inference partition scored by one model version (the cached unit)."""

    dt: date
    model_version: str
    films: list[Film]
    histogram: Markup
    genres: list[str]
    months: list[str]


@dataclass
class ResultsPage:
    model: ServableModel | None
    view: PartitionView | None
    films: list[Film]
    total: int
    page: int
    pages: int
    metric_rows: list[dict[str, Any]]
    importance_chart: Markup
    versions_chart: Markup
    message: str = ""
    query: dict[str, Any] = field(default_factory=dict)


def _text(value: Any) -> str:
    """A CSV cell as text; missing (None, NaN, pd.NA) is empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def metric_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Every sub-dict with an RMSE, as one table row named by its path (model, baselines)."""
    rows: list[dict[str, Any]] = []

    def walk(node: Any, path: list[str]) -> None:
        if not isinstance(node, dict):
            return
        if "rmse" in node and isinstance(node["rmse"], int | float):
            rows.append({
                "name": " / ".join(path) or "model",
                "rmse": node.get("rmse"),
                "mae": node.get("mae"),
                "r2": node.get("r2"),
            })
            return
        for key, child in node.items():
            walk(child, [*path, str(key)])

    walk(metrics or {}, [])
    return rows


def feature_importance(model: ServableModel) -> list[tuple[str, float]]:
    """Gain importance of the served model, as the trainer recorded it in metrics.json."""
    value = (model.metrics or {}).get("feature_importance")
    if not isinstance(value, dict):
        return []
    return [(str(k), float(v)) for k, v in value.items()]


def _rmse_of(metrics: dict[str, Any], *names: str) -> float | None:
    for row in metric_rows(metrics):
        if row["name"] in names:
            return float(row["rmse"])
    return None


class ResultsService:
    """Scores the latest inference partition per model version and serves page slices."""

    def __init__(
        self,
        *,
        storage: Storage | None,
        registry: Any,
        poster_base_url: str,
        refresh_seconds: float = 30.0,
    ) -> None:
        self._storage = storage
        self._registry = registry
        self._poster_base = poster_base_url.rstrip("/")
        self._refresh = max(refresh_seconds, 1.0)
        self._lock = threading.Lock()
        self._view: PartitionView | None = None
        self._view_key: tuple[date, str, str] | None = None
        self._latest: tuple[float, date | None, dict | None] = (0.0, None, None)
        self._versions: tuple[float, Markup] | None = None

    # -- data ---------------------------------------------------------------
    def _latest_partition(self) -> tuple[date | None, dict | None]:
        """The newest complete inference partition, looked up at most every refresh period."""
        checked_at, dt, manifest = self._latest
        if time.monotonic() - checked_at < self._refresh:
            return dt, manifest
        dt, manifest = None, None
        if self._storage is not None:
            dates = list_partitions(self._storage, split="inference")
            if dates:
                dt = dates[-1]
                manifest = read_manifest(self._storage, split="inference", dt=dt)
        self._latest = (time.monotonic(), dt, manifest)
        return dt, manifest

    def _poster(self, path: str) -> str | None:
        return f"{self._poster_base}/{path.lstrip('/')}" if path else None

    def _score(self, model: ServableModel, dt: date, manifest: dict) -> PartitionView:
        assert self._storage is not None
        data = read_verified(self._storage, layout.movies_key("inference", dt), manifest)
        frame = pd.read_csv(io.BytesIO(data), dtype=columns_for("inference"))
        values, clamped = clamp(model.predict_frame(frame) if len(frame) else np.empty(0))
        films = []
        for (_, row), value, flag in zip(frame.iterrows(), values, clamped, strict=True):
            runtime = row["runtime"]
            films.append(Film(
                title=_text(row["title"]),
                release_date=_text(row["release_date"]),
                genres=[g for g in _text(row["genres"]).split(LIST_SEPARATOR) if g],
                prediction=round(float(value), 2),
                clamped=bool(flag),
                poster_url=self._poster(_text(row["poster_path"])),
                director=_text(row["director"]),
                original_language=_text(row["original_language"]),
                runtime=None if pd.isna(runtime) else float(runtime),
            ))
        return PartitionView(
            dt=dt,
            model_version=model.version,
            films=films,
            histogram=charts.histogram(values, title=f"Predicted ratings, {len(films)} films"),
            genres=sorted({g for film in films for g in film.genres}),
            months=sorted({film.release_date[:7] for film in films if film.release_date}),
        )

    def view(self, model: ServableModel) -> PartitionView | None:
        """The scored partition for this model, computed once per (partition, version)."""
        with self._lock:
            dt, manifest = self._latest_partition()
            if dt is None or manifest is None:
                return None
            digest = str(manifest.get("files", {}).get(layout.movies_key("inference", dt), {}))
            key = (dt, digest, model.version)
            if self._view_key != key:
                started = time.perf_counter()
                self._view = self._score(model, dt, manifest)
                self._view_key = key
                log.info(
                    "scored inference partition %s with model %s: %d films in %.2fs",
                    dt, model.version, len(self._view.films), time.perf_counter() - started,
                )
            return self._view

    def versions_chart(self) -> Markup:
        """Holdout RMSE of every registered version against the mean baseline."""
        cached = self._versions
        if cached is not None and time.monotonic() - cached[0] < self._refresh:
            return cached[1]
        categories: list[str] = []
        series: dict[str, list[float | None]] = {"model RMSE": [], "mean baseline RMSE": []}
        try:
            versions = self._registry.list_versions() if self._registry is not None else []
        except Exception as exc:  # noqa: BLE001 - the chart is decoration; the page still renders
            log.warning("cannot list model versions: %s", exc)
            versions = []
        for version in versions[-12:]:
            metrics = self._metrics_of(version)
            categories.append(version)
            series["model RMSE"].append(_rmse_of(metrics, "model"))
            series["mean baseline RMSE"].append(_rmse_of(metrics, "baselines / global_mean"))
        chart = charts.grouped_bars(categories, series, title="Holdout RMSE by model version")
        self._versions = (time.monotonic(), chart)
        return chart

    def _metrics_of(self, version: str) -> dict[str, Any]:
        try:
            return dict(self._registry.metrics(version))
        except Exception as exc:  # noqa: BLE001 - one unreadable version must not hide the others
            log.warning("cannot read metrics of %s: %s", version, exc)
            return {}

    # -- page ---------------------------------------------------------------
    def page(
        self,
        model: ServableModel | None,
        *,
        sort: SortKey = "prediction",
        order: Literal["asc", "desc"] = "desc",
        genre: str | None = None,
        month: str | None = None,
        page: int = 1,
        per_page: int = 25,
    ) -> ResultsPage:
        """One page of films, filtered and sorted, with the model card and charts."""
        query = {"sort": sort, "order": order, "genre": genre or "", "month": month or "",
                 "per_page": per_page}
        if model is None:
            return ResultsPage(model=None, view=None, films=[], total=0, page=1, pages=1,
                               metric_rows=[], importance_chart=charts.hbar([], title=""),
                               versions_chart=self.versions_chart(),
                               message="No model is loaded yet.", query=query)
        message = ""
        try:
            view = self.view(model)
        except Exception as exc:  # noqa: BLE001 - the store may be down; the card still shows
            log.warning("cannot read the inference partition: %s", exc)
            view, message = None, f"The inference data cannot be read right now ({exc})."
        films = view.films if view else []
        if view is None and not message:
            message = "No inference partition has been collected yet."
        if genre:
            films = [f for f in films if genre in f.genres]
        if month:
            films = [f for f in films if f.release_date.startswith(month)]
        keys = {
            "prediction": lambda f: f.prediction,
            "release_date": lambda f: f.release_date,
            "title": lambda f: f.title.casefold(),
        }
        films = sorted(films, key=keys[sort], reverse=order == "desc")
        total = len(films)
        pages = max(1, math.ceil(total / per_page))
        page = min(page, pages)
        start = (page - 1) * per_page
        return ResultsPage(
            model=model,
            view=view,
            films=films[start : start + per_page],
            total=total,
            page=page,
            pages=pages,
            metric_rows=metric_rows(model.metrics or {}),
            importance_chart=charts.hbar(feature_importance(model), title="Feature importance"),
            versions_chart=self.versions_chart(),
            message=message,
            query=query,
        )
