"""POST /predict and /predict/batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, status

from tmdb_serve import inference
from tmdb_serve.deps import MetricsDep, ModelDep, SettingsDep
from tmdb_serve.schemas import (
    EXAMPLES,
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    MovieFeatures,
    PredictResponse,
)

router = APIRouter(prefix="/predict", tags=["predict"])

ERRORS = {
    400: {"model": ErrorResponse, "description": "The body could not be read"},
    413: {"model": ErrorResponse, "description": "Body or batch larger than the limit"},
    503: {"model": ErrorResponse, "description": "No model is loaded"},
}

SINGLE_EXAMPLES = {
    f"example{i + 1}": {"summary": example["title"], "value": example}
    for i, example in enumerate(EXAMPLES)
}


@router.post("", response_model=PredictResponse, responses=ERRORS)
async def predict(
    movie: Annotated[MovieFeatures, Body(openapi_examples=SINGLE_EXAMPLES)],
    model: ModelDep,
    metrics: MetricsDep,
) -> PredictResponse:
    """Predict the TMDB rating (0-10) of one film from what is known before its release."""
    return inference.predict_one(model, movie, metrics)


@router.post("/batch", response_model=BatchResponse, responses=ERRORS)
def predict_batch(
    batch: Annotated[
        BatchRequest,
        Body(openapi_examples={"three films": {"value": {"items": EXAMPLES}}}),
    ],
    model: ModelDep,
    metrics: MetricsDep,
    settings: SettingsDep,
) -> BatchResponse:
    """Predict the ratings of up to MAX_BATCH_SIZE films in one call."""
    if len(batch.items) > settings.max_batch_size:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"batch of {len(batch.items)} items is above the limit of "
            f"{settings.max_batch_size} items (MAX_BATCH_SIZE)",
        )
    return inference.predict_many(model, batch.items, metrics)
