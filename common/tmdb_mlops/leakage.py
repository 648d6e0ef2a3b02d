"""The leakage guard: no servable model may read a column unknown before release.

``vote_count``, ``popularity``, ``revenue`` and ``vote_average`` exist only once a
film is out. The featurizer reads them only when built for the leakage
experiment (``post_release_columns``), and :func:`assert_pre_release` refuses
such a pipeline in the two places that matter: where the trainer fits a model
for serving, and where any bundle is loaded. :func:`contract_leaks` states the
invariant of the raw-input contract itself; a test asserts it is empty, rather
than this module raising at import time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tmdb_mlops.errors import LeakageError
from tmdb_mlops.features import featurizer_of
from tmdb_mlops.inputs import INPUT_COLUMNS
from tmdb_mlops.schema import POST_RELEASE_COLUMNS, PRE_RELEASE_COLUMNS

__all__ = ["LeakageError", "assert_pre_release", "contract_leaks", "leaky_columns"]


def leaky_columns(columns: Iterable[str]) -> set[str]:
    """The columns among ``columns`` that are known only after release."""
    return set(columns) & set(POST_RELEASE_COLUMNS)


def contract_leaks() -> set[str]:
    """Raw inputs of the contract that are not pre-release columns (must be empty)."""
    return set(INPUT_COLUMNS) - set(PRE_RELEASE_COLUMNS) | leaky_columns(INPUT_COLUMNS)


def assert_pre_release(pipeline: Any) -> None:
    """Refuse a pipeline that reads any post-release column: it cannot be served."""
    leaky = leaky_columns(featurizer_of(pipeline).input_columns)
    if leaky:
        raise LeakageError(
            f"the pipeline uses post-release columns {sorted(leaky)}; "
            "they are unknown before release and cannot be features of a served model"
        )
