"""POST /predict and /predict/batch.

Both are ``RequestRoute``\\ s (``tmdb_serve.routing``): FastAPI documents them
from ``reads_body`` as if they took a ``MovieFeatures`` / ``BatchRequest`` body
parameter. /predict reads and validates its body in one pydantic-core pass
(``read_json``); /predict/batch decodes its body once and validates each field of
its films column-wise (``read_batch``), falling back to ``BatchRequest`` for
anything it does not accept. Both give the same 422s FastAPI gives.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Body, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect

from tmdb_mlops.inputs import EXAMPLES, ColumnValidator, FieldColumns, MovieFeatures, field_columns
from tmdb_serve import inference
from tmdb_serve.deps import current_predictor
from tmdb_serve.routing import RequestRoute, reads_body
from tmdb_serve.schemas import BatchRequest, BatchResponse, ErrorResponse, PredictResponse

router = APIRouter(prefix="/predict", tags=["predict"], route_class=RequestRoute)

ERRORS = {
    400: {"model": ErrorResponse, "description": "The body could not be read"},
    413: {"model": ErrorResponse, "description": "Body or batch larger than the limit"},
    503: {"model": ErrorResponse, "description": "No model is loaded"},
}

SINGLE_EXAMPLES = {
    f"example{i + 1}": {"summary": example["title"], "value": example}
    for i, example in enumerate(EXAMPLES)
}
BATCH_EXAMPLES = {"three films": {"value": {"items": EXAMPLES}}}

Body_ = TypeVar("Body_", bound=BaseModel)

EXPLAIN = Annotated[bool, Query(description=(
    "Also return the explanation: TreeSHAP contributions of each raw input "
    "(base_value + contributions = the unclamped prediction). TreeSHAP costs about "
    "0.5 ms of server CPU per request; see docs/serving.md."))]
_BOOL = TypeAdapter(bool)


def explain_requested(request: Request) -> bool:
    """``?explain=`` read as FastAPI reads a bool query parameter (422 when it is not one).

    Read from the raw query string only when there is one, so the plain /predict
    path pays nothing for the option.
    """
    query = request.scope.get("query_string", b"")
    if not query:
        return False
    values = [value for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
              if key == "explain"]
    if not values:
        return False
    try:
        return _BOOL.validate_python(values[-1])
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", "explain")} for error in exc.errors()]
        ) from None


def json_response(body: BaseModel, *, exclude: set[str] | None = None) -> Response:
    """The response model serialized by pydantic-core straight to JSON bytes.

    The handlers build their response from typed values, so FastAPI's
    re-validation of the returned object (``response_model`` stays for the
    OpenAPI schema) is skipped: on the single-row path it is a measurable share
    of a request's CPU time.
    """
    return Response(type(body).__pydantic_serializer__.to_json(body, exclude=exclude),
                    media_type="application/json")


def is_json(content_type: str | None) -> bool:
    """FastAPI's rule for parsing a body as JSON: application/json or application/*+json."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_body(request: Request) -> bytes:
    """The whole request body, straight from the ASGI messages.

    What ``Request.body()`` returns, without its async generator: on /predict
    that generator and the ``Headers`` mapping cost about as much as validating
    the body (docs/serving.md).
    """
    chunks: list[bytes] = []
    while True:
        message = await request.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def content_type(request: Request) -> str | None:
    """The Content-Type header from the ASGI scope (names are lower-case there)."""
    for name, value in request.scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1")
    return None


async def read_json_body(request: Request) -> bytes:
    """The request body, refused as FastAPI refuses a JSON body parameter.

    ``RequestValidationError`` (422) for an empty body (missing) or one not
    declared as JSON (not an object), a 400 when the body cannot be read.
    """
    try:
        body = await read_body(request)
    except ClientDisconnect:
        # FastAPI's answer (to nobody) when reading the body fails; not a server error.
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            detail="There was an error parsing the body") from None
    if not body:
        errors = [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        raise RequestValidationError(errors)
    if not is_json(content_type(request)):
        errors = [{"type": "model_attributes_type", "loc": ("body",), "input": body,
                   "msg": "Input should be a valid dictionary or object to extract fields from"}]
        raise RequestValidationError(errors)
    return body


def parse_json(body: bytes, model: type[Body_]) -> Body_:
    """The body parsed and validated by pydantic-core in one pass, errors at ``("body", ...)``.

    FastAPI's own 422 for a body parameter (only invalid-JSON messages are worded
    differently).
    """
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None


async def read_json(request: Request, model: type[Body_]) -> Body_:
    """The request body parsed and validated by pydantic-core in one pass."""
    return parse_json(await read_json_body(request), model)


def _column_validator() -> ColumnValidator | None:
    try:
        return ColumnValidator(MovieFeatures)
    except TypeError:  # fields that cannot be validated one at a time: the model does it all
        return None


#: The films of a batch, validated a field at a time by MovieFeatures' own schemas.
BATCH_FIELDS = _column_validator()


def batch_items(body: bytes) -> list[Any] | None:
    """The decoded ``items`` of a body ``BatchRequest`` takes as it is, else None.

    Its rules, as written in ``BatchRequest`` (a tested tripwire holds the two
    together): an object with ``items`` only, a non-empty list.

    orjson decodes in two thirds of pydantic-core's time. It reads a text as
    pydantic-core does or refuses it (tested), but for two cases no field takes
    (also tested, so the model refuses them as well): an integer beyond 64 bits,
    which it reads as a float, and nesting from 200 to 1,024 levels, which
    pydantic-core refuses.
    """
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:  # NaN, 1e400, invalid JSON: the model's to refuse
        return None
    if type(decoded) is not dict or decoded.keys() != {"items"}:
        return None
    items = decoded["items"]
    return items if type(items) is list and items else None


async def read_batch(request: Request) -> tuple[FieldColumns, int]:
    """A batch's films as field columns, validated column-wise.

    Anything the column-wise validator does not take as it is goes through
    ``BatchRequest`` itself (decoding the body a second time), so an invalid batch
    gets the model's own 422.
    """
    body = await read_json_body(request)
    items = batch_items(body) if BATCH_FIELDS is not None else None
    fields = BATCH_FIELDS.validate(items) if items is not None else None
    if fields is not None:
        return fields, len(items)
    batch = parse_json(body, BatchRequest)
    return field_columns(batch.items), len(batch.items)


@router.post("", response_model=PredictResponse, responses=ERRORS)
@reads_body(Annotated[MovieFeatures, Body(openapi_examples=SINGLE_EXAMPLES)], name="movie",
            query={"explain": (EXPLAIN, False)})
async def predict(request: Request) -> Response:
    """Predict the TMDB rating (0-10) of one film, with its interval and, on request, why."""
    explain = explain_requested(request)
    movie = await read_json(request, MovieFeatures)
    predictor = current_predictor(request)
    result = inference.predict_one(predictor.model, movie, predictor.metrics, explain=explain)
    return json_response(result, exclude=None if explain else {"explanation"})


@router.post("/batch", response_model=BatchResponse, responses=ERRORS)
@reads_body(Annotated[BatchRequest, Body(openapi_examples=BATCH_EXAMPLES)], name="batch")
async def predict_batch(request: Request) -> Response:
    """Predict the ratings of up to MAX_BATCH_SIZE films in one call."""
    fields, n = await read_batch(request)
    limit = request.app.state.settings.max_batch_size
    if n > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"batch of {n} items is above the limit of {limit} items (MAX_BATCH_SIZE)",
        )
    predictor = current_predictor(request)
    # A thousand rows take ~7 ms of CPU: in a worker thread the event loop keeps
    # answering single predictions meanwhile (the GIL switches every 5 ms).
    body = await run_in_threadpool(
        inference.predict_many, predictor.model, fields, n, predictor.metrics
    )
    return Response(body, media_type="application/json")
