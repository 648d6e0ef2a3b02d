"""The column-wise twin of ``MovieFeaturizer._encode``: many raw rows to the feature matrix.

``_encode`` turns one record into one row of features in pure Python; it is what
serving's single-row predictor calls (~10 us a row). Training, ``pipeline.predict``
on a frame, batch serving and batch scoring encode thousands to a million rows,
where a Python loop per row costs minutes. This module computes the same
features a column at a time, with numpy and pandas, and is what
``MovieFeaturizer.transform`` and ``fit_transform`` run.

Two implementations of one contract: ``tests/common/test_batch_encoder.py``
asserts that both give bit-identical features (and predictions) on the whole
holdout and on randomised and hostile records (hypothesis). How exactness is kept:

* **Cells are read by the same helpers.** A column is first reduced to clean
  per-cell values with :mod:`tmdb_mlops.cells`' rules: missing cells are those
  ``Series.isna`` finds, which is ``cells.is_missing`` cell by cell; a column
  whose present cells are not all ``str`` (lists, numbers, dates, odd objects)
  goes through the cell helpers one cell at a time. Only plain-``str`` and
  numeric columns take the vectorised paths below.
* **Low-cardinality columns are computed once per distinct value** (dates,
  languages, certifications, genres, countries, runtimes, budgets) with the
  scalar code (``math.log1p``, ``date.fromisoformat``), then gathered by the
  value's code; numpy's own ``log1p`` may differ from the C library's by an ulp.
* **Arithmetic is elementwise IEEE** (+, -, *, / and comparisons, which numpy and
  Python round identically), and sums keep ``_encode``'s order: ``np.bincount``
  with weights adds in array order, and items are laid out by row, then by their
  rank in the row, so a pooled sum is the same left-to-right sum of floats.
* **Target statistics per fold are summed, never subtracted**: the out-of-fold
  statistics of fold ``k`` are a bincount over the other folds' rows, in row
  order, as ``cells.target_stats`` adds them.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

try:
    from pandas._libs.hashtable import Int64HashTable as _Int64Table
    from pandas._libs.hashtable import PyObjectHashTable as _HashTable
except ImportError:  # pragma: no cover - the public equivalent, a little slower

    class _HashTable:  # type: ignore[no-redef]
        def __init__(self, size: int) -> None:
            self._index: pd.Index | None = None

        def map_locations(self, names: np.ndarray) -> None:
            self._index = pd.Index(names, dtype=object)

        def lookup(self, names: np.ndarray) -> np.ndarray:
            return self._index.get_indexer(names)

    _Int64Table = _HashTable  # type: ignore[misc,assignment]

from tmdb_mlops.cells import Stats, number, parse_date, split_list, text
from tmdb_mlops.schema import LIST_SEPARATOR

if TYPE_CHECKING:
    from tmdb_mlops.features import MovieFeaturizer

_NAN = math.nan


# --- raw columns -----------------------------------------------------------------------------


class Cells:
    """One raw column: object values (None where missing), and what is known about them."""

    __slots__ = ("_values", "_make_values", "missing", "all_str", "floats")

    def __init__(self, values: np.ndarray | None, missing: np.ndarray, *, all_str: bool,
                 floats: np.ndarray | None = None,
                 make_values: Callable[[], np.ndarray] | None = None) -> None:
        self._values = values
        self._make_values = make_values
        self.missing = missing  # bool per row
        self.all_str = all_str  # every present cell is a str (the vectorised text paths)
        self.floats = floats  # float64 (NaN where missing) for numeric dtypes

    @property
    def values(self) -> np.ndarray:
        """Object values, None where missing (built on first use for numeric columns)."""
        if self._values is None:
            values = self._make_values()
            self._values = np.where(self.missing, None, values) if self.missing.any() else values
        return self._values

    @property
    def present(self) -> np.ndarray:
        return np.flatnonzero(~self.missing)


def _object_cells(values: np.ndarray, missing: np.ndarray) -> Cells:
    values = np.where(missing, None, values) if missing.any() else values
    kind = pd.api.types.infer_dtype(values, skipna=True)
    return Cells(values, missing, all_str=kind in ("string", "empty"))


def _str_cells(values: np.ndarray) -> Cells:
    """An object column known to hold only str or None: no per-cell type scan."""
    return Cells(values, np.equal(values, None), all_str=True)


def _series_cells(series: pd.Series) -> Cells:
    """A DataFrame column as the featurizer's record path sees it (``astype(object)``)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):  # str or None only
        return _str_cells(series.to_numpy(dtype=object, na_value=None))
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        floats = series.to_numpy(dtype=np.float64)
        missing = np.isnan(floats) if dtype.kind == "f" else np.zeros(len(floats), dtype=bool)
        return Cells(None, missing, all_str=False, floats=floats,
                     make_values=lambda: np.asarray(series.astype(object), dtype=object))
    return _object_cells(np.asarray(series.astype(object), dtype=object),
                         series.isna().to_numpy(dtype=bool))


def _sequence_cells(values: Sequence[Any] | np.ndarray) -> Cells:
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":  # a number column (NaN where missing): the fast path
            floats = values.astype(np.float64, copy=False)
            return Cells(None, np.isnan(floats), all_str=False, floats=floats,
                         make_values=lambda: floats.astype(object))
        array = values.astype(object, copy=False)
    else:
        array = np.fromiter(values, dtype=object, count=len(values))
    return _object_cells(array, pd.isna(array))


class RawColumns:
    """The raw input columns of a batch, read once each (a frame, records or column lists)."""

    def __init__(self, n: int, getter: Callable[[str], Cells | None]) -> None:
        self.n = n
        self._getter = getter
        self._cache: dict[str, Cells] = {}
        self.names: NameColumns | None = None  # set by fitting, reused by its encoding

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> RawColumns:
        columns = set(frame.columns)
        return cls(len(frame),
                   lambda name: _series_cells(frame[name]) if name in columns else None)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> RawColumns:
        return cls(len(records),
                   lambda name: _sequence_cells([record.get(name) for record in records]))

    @classmethod
    def from_columns(cls, columns: Mapping[str, Sequence[Any]], n: int, *,
                     str_or_none: bool = False) -> RawColumns:
        """Columns of ``n`` cells each: lists or arrays; an absent column is missing.

        What ``tmdb_mlops.inputs.to_columns`` builds from validated requests: a float
        array is a number column (NaN where missing) and skips the per-cell reading
        that object columns need. ``str_or_none`` says its object arrays hold only str
        or None, as ``to_columns`` guarantees, so their cells are not scanned for types
        (a third of a millisecond of /predict/batch's 1,000 films).
        """
        def cells(name: str) -> Cells | None:
            if name not in columns:
                return None
            values = columns[name]
            if str_or_none and isinstance(values, np.ndarray) and values.dtype == object:
                return _str_cells(values)
            return _sequence_cells(values)

        return cls(n, cells)

    @classmethod
    def of(cls, X: Any) -> RawColumns:
        if isinstance(X, RawColumns):
            return X
        if isinstance(X, list):
            return cls.from_records(X)
        return cls.from_frame(X)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, name: str) -> Cells:
        cells = self._cache.get(name)
        if cells is None:
            cells = self._getter(name)
            if cells is None:  # an absent column: every cell missing
                cells = Cells(np.full(self.n, None, dtype=object),
                              np.ones(self.n, dtype=bool), all_str=True)
            self._cache[name] = cells
        return cells


# --- per-value helpers -------------------------------------------------------------------------


def per_value(cells: Cells, fn: Callable[[Any], Any], width: int) -> np.ndarray:
    """``fn(cell)`` for every row as an (n, width) float array, once per distinct str value.

    Missing cells get ``fn(None)``. Columns that are not all ``str`` call ``fn`` per
    present cell: pandas would merge hash-equal values of other types (1, 1.0, True).
    """
    if cells.all_str:  # str or None: a missing cell's code is -1, the table's last row
        codes, uniques = pd.factorize(cells.values)
        table = np.array([*map(fn, uniques.tolist()), fn(None)], dtype=np.float64)
        return table.reshape(-1, width)[codes]
    n = len(cells.values)
    out = np.empty((n, width), dtype=np.float64)
    out[:] = fn(None)
    present = cells.present
    if len(present):
        out[present] = np.array([fn(v) for v in cells.values[present].tolist()],
                                dtype=np.float64).reshape(-1, width)
    return out


def log1p_exact(values: np.ndarray) -> np.ndarray:
    """``math.log1p`` of each value, computed once per distinct value (the scalar path's)."""
    values = np.asarray(values, dtype=np.float64)
    if not values.size:
        return values.copy()
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    table = np.array([math.log1p(u) if u == u else _NAN for u in uniques.tolist()],
                     dtype=np.float64)
    result = table[codes]
    zeros = values == 0  # log1p(-0.0) is -0.0, and factorize merged -0.0 with 0.0
    result[zeros] = values[zeros]
    return result


def numbers(cells: Cells) -> np.ndarray:
    """``cells.number`` of every cell."""
    if cells.floats is not None:
        floats = cells.floats
        return np.where(np.isfinite(floats), floats, _NAN)
    return per_value(cells, number, 1)[:, 0]


def texts(cells: Cells) -> list[str]:
    """``cells.text`` of every cell."""
    if cells.all_str:
        return ["" if v is None else v.strip() for v in cells.values.tolist()]
    return [text(v) for v in cells.values.tolist()]


# --- list columns ------------------------------------------------------------------------------


@dataclass
class Items:
    """The items of a list column, laid out by row then rank: ``split_list(cell)[:top_k]``."""

    rows: np.ndarray  # int64, ascending
    names: np.ndarray  # object (str)
    counts: np.ndarray  # int64 per row: len(split_list(cell)[:top_k])


def items_of(cells: Cells, top_k: int | None = None) -> Items:
    n = len(cells.values)
    present = cells.present
    if cells.all_str:
        strings = cells.values[present].tolist()
        joined = LIST_SEPARATOR.join(strings)
        parts = joined.split(LIST_SEPARATOR) if strings else []
        per_cell = np.fromiter(map(str.count, strings, repeat(LIST_SEPARATOR)),
                               dtype=np.int64, count=len(strings)) + 1
        rows = np.repeat(present, per_cell)
        parts = list(map(str.strip, parts))
        keep = (np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)) > 0
                if "" in parts else None)  # the usual case: no empty item to drop
        names = np.array(parts, dtype=object) if parts else np.empty(0, dtype=object)
        if keep is not None:
            rows, names = rows[keep], names[keep]
    else:
        row_list: list[int] = []
        name_list: list[str] = []
        for row, value in zip(present.tolist(), cells.values[present].tolist(), strict=True):
            found = split_list(value)
            row_list.extend([row] * len(found))
            name_list.extend(found)
        rows = np.asarray(row_list, dtype=np.int64)
        names = np.array(name_list, dtype=object) if name_list else np.empty(0, dtype=object)
    counts = np.bincount(rows, minlength=n).astype(np.int64)
    if top_k is not None and len(rows):
        offsets = np.cumsum(counts) - counts
        rank = np.arange(len(rows)) - offsets[rows]
        kept = rank < top_k
        if not kept.all():
            rows, names = rows[kept], names[kept]
            counts = np.minimum(counts, top_k)
    return Items(rows=rows.astype(np.int64, copy=False), names=names, counts=counts)


def director_items(cells: Cells) -> Items:
    """The director as a one-item list (none when the cleaned name is empty)."""
    names = texts(cells)
    array = np.array(names, dtype=object) if names else np.empty(0, dtype=object)
    rows = np.flatnonzero(np.fromiter(map(len, names), dtype=np.int64, count=len(names)) > 0)
    return Items(rows=rows, names=array[rows],
                 counts=np.bincount(rows, minlength=len(names)).astype(np.int64))


def multi_hot(cells: Cells, positions: Mapping[str, int], width: int) -> np.ndarray:
    """Multi-hot counts of a list column's items (the last of ``width`` columns for every
    other value), then their number: ``width + 1`` columns.

    Genres and countries come in few distinct combinations, so this is computed once
    per distinct cell by the scalar rule (``cells.split_list``, as ``_encode``).
    """

    def slot(value: Any) -> tuple[float, ...]:
        row = [0.0] * (width + 1)
        found = split_list(value)
        for name in found:
            row[positions.get(name, width - 1)] += 1.0
        row[width] = float(len(found))
        return tuple(row)

    return per_value(cells, slot, width + 1)


def one_hot(cells: Cells, positions: Mapping[str, int], width: int) -> np.ndarray:
    """One-hot of a text value: known values, then other (``width - 2``), then missing."""

    def slot(value: Any) -> tuple[float, ...]:
        row = [0.0] * width
        code = text(value)
        row[positions.get(code, width - 2) if code else width - 1] = 1.0
        return tuple(row)

    return per_value(cells, slot, width)


# --- target statistics -------------------------------------------------------------------------


#: From this many names a statistics table is looked up by the names' hashes
#: (``_HashedNames``); smaller tables by the names themselves. Measured on the model
#: trained on 1,000,000 films (1.6 million cast names): the name table's lookups took
#: ~4.5 ms of a 1,000-film ``pipeline.predict``, the hashed one about half that; on
#: the sandbox model's small tables, which stay in the cache, hashing only adds work.
HASHED_FROM = 50_000


class _ObjectNames:
    """Name -> position by pandas' object hash table: a C lookup per name."""

    def __init__(self, names: np.ndarray) -> None:
        self._table = _HashTable(max(len(names), 1))
        self._table.map_locations(names)

    def lookup(self, names: np.ndarray) -> np.ndarray:
        return self._table.lookup(names)


class _HashedNames:
    """Name -> position for large tables: the name's hash first, then the name itself.

    A large object table misses the cache on every probe, because comparing keys
    means reading each stored ``str``; here the probes compare integers (Python's
    own ``hash`` of the name, which a ``str`` caches), and only the one candidate
    a hash finds is compared with the name, so a collision can never pass for a
    known name: the lookup stays exact. Built in the process that uses it (string
    hashes are salted per process), never pickled.
    """

    def __init__(self, names: np.ndarray) -> None:
        hashes = _hashes(names)
        if len(np.unique(hashes)) != len(hashes):  # two names, one hash: use the names
            raise ValueError("colliding name hashes")
        self._table = _Int64Table(len(hashes))
        self._table.map_locations(hashes)
        self._names = names

    def lookup(self, names: np.ndarray) -> np.ndarray:
        position = self._table.lookup(_hashes(names))
        found = np.flatnonzero(position >= 0)
        same = self._names[position[found]] == names[found]
        position[found[~same]] = -1
        return position


def _hashes(names: np.ndarray) -> np.ndarray:
    return np.fromiter(map(hash, names.tolist()), dtype=np.int64, count=len(names))


class StatTable:
    """Name statistics as arrays, for vectorised lookups (a fitted featurizer's derived cache)."""

    __slots__ = ("names", "sums", "counts", "_index")

    def __init__(self, names: Sequence[str], sums: np.ndarray, counts: np.ndarray) -> None:
        self.names = list(names)
        self.sums = sums  # float64, one more than the names: the last is an unknown name's 0.0
        self.counts = counts  # int64, likewise 0
        self._index: _ObjectNames | _HashedNames | None = None

    @classmethod
    def of(cls, stats: Stats) -> StatTable:
        values = list(stats.values())
        sums = np.fromiter((s for s, _ in values), dtype=np.float64, count=len(values))
        counts = np.fromiter((c for _, c in values), dtype=np.int64, count=len(values))
        return cls(list(stats), np.append(sums, 0.0), np.append(counts, 0))

    def lookup(self, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sum, count) of each name; an unknown name gets (0.0, 0)."""
        if not len(names):
            return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64)
        position = self.index().lookup(np.asarray(names, dtype=object))  # -1: the zeros
        return self.sums[position], self.counts[position]

    def index(self) -> _ObjectNames | _HashedNames:
        """The name index, built on first use (two threads may both build one: same result)."""
        index = self._index
        if index is None:
            index = self._index = self._build_index()
        return index

    def _build_index(self) -> _ObjectNames | _HashedNames:
        names = np.asarray(self.names, dtype=object)
        if len(names) >= HASHED_FROM:
            with contextlib.suppress(ValueError):
                return _HashedNames(names)
        return _ObjectNames(names)


def sum_stats(codes: np.ndarray, targets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per name code: the sum of its rows' targets (added in row order) and their count."""
    return (np.bincount(codes, weights=targets, minlength=size),
            np.bincount(codes, minlength=size).astype(np.int64))


def stats_dict(uniques: Sequence[str], sums: np.ndarray, counts: np.ndarray) -> Stats:
    """``cells.target_stats``' dict from arrays (names with no row left out)."""
    carried = np.flatnonzero(counts > 0)
    return dict(zip(np.asarray(uniques, dtype=object)[carried].tolist(),
                    zip(sums[carried].tolist(), counts[carried].tolist(), strict=True),
                    strict=True))


@dataclass
class Looked:
    """The items of a name column with the statistics their row's encoding uses."""

    items: Items
    sums: np.ndarray  # float64 per item
    counts: np.ndarray  # int64 per item (0: the name is unknown)


def pooled_block(looked: Looked, prior: np.ndarray, m: float, n: int
                 ) -> tuple[np.ndarray, ...]:
    """Per row, ``features._pooled`` of its names and their cast-style mean.

    Returns (pooled, mean, max, min, names known, their films); rows with no known
    name get (prior, prior, NaN, NaN, 0, 0) (the caller picks what it encodes).
    """
    known = looked.counts > 0
    rows = looked.items.rows[known]
    sums = looked.sums[known]
    films_item = looked.counts[known]
    encoded = (sums + m * prior[rows]) / (films_item + m)
    n_known = np.bincount(rows, minlength=n)
    total = np.bincount(rows, weights=sums, minlength=n)
    films = np.bincount(rows, weights=films_item.astype(np.float64), minlength=n)
    has = n_known > 0
    pooled = np.where(has, (total + m * prior) / (films + m), prior)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(has, np.bincount(rows, weights=encoded, minlength=n) / n_known, prior)
    # A row's items are contiguous (laid out by row), so its max and min are one
    # reduceat over its segment: exact in any order, unlike a sum.
    best = np.full(n, _NAN)
    worst = np.full(n, _NAN)
    if len(rows):
        starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
        best[rows[starts]] = np.maximum.reduceat(encoded, starts)
        worst[rows[starts]] = np.minimum.reduceat(encoded, starts)
    return pooled, mean, best, worst, n_known.astype(np.float64), films


# --- the encoder -------------------------------------------------------------------------------


def _date_features(value: Any) -> tuple[float, float, float, float]:
    released = parse_date(value)
    if released is None:
        return (_NAN, _NAN, _NAN, _NAN)
    year = released.year
    day_of_year = released.toordinal() - date(year, 1, 1).toordinal() + 1
    return (float(year), float(released.month), float(released.weekday()), float(day_of_year))


def _text_features(cells: Cells, sequel: re.Pattern[str] | None) -> np.ndarray:
    """Characters and words of a text column; with ``sequel``, its sequel marker and colon.

    The marker and the colon are searched once in all the texts joined by newlines,
    each hit then given to its text: ``SEQUEL_MARKER`` matches word characters only,
    so no match spans a newline and a text's edges stay word boundaries; it is the
    scalar path's ``search`` on each text, without a call per text.
    """
    strings = texts(cells)
    n = len(strings)
    out = np.empty((n, 4 if sequel is not None else 2), dtype=np.float64)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=n)
    out[:, 0] = lengths
    out[:, 1] = np.fromiter(map(len, map(str.split, strings)), dtype=np.float64, count=n)
    if sequel is not None:
        joined = "\n".join(strings)
        starts = np.cumsum(lengths + 1) - (lengths + 1)
        out[:, 2:] = 0.0
        for column, hits in ((2, (m.start() for m in sequel.finditer(joined))),
                             (3, _find_all(joined, ":"))):
            positions = np.fromiter(hits, dtype=np.int64)
            out[np.searchsorted(starts, positions, side="right") - 1, column] = 1.0
    return out


def _find_all(text: str, part: str) -> list[int]:
    found, at = [], text.find(part)
    while at >= 0:
        found.append(at)
        at = text.find(part, at + 1)
    return found


@dataclass
class NameColumns:
    """The name-valued inputs of a batch as items (director, cast, writers, companies)."""

    directors: Items
    cast: Items
    writers: Items
    companies: Items

    @classmethod
    def of(cls, featurizer: MovieFeaturizer, raw: RawColumns) -> NameColumns:
        return cls(
            directors=director_items(raw["director"]),
            cast=items_of(raw["cast"], featurizer.cast_top_k),
            writers=items_of(raw["writers"], featurizer.writers_top_k),
            companies=items_of(raw["production_companies"], featurizer.companies_top_k),
        )

    def pairs(self) -> list[tuple[str, Items]]:
        return [("directors", self.directors), ("cast", self.cast), ("writers", self.writers),
                ("companies", self.companies)]


def encode(
    featurizer: MovieFeaturizer,
    raw: RawColumns,
    *,
    names: NameColumns,
    looked: Mapping[str, Looked],
    prior: np.ndarray,
) -> np.ndarray:
    """The feature matrix, in ``_feature_names`` order.

    ``looked`` holds each name column's items with the statistics to encode them
    with (the fitted ones for ``transform``, each row's out-of-fold ones for
    ``fit_transform``), and ``prior`` each row's prior (the mean they shrink to).
    """
    f = featurizer
    n = raw.n
    m = f.te_smoothing
    # Column-major: every block is written as whole columns (LightGBM reads either order).
    out = np.empty((n, f.n_features_out_), dtype=np.float64, order="F")
    col = 0

    def put(block: np.ndarray) -> None:
        nonlocal col
        block = block.reshape(n, 1) if block.ndim == 1 else block
        out[:, col:col + block.shape[1]] = block
        col += block.shape[1]

    put(multi_hot(raw["genres"], f._genre_pos, len(f.genres_) + 1))

    put(per_value(raw["release_date"], _date_features, 4))

    runtime = numbers(raw["runtime"])
    runtime = np.where(runtime > 0, runtime, _NAN)
    budget = numbers(raw["budget"])
    positive = budget > 0
    log_budget = np.full(n, _NAN)
    log_budget[positive] = log1p_exact(budget[positive])
    put(np.column_stack([runtime, np.isnan(runtime), log_budget, np.isnan(log_budget)]))

    put(one_hot(raw["original_language"], f._language_pos, len(f.languages_) + 2))

    put(multi_hot(raw["production_countries"], f._country_pos, len(f.countries_) + 1))

    from tmdb_mlops.features import SEQUEL_MARKER

    put(_text_features(raw["title"], SEQUEL_MARKER))
    put(_text_features(raw["overview"], None))

    director = looked["directors"]
    d_sum = np.zeros(n)
    d_n = np.zeros(n, dtype=np.int64)
    d_sum[director.items.rows] = director.sums
    d_n[director.items.rows] = director.counts
    has_director = names.directors.counts > 0
    put(np.column_stack([(d_sum + m * prior) / (d_n + m), log1p_exact(d_n),
                         ~has_director]))

    pooled, mean, best, worst, n_known, films = pooled_block(looked["cast"], prior, m, n)
    put(np.column_stack([pooled, mean, best, worst, n_known, log1p_exact(films),
                         names.cast.counts]))

    if f.feature_set_ >= 2:
        pooled, _, best, _, n_known, films = pooled_block(looked["writers"], prior, m, n)
        put(np.column_stack([pooled, best, n_known, log1p_exact(films), names.writers.counts,
                             _writer_is_director(names, n)]))
        pooled, _, best, worst, n_known, films = pooled_block(looked["companies"], prior, m, n)
        put(np.column_stack([pooled, best, worst, n_known, log1p_exact(films),
                             names.companies.counts]))
        put(one_hot(raw["certification"], f._certification_pos, len(f.certifications_) + 2))

    for column in f.post_release_columns:
        values = numbers(raw[column])
        leaky = np.full(n, _NAN)
        valid = values >= 0
        leaky[valid] = log1p_exact(values[valid])
        put(leaky)
    if col != out.shape[1]:  # pragma: no cover - a layout bug, never data
        raise AssertionError(f"encoded {col} columns, expected {out.shape[1]}")
    return out


def _writer_is_director(names: NameColumns, n: int) -> np.ndarray:
    writers = names.writers
    if not len(writers.rows):
        return np.zeros(n)
    director = np.full(n, None, dtype=object)
    director[names.directors.rows] = names.directors.names
    same = writers.names == director[writers.rows]
    return (np.bincount(writers.rows[same], minlength=n) > 0).astype(np.float64)
