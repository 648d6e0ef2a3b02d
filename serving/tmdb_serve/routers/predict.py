"""POST /predict and /predict/batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, status
from fastapi.responses import Response
from pydantic import BaseModel

from tmdb_serve import inference
from tmdb_serve.deps import PredictorDep, SettingsDep
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


def json_response(body: BaseModel) -> Response:
    """The response model serialized by pydantic-core straight to JSON bytes.

    The handlers build their response from typed values, so FastAPI's
    re-validation of the returned object (``response_model`` stays for the
    OpenAPI schema) is skipped: on the single-row path it is a measurable share
    of a request's CPU time.
    """
    return Response(type(body).__pydantic_serializer__.to_json(body),
                    media_type="application/json")


@router.post("", response_model=PredictResponse, responses=ERRORS)
async def predict(
    movie: Annotated[MovieFeatures, Body(openapi_examples=SINGLE_EXAMPLES)],
    predictor: PredictorDep,
) -> Response:
    """Predict the TMDB rating (0-10) of one film from what is known before its release."""
    return json_response(inference.predict_one(predictor.model, movie, predictor.metrics))


@router.post("/batch", response_model=BatchResponse, responses=ERRORS)
def predict_batch(
    batch: Annotated[
        BatchRequest,
        Body(openapi_examples={"three films": {"value": {"items": EXAMPLES}}}),
    ],
    predictor: PredictorDep,
    settings: SettingsDep,
) -> Response:
    """Predict the ratings of up to MAX_BATCH_SIZE films in one call."""
    if len(batch.items) > settings.max_batch_size:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"batch of {len(batch.items)} items is above the limit of "
            f"{settings.max_batch_size} items (MAX_BATCH_SIZE)",
        )
    return json_response(inference.predict_many(predictor.model, batch.items, predictor.metrics))
