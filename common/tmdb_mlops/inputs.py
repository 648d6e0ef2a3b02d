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
from typing import Annotated, Any, Final, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints

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


def to_columns(movies: Sequence[MovieFeatures]) -> dict[str, np.ndarray]:
    """The input columns of many requests: ``to_record``'s cells, a column at a time.

    What ``/predict/batch`` hands the column-wise encoder
    (``batch_features.RawColumns.from_columns``): one record dict per film and
    reading each cell back out of it cost more than encoding them. The cells are
    ``to_record``'s (tested equal), except that the number fields are float arrays
    with NaN for None, which the encoder reads as the same missing value.
    """
    fields = [movie.__dict__ for movie in movies]
    separator = LIST_SEPARATOR.join
    columns: dict[str, np.ndarray] = {}
    for name in _TEXTS:
        columns[name] = _objects([cell[name] for cell in fields])
    columns["overview"] = _objects([cell["overview"] or None for cell in fields])
    columns["release_date"] = _objects([cell["release_date"].isoformat() for cell in fields])
    for name in _LISTS:
        columns[name] = _objects([separator(cell[name]) if cell[name] else None
                                  for cell in fields])
    runtime = [cell["runtime"] for cell in fields]
    columns["runtime"] = np.array([math.nan if v is None else v for v in runtime],
                                  dtype=np.float64)
    budget = [cell["budget"] for cell in fields]
    columns["budget"] = np.array([v or math.nan for v in budget], dtype=np.float64)
    return columns


def _objects(cells: list[Any]) -> np.ndarray:
    array = np.empty(len(cells), dtype=object)
    array[:] = cells
    return array


def input_columns_schema() -> dict[str, Any]:
    """Each input's JSON schema (type, range, pattern, enum): the bundle's ``input_schema``."""
    schema = MovieFeatures.model_json_schema()
    required = set(schema.get("required", []))
    return {name: {**spec, "required": name in required}
            for name, spec in schema["properties"].items()}

