"""GET /model, /health and /ready."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tmdb_serve.deps import ModelDep, StoreDep
from tmdb_serve.schemas import ErrorResponse, Health, ModelCard, Readiness

router = APIRouter(tags=["model"])


def model_card(model: ModelDep) -> ModelCard:
    loaded = model.loaded
    return ModelCard(
        version=loaded.version,
        source=model.source,
        serving_instead_of=model.instead_of,
        created_at=loaded.created_at,
        as_of=loaded.as_of,
        metrics=loaded.metrics,
        input_schema=loaded.input_schema,
        feature_names=loaded.feature_names,
        interval=model.interval_summary,
        prediction_path="compiled" if model.fast.compiled else "lightgbm",
    )


@router.get(
    "/model",
    response_model=ModelCard,
    responses={503: {"model": ErrorResponse, "description": "No model is loaded"}},
)
def get_model_card(model: ModelDep) -> ModelCard:
    """The model being served: version, source, dates, metrics against baselines, input schema."""
    return model_card(model)


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process answers."""
    return Health()


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "No model is loaded"}},
)
async def ready(store: StoreDep) -> Readiness | JSONResponse:
    """Readiness: a model is loaded and predictions can be served."""
    model = store.current
    if model is None:
        return JSONResponse(Readiness(ready=False).model_dump(), status_code=503)
    return Readiness(
        ready=True,
        model_version=model.version,
        model_source=model.source,  # type: ignore[arg-type]
        serving_instead_of=model.instead_of,
    )
