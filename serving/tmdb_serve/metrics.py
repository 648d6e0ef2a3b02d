"""Prometheus metrics of one app instance, and the ASGI middleware that records them.

Each app gets its own ``CollectorRegistry`` so several apps (tests, the
benchmark) can live in one process without duplicate-series errors. The
middleware is plain ASGI, not ``BaseHTTPMiddleware``: at thousands of requests
per second a per-request task and stream wrapper would cost more than the
model. Label children are cached so the hot path is a dict lookup, an
increment and an observation.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable
from datetime import UTC, datetime
from datetime import time as time_of_day
from typing import Any

import numpy as np
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from tmdb_mlops.monitor_report import MonitoringReport

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
RATING_BUCKETS = tuple(x / 2 for x in range(1, 21))  # 0.5 .. 10.0


class ServiceMetrics:
    """Every metric the service exports, registered in a private registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tmdb_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tmdb_http_request_duration_seconds",
            "Time from the request to the end of the response, by route and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Histogram(
            "tmdb_prediction_rating",
            "Predicted ratings served (after clamping to 0-10).",
            buckets=RATING_BUCKETS,
            registry=self.registry,
        )
        self.clamped = Counter(
            "tmdb_predictions_clamped_total",
            "Predictions whose raw model output fell outside 0-10.",
            registry=self.registry,
        )
        self.model_info = Gauge(
            "tmdb_model_info",
            "The model being served (value 1), by version and source.",
            ["version", "source"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "tmdb_model_reloads_total",
            "Model reload checks that changed or refused a model, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("reloaded", "refused", "fallback", "error"):
            self.reloads.labels(outcome=outcome)
        self.compiles = Counter(
            "tmdb_model_compiles_total",
            "Background compiles of a served model's trees: compiled (proven equal to "
            "LightGBM's outputs and in use) or failed (LightGBM's own calls keep serving).",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("compiled", "failed"):
            self.compiles.labels(outcome=outcome)
        # The latest monitoring report (issue #12), set by MonitoringService.update_gauges.
        self.realized_rmse = Gauge(
            "tmdb_monitor_realized_rmse",
            "Realized RMSE of each model version on its matured predictions (latest report).",
            ["version"],
            registry=self.registry,
        )
        self.holdout_rmse = Gauge(
            "tmdb_monitor_holdout_rmse",
            "Holdout RMSE of each model version with predictions (its metrics.json).",
            ["version"],
            registry=self.registry,
        )
        self.drift_largest = Gauge(
            "tmdb_monitor_drift_largest",
            "The largest drift statistic of the newest inference partition compared.",
            ["column", "statistic", "dt"],
            registry=self.registry,
        )
        self.drift_largest_ratio = Gauge(
            "tmdb_monitor_drift_largest_ratio",
            "That statistic over its threshold (above 1: drift).",
            registry=self.registry,
        )
        self.estimated_rmse = Gauge(
            "tmdb_monitor_estimated_rmse",
            "Estimated RMSE (direct loss estimation) of the newest predictions partition.",
            ["dt", "version"],
            registry=self.registry,
        )
        self.retrain_requested = Gauge(
            "tmdb_monitor_retrain_requested",
            "1 when the latest report asks for retraining, else 0.",
            registry=self.registry,
        )
        self.report_date = Gauge(
            "tmdb_monitor_report_logical_date_seconds",
            "Logical date of the latest monitoring report (Unix time; 0 without one).",
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._bounds = np.asarray(RATING_BUCKETS)
        self._bound_list = [*RATING_BUCKETS, float("inf")]
        self._latency_bounds = [*LATENCY_BUCKETS, float("inf")]

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = {"method": method, "route": route, "status": str(status)}
            children = (self.requests.labels(**labels), self.latency.labels(**labels))
            self._children[key] = children
        children[0].inc()
        # As Histogram.observe (first bucket whose bound >= the value), by bisection.
        children[1]._buckets[bisect_left(self._latency_bounds, seconds)].inc(1)  # noqa: SLF001
        children[1]._sum.inc(seconds)  # noqa: SLF001

    def observe_prediction(self, value: float, *, clamped: bool) -> None:
        """One prediction: the bucket found by bisection, as ``observe`` would (le bounds)."""
        if clamped:
            self.clamped.inc()
        buckets = self.predictions._buckets  # noqa: SLF001 - see observe_predictions
        buckets[bisect_left(self._bound_list, value)].inc(1)
        self.predictions._sum.inc(value)  # noqa: SLF001

    def observe_predictions(self, values: np.ndarray, *, clamped: int) -> None:
        """Add many predictions to the histogram at once (a batch is one pass, not N calls)."""
        if clamped:
            self.clamped.inc(clamped)
        if values.size == 1:
            self.predictions.observe(float(values[0]))
            return
        # Histogram has no bulk observe; bucket the batch with numpy and add the counts
        # to the same per-bucket values observe() would have incremented.
        index = np.searchsorted(self._bounds, values, side="left")
        counts = np.bincount(index, minlength=len(self._bounds) + 1)
        buckets = self.predictions._buckets  # noqa: SLF001 - stable prometheus-client internals
        for position, count in enumerate(counts):
            if count:
                buckets[position].inc(int(count))
        self.predictions._sum.inc(float(values.sum()))  # noqa: SLF001

    def set_model(self, *, version: str | None, source: str | None) -> None:
        self.model_info.clear()
        if version is not None:
            self.model_info.labels(version=version, source=source or "unknown").set(1)

    def set_monitoring(self, report: MonitoringReport | None) -> None:
        """The gauges of the latest monitoring report (cleared when there is none)."""
        for gauge in (self.realized_rmse, self.holdout_rmse, self.drift_largest, self.estimated_rmse):
            gauge.clear()
        self.retrain_requested.set(0)
        self.drift_largest_ratio.set(0)
        self.report_date.set(0)
        if report is None:
            return
        self.report_date.set(datetime.combine(report.date, time_of_day(0), tzinfo=UTC).timestamp())
        self.retrain_requested.set(1 if report.trigger.retrain else 0)
        for quality in report.versions:
            if quality.realized is not None and quality.realized.rmse is not None:
                self.realized_rmse.labels(version=quality.version).set(quality.realized.rmse)
            if quality.holdout_rmse is not None:
                self.holdout_rmse.labels(version=quality.version).set(quality.holdout_rmse)
        largest = report.drift.largest
        if largest is not None:
            self.drift_largest.labels(column=largest.column, statistic=largest.statistic,
                                      dt=largest.dt).set(largest.value)
            self.drift_largest_ratio.set(largest.value / largest.threshold)
        estimated = [p for p in report.partitions if p.estimated_rmse is not None]
        if estimated:
            newest = max(estimated, key=lambda p: (p.dt, p.version == report.champion, p.version))
            self.estimated_rmse.labels(dt=newest.dt, version=newest.version).set(newest.estimated_rmse)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (bounded cardinality)."""

    def __init__(self, app: Any, *, metrics: ServiceMetrics, skip: Iterable[str] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.skip = frozenset(skip)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.skip:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(
                scope["method"], template, status, time.perf_counter() - start
            )
