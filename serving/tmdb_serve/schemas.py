"""Request and response schemas of the prediction service, kept apart from logic.

A film in a request is the shared raw-input contract itself,
:class:`tmdb_mlops.inputs.MovieFeatures` (typed, closed, ranged), so what the
API accepts and what the model was trained on cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tmdb_mlops.inputs import EXAMPLES, MovieFeatures

#: registry: the champion; fallback: an earlier verified champion, served because the
#: current one cannot be verified; local: the LOCAL_MODEL_DIR bundle (registry unreachable).
ModelSource = Literal["registry", "fallback", "local"]


class Interval(BaseModel):
    """The calibrated prediction interval of one film (issue #13), clipped to 0-10."""

    low: float = Field(description="Lower bound of the rating, 0-10")
    high: float = Field(description="Upper bound of the rating, 0-10")
    coverage: float = Field(
        description="Nominal coverage: the share of films whose rating falls inside their "
        "interval (measured on later holdout films: see /model's interval)"
    )


class Explanation(BaseModel):
    """Why the model said it: TreeSHAP contributions summed per raw input (issue #13)."""

    base_value: float = Field(description="The model's expected output over its training data")
    contributions: dict[str, float] = Field(
        description="Each raw input's additive contribution; base_value + their sum = "
        "raw_prediction"
    )
    raw_prediction: float = Field(description="The model's output before clamping to 0-10")


class Prediction(BaseModel):
    """One predicted rating."""

    prediction: float = Field(description="Predicted TMDB vote_average, clamped to 0-10")
    clamped: bool = Field(description="True when the raw model output was outside 0-10")
    interval: Interval | None = Field(
        None, description="Calibrated interval; null for a model trained without one"
    )


class PredictResponse(Prediction):
    """A prediction and the model that made it (and, with ``explain=true``, why)."""

    model_config = ConfigDict(
        protected_namespaces=(),
        json_schema_extra={"examples": [{
            "prediction": 6.42, "clamped": False,
            "interval": {"low": 5.61, "high": 7.18, "coverage": 0.8},
            "model_version": "20260301T020000000Z-1a2b3c", "model_source": "registry",
            "explanation": {
                "base_value": 6.31, "raw_prediction": 6.42,
                "contributions": {"director": 0.21, "cast": 0.12, "genres": -0.09,
                                  "runtime": 0.05, "budget": -0.18},
            },
        }]},
    )

    model_version: str
    model_source: ModelSource
    explanation: Explanation | None = Field(
        None, description="Only with explain=true (omitted otherwise); null for a model "
        "TreeSHAP cannot explain"
    )


class BatchRequest(BaseModel):
    """Several films at once; the size limit is MAX_BATCH_SIZE (413 above it)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"items": EXAMPLES}]}
    )

    items: list[MovieFeatures] = Field(min_length=1)


class BatchResponse(BaseModel):
    """Predictions in the order of the request's items."""

    model_config = ConfigDict(
        protected_namespaces=(),
        json_schema_extra={"examples": [{
            "predictions": [
                {"prediction": 6.42, "clamped": False,
                 "interval": {"low": 5.61, "high": 7.18, "coverage": 0.8}},
                {"prediction": 5.87, "clamped": False,
                 "interval": {"low": 4.95, "high": 6.74, "coverage": 0.8}},
            ],
            "model_version": "20260301T020000000Z-1a2b3c", "model_source": "registry",
        }]},
    )

    predictions: list[Prediction]
    model_version: str
    model_source: ModelSource


#: The pages and documents about the serving model, linked from /model.
MODEL_CARD_LINKS: dict[str, str] = {
    "results": "/results",
    "monitoring": "/monitoring",
    "monitoring_json": "/monitoring.json",
}


class ModelCard(BaseModel):
    """The serving model: identity, provenance, quality against baselines, input schema."""

    model_config = ConfigDict(protected_namespaces=())

    version: str
    source: ModelSource
    serving_instead_of: str | None = Field(
        None, description="With source=fallback: the champion that could not be verified"
    )
    created_at: str | None = None
    as_of: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    input_schema: dict[str, Any] = Field(default_factory=dict)
    feature_names: list[str] = Field(default_factory=list)
    interval: dict[str, Any] | None = Field(
        None, description="The interval's nominal and measured coverage and mean width "
        "(metrics.json's interval); null for a model trained without one"
    )
    prediction_path: Literal["compiled", "lightgbm"] = Field(
        "lightgbm", description="How the trees are evaluated: LightGBM's own prediction calls, "
        "or the same trees compiled to native code (lleaves), used once their outputs were "
        "proven equal to LightGBM's bit for bit"
    )
    links: dict[str, str] = Field(
        default_factory=lambda: dict(MODEL_CARD_LINKS),
        description="Where to see the model at work: its predictions and their monitoring",
    )


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    ready: bool
    model_version: str | None = None
    model_source: ModelSource | None = None
    serving_instead_of: str | None = None


class ReloadResult(BaseModel):
    """What a forced reload check did."""

    model_config = ConfigDict(protected_namespaces=())

    outcome: Literal["reloaded", "unchanged", "refused", "error"]
    model_version: str | None = None
    model_source: ModelSource | None = None
    detail: str = ""


class ErrorResponse(BaseModel):
    detail: Any
