"""The results page's data: one page of scored films, the model card and the charts.

The films come from :class:`tmdb_serve.scoring.PartitionScorer` (scored once per
partition and model version); this module only filters, sorts and pages them,
and adds what the template shows beside them: the metrics table, the feature
importance the trainer recorded and the RMSE of every registered version. The
page handler only renders what :meth:`ResultsService.page` returns.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from markupsafe import Markup

from tmdb_mlops.registry import Registry
from tmdb_serve import charts
from tmdb_serve.model_store import ServableModel
from tmdb_serve.scoring import Film, PartitionScorer, PartitionView

log = logging.getLogger(__name__)

SortKey = Literal["prediction", "release_date", "title"]

SORT_KEYS = {
    "prediction": lambda film: film.prediction,
    "release_date": lambda film: film.release_date,
    "title": lambda film: film.title.casefold(),
}


@dataclass
class FilmDetail:
    """One film of the partition: its interval, why the model said it, what it was given."""

    model: ServableModel
    view: PartitionView
    film: Film
    inputs: list[tuple[str, str]]
    explanation: dict[str, Any] | None
    chart: Markup


def _cell(value: Any) -> str:
    """A raw input as the page shows it (lists joined with ", ", missing as "-")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, str):
        return value.replace("|", ", ") or "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return "-" if text in ("<NA>", "nan") else text


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

    walk(metrics, [])
    return rows


def feature_importance(model: ServableModel) -> list[tuple[str, float]]:
    """Gain importance of the served model, as the trainer recorded it in metrics.json."""
    value = model.metrics.get("feature_importance")
    if not isinstance(value, dict):
        return []
    return [(str(k), float(v)) for k, v in value.items()]


def _rmse_of(metrics: dict[str, Any], *names: str) -> float | None:
    for row in metric_rows(metrics):
        if row["name"] in names:
            return float(row["rmse"])
    return None


class ResultsService:
    """One page of the scored films with the model card and charts."""

    def __init__(
        self, *, scorer: PartitionScorer, registry: Registry, refresh_seconds: float = 30.0
    ) -> None:
        self._scorer = scorer
        self._registry = registry
        self._refresh = max(refresh_seconds, 1.0)
        self._versions: tuple[float, Markup] | None = None

    def versions_chart(self) -> Markup:
        """Holdout RMSE of every registered version against the mean baseline."""
        cached = self._versions
        if cached is not None and time.monotonic() - cached[0] < self._refresh:
            return cached[1]
        categories: list[str] = []
        series: dict[str, list[float | None]] = {"model RMSE": [], "mean baseline RMSE": []}
        try:
            versions = self._registry.list_versions()
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
            return self._registry.metrics(version)
        except Exception as exc:  # noqa: BLE001 - one unreadable version must not hide the others
            log.warning("cannot read metrics of %s: %s", version, exc)
            return {}

    def film(self, model: ServableModel | None, film_id: int) -> FilmDetail | None:
        """One film's detail view; None when no model, no partition or no such film."""
        if model is None:
            return None
        try:
            view = self._scorer.view(model)
        except Exception as exc:  # noqa: BLE001 - the store may be down: the page says so
            log.warning("cannot read the inference partition: %s", exc)
            return None
        film = view.film(film_id) if view else None
        if view is None or film is None:
            return None
        record = view.records.get(film_id, {})
        explanation = model.fast.explain(record)
        if explanation is not None:
            explanation = {**explanation,
                           "raw_prediction": explanation["base_value"]
                           + sum(explanation["contributions"].values())}
        chart = charts.contributions(
            list((explanation or {}).get("contributions", {}).items()),
            title=f"Why {film.title}: contribution of each input",
            base=explanation["base_value"] if explanation else None,
        )
        return FilmDetail(model=model, view=view, film=film,
                          inputs=[(name, _cell(value)) for name, value in record.items()],
                          explanation=explanation, chart=chart)

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
            view = self._scorer.view(model)
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
        films = sorted(films, key=SORT_KEYS[sort], reverse=order == "desc")
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
            metric_rows=metric_rows(model.metrics),
            importance_chart=charts.hbar(feature_importance(model), title="Feature importance"),
            versions_chart=self.versions_chart(),
            message=message,
            query=query,
        )
