"""The processed-movie schema: the contract between collector, trainer and server.

A processed partition is a CSV with exactly these columns, in this order.
List-valued fields (genres, countries, cast) are joined with ``|``. The
inference split carries only the pre-release columns: rating fields of films
not yet released are never written, so they cannot leak into features.
"""

from __future__ import annotations

from typing import Final

SCHEMA_VERSION: Final = 1
LIST_SEPARATOR: Final = "|"

# Column -> pandas dtype. Known before release: the only columns a model may use.
PRE_RELEASE_COLUMNS: Final[dict[str, str]] = {
    "id": "int64",
    "title": "string",
    "original_title": "string",
    "original_language": "string",
    "overview": "string",
    "release_date": "string",  # ISO date, YYYY-MM-DD
    "genres": "string",  # genre names joined with "|"
    "runtime": "float64",  # minutes; empty when unknown
    "budget": "float64",  # USD; empty when unknown (TMDB's 0)
    "production_countries": "string",  # ISO 3166-1 codes joined with "|"
    "director": "string",
    "cast": "string",  # top-billed names joined with "|"
    "poster_path": "string",
}

# Known only after release. Stored in the train split for evaluation and for the
# leakage experiment; never features.
POST_RELEASE_COLUMNS: Final[dict[str, str]] = {
    "vote_average": "float64",
    "vote_count": "int64",
    "popularity": "float64",
    "revenue": "float64",
}

TARGET: Final = "vote_average"


def columns_for(split: str) -> dict[str, str]:
    """The ordered column -> dtype mapping of one split's processed CSV."""
    if split == "train":
        return {**PRE_RELEASE_COLUMNS, **POST_RELEASE_COLUMNS}
    if split == "inference":
        return dict(PRE_RELEASE_COLUMNS)
    raise ValueError(f"unknown split {split!r}")
