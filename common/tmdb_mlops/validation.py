"""The processed-CSV schema as one pandera schema: what the collector writes, the trainer reads.

Columns, order and dtypes come from :mod:`tmdb_mlops.schema`; this module adds
the value rules, once. Where the collector's and the trainer's rules used to
differ, the stricter one is kept (docs/architecture.md):

* ``id`` is a positive integer, unique within a partition;
* ``title`` and ``release_date`` (ISO) are required in both splits; the train
  split also requires the rating fields (``vote_average``, ``vote_count``,
  ``popularity``): a settled film without them cannot be a training row;
* amounts (``runtime``, ``budget``, ``revenue``) are positive or missing: TMDB's
  0 means "unknown" and is written as an empty cell;
* ``original_language`` is 1 to 10 characters when present.

The collector validates typed rows before writing (a failing row is rejected
with its reason); the trainer validates each partition as read back from CSV,
with ``coerce=True`` turning its text cells into the dtypes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa

from tmdb_mlops.schema import TARGET, columns_for

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"

CHECKS: dict[str, list[pa.Check]] = {
    "id": [pa.Check.gt(0)],
    "title": [pa.Check.str_length(min_value=1)],
    "original_language": [pa.Check.str_length(1, 10)],
    "release_date": [pa.Check.str_matches(ISO_DATE)],
    "runtime": [pa.Check.gt(0)],
    "budget": [pa.Check.gt(0)],
    TARGET: [pa.Check.in_range(0, 10)],
    "vote_count": [pa.Check.ge(0)],
    "popularity": [pa.Check.ge(0)],
    "revenue": [pa.Check.gt(0)],
}

#: Columns that may not be missing, when the split has them.
REQUIRED: frozenset[str] = frozenset(
    {"id", "title", "release_date", TARGET, "vote_count", "popularity"}
)


def processed_schema(split: str) -> pa.DataFrameSchema:
    """The pandera schema of one split's processed rows."""
    return pa.DataFrameSchema(
        {
            name: pa.Column(
                dtype,
                checks=CHECKS.get(name, []),
                nullable=name not in REQUIRED,
                unique=name == "id",
            )
            for name, dtype in columns_for(split).items()
        },
        strict=True,
        ordered=True,
        coerce=True,
    )


def summarise(failure_cases: pd.DataFrame, *, limit: int = 5) -> str:
    """Schema violations on one line: column, check and an example value, at most ``limit``."""
    distinct = failure_cases.drop_duplicates(["column", "check"]).head(limit)
    return "; ".join(
        f"{row.column}: {row.check} (e.g. {row.failure_case!r})" for row in distinct.itertuples()
    )


def empty_to_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty strings as missing values, as they read back from the CSV (an empty cell)."""
    text: dict[str, Any] = {
        name: frame[name].mask(frame[name] == "")
        for name in frame.columns
        if pd.api.types.is_string_dtype(frame[name])
    }
    return frame.assign(**text) if text else frame
