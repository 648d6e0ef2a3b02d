"""POST /predict and /predict/batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from tmdb_serve import inference
from tmdb_serve.deps import PredictorDep, SettingsDep, current_predictor
from tmdb_serve.routing import RequestRoute
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


# /predict's request body as FastAPI documents a ``MovieFeatures`` body parameter
# (the handler reads the body itself, see ``predict``): the OpenAPI document is unchanged.
SINGLE_BODY_DOC = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/MovieFeatures"},
            "examples": SINGLE_EXAMPLES,
        }
    },
}
# The 422 FastAPI documents by itself for a route with parameters.
VALIDATION_ERROR_DOC = {
    422: {
        "description": "Validation Error",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        },
    }
}


def is_json(content_type: str | None) -> bool:
    """FastAPI's rule for parsing a body as JSON: application/json or application/*+json."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def read_movie(body: bytes, content_type: str | None) -> MovieFeatures:
    """The request body parsed and validated by pydantic-core in one pass.

    The 422s are FastAPI's own ``RequestValidationError`` with the same
    ``("body", ...)`` locations and the same refusals a ``MovieFeatures`` body
    parameter gives: an empty body is missing, a body that is not declared as
    JSON is not an object (only invalid-JSON messages are worded differently).
    """
    if not body:
        errors = [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        raise RequestValidationError(errors)
    if not is_json(content_type):
        errors = [{"type": "model_attributes_type", "loc": ("body",), "input": body,
                   "msg": "Input should be a valid dictionary or object to extract fields from"}]
        raise RequestValidationError(errors)
    try:
        return MovieFeatures.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None


async def predict(request: Request) -> Response:
    """Predict the TMDB rating (0-10) of one film from what is known before its release."""
    # Why no ``movie: MovieFeatures`` parameter and no ``Depends``: on this hot path
    # FastAPI's body handling (json.loads, then validating the dict) and its
    # per-request machinery cost more CPU than the model (docs/serving.md); one
    # ``model_validate_json`` call does the same checks, and ``RequestRoute`` calls
    # this function directly while FastAPI still documents it from the route below.
    movie = read_movie(await request.body(), request.headers.get("content-type"))
    predictor = current_predictor(request)
    return json_response(inference.predict_one(predictor.model, movie, predictor.metrics))


router.add_api_route(
    "", predict, methods=["POST"], response_model=PredictResponse,
    responses={**ERRORS, **VALIDATION_ERROR_DOC}, openapi_extra={"requestBody": SINGLE_BODY_DOC},
    route_class_override=RequestRoute,
)


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
