"""The FastAPI application: routers, middleware, and the model's lifecycle.

``create_app`` builds everything from one ``Settings`` object; the lifespan
loads the champion (or the local fallback) and starts the poller, and stops it
on shutdown. Tests pass their own settings and a real registry on a temporary store.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tmdb_mlops import __version__
from tmdb_mlops.config import Settings, get_settings
from tmdb_mlops.registry import Registry
from tmdb_mlops.storage import Storage, storage_from_settings
from tmdb_serve.compiled import default_cache_dir
from tmdb_serve.metrics import MetricsMiddleware, ServiceMetrics
from tmdb_serve.middleware import BodySizeLimitMiddleware
from tmdb_serve.model_store import ModelStore
from tmdb_serve.monitoring import MonitoringService
from tmdb_serve.results import ResultsService
from tmdb_serve.routers import admin, model, monitoring, pages, predict
from tmdb_serve.scoring import PartitionScorer

log = logging.getLogger(__name__)

# Room for a full batch of maximal items (each at most ~16 KiB of JSON) plus slack.
BYTES_PER_ITEM = 16 * 1024
BODY_SLACK = 1024 * 1024


def max_body_bytes(settings: Settings) -> int:
    return BODY_SLACK + settings.max_batch_size * BYTES_PER_ITEM


def freeze_startup_objects() -> None:
    """Leave what start-up created (libraries, the first model) out of the GC's full scans.

    A full collection walked ~160,000 objects, about 80 ms with the event loop
    blocked, every few batch requests (docs/serving.md). Frozen objects are
    still freed by reference counting; only cycles among them are never
    collected, which is why the process entry point does this once and the
    tests, which build many apps in one process, do not.
    """
    gc.collect()
    gc.freeze()


def _hot_routes_first(app: FastAPI) -> None:
    """Move the prediction routes to the front of the router's list.

    Starlette tries routes in order, and FastAPI registers /openapi.json, /docs,
    /docs/oauth2-redirect and /redoc before any of ours: four regex matches per
    prediction, about 3 us of the ~60 us a /predict costs in-process. No other
    route shares their paths, so what matches is unchanged, and so is the OpenAPI
    document (the docs routes are not in it).
    """
    hot = {route.path for route in predict.router.routes}
    app.router.routes.sort(key=lambda route: getattr(route, "path", None) not in hot)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 without echoing the input: it may be huge or hold NaN, which JSON cannot carry."""
    errors = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)


def create_app(
    settings: Settings | None = None,
    *,
    storage: Storage | None = None,
    freeze_gc: bool = False,
) -> FastAPI:
    """Build the service.

    Args:
        settings: defaults to the process settings (environment and ``.env``); the
            registry, the signing key and the local fallback all come from them.
        storage: the store of the registry and the inference partitions (default:
            ``STORAGE_URL``); tests pass one to share it with their own writes.
        freeze_gc: ``freeze_startup_objects`` once the first model is loaded (the server).
    """
    settings = settings or get_settings()
    metrics = ServiceMetrics()
    if storage is None:
        storage = storage_from_settings(settings)
    registry = Registry(storage, signing_key=settings.model_signing_key)
    store = ModelStore(
        registry=registry,
        local_model_dir=settings.local_model_dir,
        signing_key=settings.model_signing_key,
        metrics=metrics,
        poll_seconds=settings.model_poll_seconds,
        compile_cache_dir=(None if not settings.model_compile else
                           Path(settings.model_compile_cache_dir or default_cache_dir())),
    )
    refresh_seconds = settings.model_poll_seconds or 30.0
    results = ResultsService(
        scorer=PartitionScorer(storage=storage, poster_base_url=settings.poster_base_url,
                               refresh_seconds=refresh_seconds),
        registry=registry,
        refresh_seconds=refresh_seconds,
    )
    monitoring_service = MonitoringService(storage=storage, refresh_seconds=refresh_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(store.start)
        if freeze_gc:
            freeze_startup_objects()
        try:
            yield
        finally:
            await run_in_threadpool(store.stop)

    app = FastAPI(
        title="TMDB rating predictor",
        version=__version__,
        description=(
            "Predicts the TMDB rating (vote_average, 0-10) of a film before its release, "
            "with the champion model of the registry. See /results for the upcoming films."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.results = results
    app.state.monitoring = monitoring_service

    app.include_router(predict.router)
    app.include_router(model.router)
    app.include_router(admin.router)
    app.include_router(pages.router)
    app.include_router(monitoring.router)
    _hot_routes_first(app)
    app.mount(
        "/static",
        StaticFiles(directory=Path(__file__).resolve().parent / "static"),
        name="static",
    )

    @app.get("/metrics", tags=["model"], response_class=Response)
    def prometheus_metrics() -> Response:
        """Prometheus metrics: requests, latency, predictions, model version, reloads, monitoring."""
        monitoring_service.update_gauges(metrics)
        return Response(metrics.render(), media_type=metrics.content_type)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/results")

    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes(settings))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def app_factory() -> Any:
    """For ``uvicorn --factory tmdb_serve.main:app_factory``."""
    from tmdb_mlops.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    return create_app(settings, freeze_gc=True)
