"""Dependency aliases for the routers, as in the FastAPI template.

Everything a handler needs hangs off ``app.state`` (built by ``create_app``),
so tests override it by building an app with other settings or another store.
The providers are ``async def`` on purpose: FastAPI runs a plain ``def``
dependency in its thread pool, and two thread hops per request cost more than
the model's prediction (measured: 990 vs several thousand requests/s).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

from fastapi import Depends, HTTPException, Request, status

from tmdb_mlops.config import Settings
from tmdb_serve.metrics import ServiceMetrics
from tmdb_serve.model_store import ModelStore, ServableModel
from tmdb_serve.monitoring import MonitoringService
from tmdb_serve.results import ResultsService

NO_MODEL = (
    "no model is loaded: the registry has no usable champion and no local bundle is "
    "configured (LOCAL_MODEL_DIR); see GET /ready"
)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> ModelStore:
    return request.app.state.store


async def get_results(request: Request) -> ResultsService:
    return request.app.state.results


async def get_monitoring(request: Request) -> MonitoringService:
    return request.app.state.monitoring


class Predictor(NamedTuple):
    """The model for one request (read once) and the metrics its predictions go to."""

    model: ServableModel
    metrics: ServiceMetrics


def current_predictor(request: Request) -> Predictor:
    """The model (read once) and the metrics, for a handler that takes ``request`` itself.

    One ``app.state`` lookup, not two: Starlette's ``State`` answers each through
    ``__getattr__`` after a failed normal lookup, ~0.4 us each on the hot path.
    """
    store: ModelStore = request.app.state.store
    model = store.current
    if model is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=NO_MODEL)
    return Predictor(model, store.metrics)


async def get_model(request: Request) -> ServableModel:
    """The model for this request, read once: a concurrent swap cannot change it midway."""
    return current_predictor(request).model


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ModelStore, Depends(get_store)]
ModelDep = Annotated[ServableModel, Depends(get_model)]
ResultsDep = Annotated[ResultsService, Depends(get_results)]
MonitoringDep = Annotated[MonitoringService, Depends(get_monitoring)]
