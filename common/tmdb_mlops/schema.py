"""The processed-movie schema: the contract between collector, trainer and server.

A processed partition is a CSV with exactly these columns, in this order.
List-valued fields (genres, countries, cast, writers, companies) are joined
with ``|``. The inference split carries only the pre-release columns: rating
fields of films not yet released are never written, so they cannot leak into
features.

Version history (``SCHEMA_VERSION``, recorded in every partition's manifest):

* 1: the original columns.
* 2: adds ``writers``, ``production_companies`` and ``certification``
  (:data:`ADDED_COLUMNS`). Readers accept a version-1 partition by filling
  these columns as missing (:func:`columns_for` with ``version=1``).
"""

from __future__ import annotations

from typing import Final

SCHEMA_VERSION: Final = 2
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
    "writers": "string",  # screenplay/writer credits joined with "|" (schema 2)
    "production_companies": "string",  # company names joined with "|" (schema 2)
    "certification": "string",  # US certification, e.g. "PG-13" (schema 2)
    "poster_path": "string",
}

#: Columns each schema version added (a partition of an older version lacks them).
ADDED_COLUMNS: Final[dict[int, tuple[str, ...]]] = {
    2: ("writers", "production_companies", "certification"),
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

#: The outcomes split (issue #12): the settled rating of a film that was predicted,
#: fetched from ``/movie/{id}`` once its rating has settled. ``release_date`` is what
#: TMDB says at that time (it may have moved since the prediction).
OUTCOME_COLUMNS: Final[dict[str, str]] = {
    "id": "int64",
    "release_date": "string",
    "vote_average": "float64",
    "vote_count": "int64",
    "popularity": "float64",
}


def columns_for(split: str, *, version: int = SCHEMA_VERSION) -> dict[str, str]:
    """The ordered column -> dtype mapping of one split's processed CSV.

    ``version`` gives the columns a partition written with an older schema
    version holds (the current columns minus those added since).
    """
    if split == "train":
        columns = {**PRE_RELEASE_COLUMNS, **POST_RELEASE_COLUMNS}
    elif split == "inference":
        columns = dict(PRE_RELEASE_COLUMNS)
    elif split == "outcomes":
        return dict(OUTCOME_COLUMNS)
    else:
        raise ValueError(f"unknown split {split!r}")
    if not 1 <= version <= SCHEMA_VERSION:
        raise ValueError(f"unknown schema version {version!r} (this code knows 1..{SCHEMA_VERSION})")
    later = {c for v, added in ADDED_COLUMNS.items() if v > version for c in added}
    return {name: dtype for name, dtype in columns.items() if name not in later}
