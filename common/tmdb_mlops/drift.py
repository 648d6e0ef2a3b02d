"""Data drift: a reference profile of the training data, and how far a new partition is from it.

The trainer profiles the data a version is trained on (:func:`build_profile`)
and stores the profile in the bundle's metadata.json; the monitor compares each
inference partition since with it (:func:`compare`). Both sides use this module,
so the bins, the statistics and their names are defined once.

Every raw input of the model (``tmdb_mlops.inputs.INPUT_COLUMNS``) is profiled,
each by the kind of value it holds (:func:`column_kinds`, derived from the
input contract's JSON schema, so a new input is covered without an edit here):

* **number** (runtime, budget): the population-stability index (PSI) over the
  reference's deciles: bins fixed from the training data, so a partition is
  measured against the same edges every day;
* **text_length** (title, overview): the PSI of the text's length in characters;
* **weekday** (release_date): the change in the share of each release weekday.
  Month and year are shifted by construction (an inference partition covers the
  next 180 days, every one of them later than the training data), so they would
  always be "drift";
* **category** (original_language, director, certification): the change in the
  share of each of the reference's most frequent values, and of all other values;
* **list** (genres, countries, cast, writers, companies): the change in the share
  of rows holding each of the reference's most frequent values, and of rows
  holding any other value.

The statistic of a categorical column is the largest absolute change in a share
(a partition of all documentaries moves the Documentary share by ~0.9). Each
column also reports the change in its missing rate. The prediction is profiled
like a number, from the holdout's predictions (what the model gives on films it
has not seen). Every figure is rounded to 6 decimals, so a profile is stable JSON.

Why not evidently or nannyml: see docs/monitoring.md. The statistics are a few
vectorised pandas/numpy passes, linear in the rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from tmdb_mlops.inputs import INPUT_COLUMNS, input_columns_schema
from tmdb_mlops.schema import LIST_SEPARATOR

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PROFILE_FORMAT: Final = 1
NUMBER, TEXT_LENGTH, WEEKDAY, CATEGORY, LIST = "number", "text_length", "weekday", "category", "list"
#: Free text: compared by length (the words themselves never repeat between films).
TEXT_COLUMNS: Final = frozenset({"title", "overview"})
#: The reference keeps this many values per categorical column; the rest is ``OTHER``.
TOP_VALUES: Final = 20
OTHER: Final = "(other)"
#: Quantiles of the reference that bound the PSI bins (deciles).
QUANTILES: Final = tuple(q / 10 for q in range(1, 10))
#: A share of 0 would make the PSI infinite; shares are floored at this.
EPSILON: Final = 1e-4
#: Below this many values (rows with the column present, for the statistic; rows, for
#: the missing rate) a statistic is reported but never flagged: the PSI of ten films
#: says nothing.
MIN_ROWS: Final = 30
PREDICTION: Final = "prediction"


def column_kinds() -> dict[str, str]:
    """Each raw input column's kind, from the input contract's JSON schema."""
    kinds: dict[str, str] = {}
    for name, spec in input_columns_schema().items():
        variants = spec.get("anyOf", [spec])
        types = {variant.get("type") for variant in variants}
        formats = {variant.get("format") for variant in variants}
        if types & {"number", "integer"}:
            kinds[name] = NUMBER
        elif "date" in formats:
            kinds[name] = WEEKDAY
        elif "array" in types:
            kinds[name] = LIST
        elif name in TEXT_COLUMNS:
            kinds[name] = TEXT_LENGTH
        else:
            kinds[name] = CATEGORY
    return kinds


def _r(value: float) -> float:
    return round(float(value), 6)


def _text(series: pd.Series) -> pd.Series:
    """A column as text with missing values (None, NaN, "") as <NA>."""
    text = series.astype("string")
    return text.mask(text.str.strip() == "")


def _numbers(series: pd.Series, kind: str) -> pd.Series:
    import pandas as pd

    if kind == TEXT_LENGTH:
        return _text(series).str.len().astype("Float64")
    return pd.to_numeric(series, errors="coerce").astype("Float64")


def _edges(values: np.ndarray) -> list[float]:
    import numpy as np

    if values.size == 0:
        return []
    return sorted({_r(q) for q in np.quantile(values, QUANTILES)})


def _bin_shares(values: np.ndarray, edges: list[float], *, rounded: bool = True) -> list[float]:
    """Shares of values in the bins (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    import numpy as np

    if values.size == 0:
        return []
    index = np.searchsorted(np.asarray(edges, dtype=float), values, side="left")
    counts = np.bincount(index, minlength=len(edges) + 1)
    return [_r(c / values.size) if rounded else float(c / values.size) for c in counts]


WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _weekdays(series: pd.Series) -> pd.Series:
    import pandas as pd

    days = pd.to_datetime(_text(series), errors="coerce", format="%Y-%m-%d")
    names = days.dt.weekday.map(dict(enumerate(WEEKDAYS)))
    return names.astype("string").mask(days.isna())


def _category_shares(values: pd.Series, keys: list[str] | None) -> dict[str, float]:
    """Shares of the non-missing values: of ``keys`` (and OTHER), or of the top values."""
    present = values.dropna()
    if present.empty:
        return {}
    counts = present.value_counts(sort=False)
    if keys is None:
        keys = _top_keys(counts.index.to_numpy(dtype=object), counts.to_numpy())
    total = float(len(present))
    shares = {key: _r(counts.get(key, 0) / total) for key in keys}
    shares[OTHER] = _r(1.0 - sum(counts.get(key, 0) for key in keys) / total)
    return shares


def _top_keys(values: np.ndarray, counts: np.ndarray) -> list[str]:
    """The ``TOP_VALUES`` most frequent values, ties by name.

    Only the candidates at or above the ``TOP_VALUES``-th count are sorted in
    Python: a million films have about as many directors and cast names.
    """
    import numpy as np

    floor = np.partition(counts, -TOP_VALUES)[-TOP_VALUES] if len(counts) > TOP_VALUES else 0
    candidates = np.flatnonzero(counts >= floor)
    ranked = sorted((-int(counts[i]), str(values[i])) for i in candidates)
    return [name for _, name in ranked[:TOP_VALUES]]


def _list_shares(values: pd.Series, keys: list[str] | None) -> dict[str, float]:
    """Share of the rows with a list holding each value (and any value outside ``keys``).

    Items are split and stripped as the featurizer's ``split_list`` does, a value
    counted once per row. Vectorised (one join and split, then integer codes),
    because the training side of a million films holds millions of cast items and
    the profile is built at every training run (issue #15).
    """
    import numpy as np
    import pandas as pd

    present = values.dropna()
    if present.empty:
        return {}
    cells = present.tolist()
    per_cell = np.fromiter((cell.count(LIST_SEPARATOR) + 1 for cell in cells), dtype=np.int64,
                           count=len(cells))
    names = np.array([item.strip() for item in LIST_SEPARATOR.join(cells).split(LIST_SEPARATOR)],
                     dtype=object)
    rows = np.repeat(np.arange(len(cells), dtype=np.int64), per_cell)
    keep = names != ""
    codes, uniques = pd.factorize(names[keep])
    # One (row, value) pair per value a row holds, however often the row repeats it.
    pairs = pd.unique(rows[keep] * max(len(uniques), 1) + codes)  # hashed: no sort
    pair_rows, pair_codes = np.divmod(pairs, max(len(uniques), 1))
    counts = np.bincount(pair_codes, minlength=len(uniques))
    if keys is None:
        keys = _top_keys(np.asarray(uniques, dtype=object), counts)
    total = float(len(present))
    position = pd.Index(uniques).get_indexer(keys) if len(uniques) else np.full(len(keys), -1)
    shares = {key: _r((counts[i] if i >= 0 else 0) / total)
              for key, i in zip(keys, position.tolist(), strict=True)}
    inside = np.zeros(len(uniques) + 1, dtype=bool)
    inside[position[position >= 0]] = True
    outside = pd.unique(pair_rows[~inside[pair_codes]]).size
    shares[OTHER] = _r(outside / total)
    return shares


def _profile_column(series: pd.Series, kind: str) -> dict[str, Any]:
    import numpy as np

    rows = len(series)
    if kind in (NUMBER, TEXT_LENGTH):
        numbers = _numbers(series, kind)
        present = numbers.dropna().to_numpy(dtype=float)
        edges = _edges(present)
        profile: dict[str, Any] = {"edges": edges, "shares": _bin_shares(present, edges)}
        if present.size:
            profile["mean"] = _r(np.mean(present))
        missing = rows - present.size
    else:
        values = _weekdays(series) if kind == WEEKDAY else _text(series)
        shares = (_list_shares if kind == LIST else _category_shares)(values, None)
        profile = {"shares": shares}
        missing = int(values.isna().sum())
    return {"kind": kind, "missing_rate": _r(missing / rows) if rows else 0.0, **profile}


def build_profile(
    frame: pd.DataFrame,
    *,
    predictions: np.ndarray | None = None,
    target_mean: float | None = None,
) -> dict[str, Any]:
    """The reference profile of the data a version was trained on (JSON-ready).

    Args:
        frame: the training rows (raw processed columns).
        predictions: the version's predictions on its holdout: the reference of the
            prediction's own drift.
        target_mean: the training mean rating: the global-mean baseline the monitor
            scores on matured films beside the model.
    """
    import pandas as pd

    kinds = column_kinds()
    columns = {
        name: _profile_column(frame[name] if name in frame.columns
                              else pd.Series([None] * len(frame), dtype="object"), kind)
        for name, kind in kinds.items()
    }
    profile: dict[str, Any] = {"format": PROFILE_FORMAT, "rows": len(frame), "columns": columns}
    if predictions is not None:
        profile[PREDICTION] = _profile_column(pd.Series(predictions, dtype="float64"), NUMBER)
        profile["prediction_rows"] = len(predictions)
    if target_mean is not None:
        profile["target_mean"] = _r(target_mean)
    return profile


def psi(reference: list[float], current: list[float]) -> float:
    """Population-stability index of two share vectors over the same bins."""
    total = 0.0
    for expected, actual in zip(reference, current, strict=True):
        e, a = max(expected, EPSILON), max(actual, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def _compare_column(
    name: str,
    reference: Mapping[str, Any],
    series: pd.Series,
    *,
    thresholds: Mapping[str, float],
) -> dict[str, Any]:
    kind = str(reference["kind"])
    rows = len(series)
    result: dict[str, Any] = {"column": name, "kind": kind, "rows": rows}
    if kind in (NUMBER, TEXT_LENGTH):
        present = _numbers(series, kind).dropna().to_numpy(dtype=float)
        missing = rows - present.size
        compared = present.size
        statistic, threshold = "psi", thresholds["psi"]
        ref_shares = list(reference.get("shares", []))
        value = None
        if ref_shares and present.size:
            current = _bin_shares(present, list(reference["edges"]), rounded=False)
            value = _r(psi(ref_shares, current))
        changes: list[dict[str, Any]] = []
    else:
        values = _weekdays(series) if kind == WEEKDAY else _text(series)
        missing = int(values.isna().sum())
        compared = rows - missing
        statistic, threshold = "share_change", thresholds["share"]
        ref = dict(reference.get("shares", {}))
        keys = [k for k in ref if k != OTHER]
        cur = (_list_shares if kind == LIST else _category_shares)(values, keys)
        value, changes = None, []
        if ref and cur:
            diffs = sorted(((_r(cur.get(k, 0.0) - ref.get(k, 0.0)), k) for k in ref),
                           key=lambda d: (-abs(d[0]), d[1]))
            value = abs(diffs[0][0])
            changes = [{"value": k, "reference": ref.get(k, 0.0), "current": cur.get(k, 0.0),
                        "change": d} for d, k in diffs[:3]]
    missing_rate = _r(missing / rows) if rows else 0.0
    missing_change = _r(missing_rate - float(reference.get("missing_rate", 0.0)))
    flagged = compared >= MIN_ROWS and value is not None and value > threshold
    missing_flagged = rows >= MIN_ROWS and abs(missing_change) > thresholds["missing"]
    result.update(
        statistic=statistic,
        value=value,
        threshold=threshold,
        flagged=bool(flagged),
        missing_rate_reference=float(reference.get("missing_rate", 0.0)),
        missing_rate=missing_rate,
        missing_change=missing_change,
        missing_threshold=thresholds["missing"],
        missing_flagged=bool(missing_flagged),
        top_changes=changes,
    )
    if value is None:
        result["note"] = "no values to compare"
    elif compared < MIN_ROWS:
        result["note"] = f"{compared} values, fewer than {MIN_ROWS}: reported, not flagged"
    return result


def compare(
    profile: Mapping[str, Any],
    frame: pd.DataFrame,
    *,
    predictions: np.ndarray | pd.Series | None = None,
    psi_threshold: float,
    share_threshold: float,
    missing_threshold: float,
) -> list[dict[str, Any]]:
    """Each profiled column of ``frame`` (and the predictions) against the reference.

    Returns:
        One dict per column (then ``prediction``): the statistic and its value, the
        threshold, whether it is flagged, the missing-rate change and the largest
        share changes. A column the frame lacks counts as all missing.
    """
    import pandas as pd

    thresholds = {"psi": psi_threshold, "share": share_threshold, "missing": missing_threshold}
    results = []
    profiled = dict(profile.get("columns", {}))  # stored JSON: keys sorted; report in input order
    order = [name for name in INPUT_COLUMNS if name in profiled]
    order += sorted(set(profiled) - set(order))
    for name in order:
        reference = profiled[name]
        series = (frame[name] if name in frame.columns
                  else pd.Series([None] * len(frame), dtype="object"))
        results.append(_compare_column(name, reference, series, thresholds=thresholds))
    if predictions is not None and PREDICTION in profile:
        series = pd.Series(predictions, dtype="float64")
        results.append(_compare_column(PREDICTION, profile[PREDICTION], series,
                                       thresholds=thresholds))
    return results
