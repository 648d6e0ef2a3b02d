"""The raw-input contract: what is known about a film before its release.

One pydantic model, :class:`MovieFeatures`, is the single definition of the
model's inputs, and everything else is derived from it:

* serving's request body (``/predict``, ``/predict/batch``) is this model;
* the featurizer reads exactly its fields (:data:`INPUT_COLUMNS`);
* the bundle's input schema is its JSON schema (:func:`input_columns_schema`);
* :func:`to_record` turns a request into the processed-CSV row the pipeline was
  trained on.

The model is closed (``extra="forbid"``): the prototype accepted a free-form
feature dict, and a stray key in its /docs example made it predict about 21 on
a 0-10 scale. Every field has a range, strings have a length cap, and non-finite
numbers are refused, so bad input ends as a 422, never a 500.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from itertools import repeat
from typing import Annotated, Any, Final, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints
from pydantic_core import SchemaValidator, core_schema

from tmdb_mlops.genres import GENRE_NAMES
from tmdb_mlops.schema import LIST_SEPARATOR

# TMDB's movie genre names: the values the collector writes into ``genres``.
Genre = Literal[GENRE_NAMES]  # type: ignore[valid-type]

# A list item must not contain the separator, or it would split into two values.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^|]+$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
# Strict: JSON true/false or "120" are not numbers (lax mode would read false as 0).
Number = Annotated[float, Strict()]


def _iso_date_text(value: Any) -> Any:
    """Only "YYYY-MM-DD" text is a date here; lax mode would read 0 as 1970-01-01."""
    if not isinstance(value, str | date):
        raise ValueError("must be an ISO date string, YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]

#: The US certifications TMDB lists (``/certification/movie/list``), mildest first; the
#: collector keeps the US theatrical one (``release_dates`` type 3) when it is one of these.
US_CERTIFICATIONS: Final[tuple[str, ...]] = ("G", "PG", "PG-13", "R", "NC-17", "NR")
Certification = Literal[US_CERTIFICATIONS]  # type: ignore[valid-type]
#: Writers and production companies the collector keeps per film (in credit order).
MAX_WRITERS: Final = 5
MAX_COMPANIES: Final = 5
YEAR_RANGE_PATTERN = r"^(187[4-9]|18[89]\d|19\d\d|20\d\d|2100)-\d\d-\d\d$"

EXAMPLES: list[dict[str, Any]] = [
    {
        "title": "The Last Lighthouse",
        "release_date": "2026-03-13",
        "genres": ["Drama", "Mystery"],
        "runtime": 118,
        "original_language": "en",
        "overview": "A keeper on a remote island receives letters from a ship lost decades ago.",
        "budget": 35000000,
        "production_countries": ["GB", "IE"],
        "director": "Joanna Hogg",
        "cast": ["Olivia Colman", "Paul Mescal"],
        "writers": ["Joanna Hogg"],
        "production_companies": ["Film4 Productions", "BBC Film"],
        "certification": "PG-13",
    },
    {
        "title": "Robo Rumble 3",
        "release_date": "2026-07-02",
        "genres": ["Action", "Science Fiction", "Comedy"],
        "runtime": 97,
        "original_language": "en",
        "budget": 150000000,
        "production_countries": ["US"],
        "cast": ["Dwayne Johnson"],
        "production_companies": ["Universal Pictures"],
        "certification": "PG-13",
    },
    {
        "title": "Le Petit Jardin",
        "release_date": "2026-01-21",
        "genres": ["Animation", "Family"],
        "original_language": "fr",
    },
]


class MovieFeatures(BaseModel):
    """What is known about a film before its release; the model's only input."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": EXAMPLES},
    )

    title: str = Field(min_length=1, max_length=300, description="Title in the original release")
    release_date: IsoDate = Field(
        ge=date(1874, 1, 1),
        le=date(2100, 12, 31),
        description="Planned release date (ISO), 1874-01-01 to 2100-12-31",
        # JSON Schema has no date bounds; the pattern states the year range for clients
        # and generators (schemathesis) so the documented schema is what is enforced.
        json_schema_extra={"pattern": YEAR_RANGE_PATTERN},
    )
    genres: list[Genre] = Field(default_factory=list, max_length=len(GENRE_NAMES))
    runtime: Number | None = Field(None, ge=1, le=1000, description="Minutes; omit when unknown")
    original_language: str | None = Field(
        None, pattern=r"^[a-z]{2}$", description="ISO 639-1 code, e.g. 'en'"
    )
    overview: str | None = Field(None, max_length=5000)
    budget: Number | None = Field(
        None, ge=0, le=1e10, description="USD; omit or 0 when unknown (as TMDB)"
    )
    production_countries: list[CountryCode] = Field(
        default_factory=list, max_length=50, description="ISO 3166-1 alpha-2 codes"
    )
    director: str | None = Field(None, min_length=1, max_length=200)
    cast: list[Name] = Field(default_factory=list, max_length=50, description="Top-billed first")
    writers: list[Name] = Field(
        default_factory=list,
        max_length=20,
        description="Screenplay and writer credits (TMDB crew, department Writing), in credit order",
    )
    production_companies: list[Name] = Field(
        default_factory=list, max_length=20, description="In TMDB's order"
    )
    certification: Certification | None = Field(
        None, description="US certification (MPAA); omit when not rated yet"
    )


def _joined(values: list[str]) -> str | None:
    return LIST_SEPARATOR.join(values) if values else None


def to_record(movie: MovieFeatures) -> dict[str, Any]:
    """The processed-CSV row the pipeline was trained on, built from a request.

    Missing values are written as the collector writes them: empty lists and
    unknown numbers become None (an empty CSV cell), a budget of 0 is unknown.
    ``id`` and ``poster_path`` are not features; they are filled for shape only.
    """
    record: dict[str, Any] = {
        "id": 0,
        "title": movie.title,
        "original_title": movie.title,
        "original_language": movie.original_language,
        "overview": movie.overview or None,
        "release_date": movie.release_date.isoformat(),
        "genres": _joined(movie.genres),
        "runtime": movie.runtime,
        "budget": movie.budget or None,
        "production_countries": _joined(movie.production_countries),
        "director": movie.director,
        "cast": _joined(movie.cast),
        "writers": _joined(movie.writers),
        "production_companies": _joined(movie.production_companies),
        "certification": movie.certification,
        "poster_path": None,
    }
    return record


#: The raw columns the featurizer reads: the contract's fields, all pre-release.
INPUT_COLUMNS: Final[tuple[str, ...]] = tuple(MovieFeatures.model_fields)
_LISTS: Final[tuple[str, ...]] = ("genres", "production_countries", "cast", "writers",
                                  "production_companies")
_TEXTS: Final[tuple[str, ...]] = ("title", "original_language", "director", "certification")

#: Validated requests a field at a time: each contract field's values, in request order.
FieldColumns = dict[str, list[Any]]


def field_columns(movies: Sequence[MovieFeatures]) -> FieldColumns:
    """The validated fields of many requests, one list per field."""
    fields = [movie.__dict__ for movie in movies]
    return {name: [cell[name] for cell in fields] for name in INPUT_COLUMNS}


class ColumnValidator:
    """``MovieFeatures``' own validation of many decoded JSON items, one field at a time.

    ``/predict/batch`` receives a thousand films at once. Validating them as a list
    of models builds a model per film, and reading the fields back out of them
    for the column-wise encoder costs as much again; here each field of every item
    is validated in one pydantic-core call, by the very core schema the model
    validates that field with (``MovieFeatures.__pydantic_core_schema__``, its
    config included), so the rules live once, in the model.

    It only ever accepts: ``validate`` returns None for anything it does not take
    as it is (an item that is not an object, an unknown or a missing required
    field, any invalid value, any error at all), and the caller validates the
    request with the model, whose errors are the ones a client sees. Tests hold
    it to the model: whatever it accepts, the model accepts with the same values.

    A model whose fields cannot be validated one at a time is refused here
    (``TypeError``; the caller then always uses the model): a model validator or
    ``model_post_init`` (they see the whole model), a validator that is given the
    other fields (``info.data``), or an alias (the JSON keys are not the names).
    """

    def __init__(self, model: type[BaseModel] = MovieFeatures) -> None:
        schema = model.__pydantic_core_schema__
        fields = schema.get("schema", {})
        if schema.get("type") != "model" or fields.get("type") != "model-fields" \
                or schema.get("post_init") or _has_info_validator(fields) \
                or any(info.alias or info.validation_alias
                       for info in model.model_fields.values()):
            raise TypeError(f"{model.__name__}: its fields cannot be validated one at a time")
        config = schema.get("config")
        self._names = tuple(model.model_fields)
        self._allowed = frozenset(self._names)
        self._defaults = {name: info.get_default(call_default_factory=True)
                          for name, info in model.model_fields.items()
                          if not info.is_required()}
        self._validators = {
            name: SchemaValidator(core_schema.list_schema(field["schema"]), config)
            for name, field in fields["fields"].items()
        }

    def validate(self, items: list[Any]) -> FieldColumns | None:
        """The items' field columns (``field_columns``' shape), or None if any is not valid."""
        if not all(type(item) is dict for item in items) \
                or not all(map(self._allowed.issuperset, items)):
            return None
        columns: FieldColumns = {}
        for name in self._names:
            try:
                if name in self._defaults:  # one shared default object: nothing writes to it
                    values = list(map(dict.get, items, repeat(name), repeat(self._defaults[name])))
                else:  # a required field: a film without it raises KeyError
                    values = list(map(dict.__getitem__, items, repeat(name)))
                columns[name] = self._validators[name].validate_python(values)
            except Exception:  # noqa: BLE001 - any doubt is the model's to settle
                return None
        return columns


def _has_info_validator(schema: Any) -> bool:
    """Whether a core schema holds a function validator that is given the validation info."""
    if isinstance(schema, dict):
        if schema.get("type") == "with-info":
            return True
        return any(_has_info_validator(value) for value in schema.values())
    if isinstance(schema, list | tuple):
        return any(_has_info_validator(value) for value in schema)
    return False


def to_columns(fields: FieldColumns) -> dict[str, np.ndarray]:
    """The encoder's input columns of many validated requests: ``to_record``'s cells.

    What ``/predict/batch`` hands the column-wise encoder
    (``batch_features.RawColumns.from_columns``) instead of a record dict per
    film. The cells are ``to_record``'s (tested equal), except that the number
    fields are float arrays with NaN for None, which the encoder reads as the
    same missing value.
    """
    separator = LIST_SEPARATOR.join
    columns: dict[str, np.ndarray] = {name: _objects(fields[name]) for name in _TEXTS}
    columns["overview"] = _objects([text or None for text in fields["overview"]])
    dates = fields["release_date"]
    # Written once per distinct date: a batch's films share their release dates (Fridays).
    iso = {day: day.isoformat() for day in set(dates)}
    columns["release_date"] = _objects(list(map(iso.__getitem__, dates)))
    for name in _LISTS:
        columns[name] = _objects([separator(items) if items else None for items in fields[name]])
    columns["runtime"] = np.array([math.nan if v is None else v for v in fields["runtime"]],
                                  dtype=np.float64)
    columns["budget"] = np.array([v or math.nan for v in fields["budget"]], dtype=np.float64)
    return columns


def column_records(columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """``to_columns``' cells as one record per film, for the row encoder (small batches).

    An unknown number is NaN here where ``to_record`` writes None; ``cells.number``
    reads both as missing (tested: the same features, bit for bit).
    """
    names = list(columns)
    rows = zip(*(column.tolist() for column in columns.values()), strict=True)
    return [dict(zip(names, row, strict=True)) for row in rows]


def _objects(cells: list[Any]) -> np.ndarray:
    return np.fromiter(cells, dtype=object, count=len(cells))


def input_columns_schema() -> dict[str, Any]:
    """Each input's JSON schema (type, range, pattern, enum): the bundle's ``input_schema``."""
    schema = MovieFeatures.model_json_schema()
    required = set(schema.get("required", []))
    return {name: {**spec, "required": name in required}
            for name, spec in schema["properties"].items()}

