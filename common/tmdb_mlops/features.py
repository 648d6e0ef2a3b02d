"""The featurizer: raw pre-release movie fields in, one numeric row out.

Training and serving share this module: the trainer fits a pipeline whose first
step is :class:`MovieFeaturizer` and pickles it into the bundle, the server
unpickles it and never has feature code of its own. This is also why the class
stays at ``tmdb_mlops.features.MovieFeaturizer``: bundles name it by that path.

The feature rules are written twice, on purpose, and held to one contract:

* :meth:`MovieFeaturizer._encode` turns one raw record (a dict of the processed
  CSV's columns) into one list of floats in pure Python: serving's single-row
  predictor calls it through :meth:`MovieFeaturizer.encode_record` (~10 us);
* :mod:`tmdb_mlops.batch_features` computes the same matrix a column at a time
  (numpy, pandas): ``transform`` and ``fit_transform`` run it, so training,
  ``pipeline.predict``, batch serving and batch scoring take it.

``tests/common/test_batch_encoder.py`` asserts the two give bit-identical features
and predictions (the whole holdout, hypothesis-generated and hostile records).
A rule changed in one place and not the other fails those tests.

The columns read are those of the raw-input contract (:mod:`tmdb_mlops.inputs`),
all known before release. The leakage experiment may add post-release columns
(``post_release_columns``); :mod:`tmdb_mlops.leakage` refuses such a pipeline
wherever a model is trained for serving or loaded from a bundle.

Bundles outlive the code that trained them: a featurizer pickled before writers,
production companies and certification existed (feature set 1) unpickles with
``feature_set_ = 1`` and keeps encoding exactly its original features, ignoring
the columns it never knew (:meth:`MovieFeaturizer.__setstate__`). Derived caches
(positions, the batch encoder's statistic tables) are never pickled: they are
rebuilt on unpickling or on first use.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from tmdb_mlops import batch_features as bf
from tmdb_mlops.cells import Stats, frequent, number, parse_date, split_list, text
from tmdb_mlops.errors import LeakageError
from tmdb_mlops.inputs import INPUT_COLUMNS
from tmdb_mlops.schema import POST_RELEASE_COLUMNS, TARGET

# Leaky columns the leakage experiment may add; the target is never allowed.
EXPERIMENT_COLUMNS: tuple[str, ...] = tuple(c for c in POST_RELEASE_COLUMNS if c != TARGET)

SEQUEL_MARKER = re.compile(r"\b(?:\d+|II|III|IV|V|VI|Part)\b")

#: The current feature layout: 2 adds writers, production companies and certification.
FEATURE_SET = 2
# Parameters added with feature set 2, with their defaults: an older pickle lacks them.
_ADDED_PARAMS: dict[str, Any] = {
    "writers_top_k": 3,
    "companies_top_k": 3,
    "max_certifications": 8,
    "min_certification_count": 20,
}


class MovieFeaturizer(TransformerMixin, BaseEstimator):
    """Raw processed-movie columns -> a numeric matrix (NaN where unknown).

    Director, cast, writers and production companies enter as smoothed target
    encodings: a name's mean rating shrunk towards the global mean by
    ``te_smoothing`` pseudo-films. In ``fit_transform`` (what Pipeline.fit
    calls) each row is encoded with statistics from the OTHER folds only, so the
    booster never trains on a feature computed from the row's own target;
    ``transform`` uses statistics from all training rows, which is what the
    future films it predicts get. The certification is one-hot (frequent values).

    Args:
        min_genre_count: genres seen fewer times share the ``genre_other`` count.
        max_languages / min_language_count: one-hot for frequent original
            languages, ``lang_other`` for the rest.
        max_countries / min_country_count: the same for production countries.
        te_smoothing: pseudo-count of the target encodings' shrinkage.
        te_folds: folds of the out-of-fold encoding.
        cast_top_k: top-billed cast members considered.
        writers_top_k / companies_top_k: writers and production companies considered.
        max_certifications / min_certification_count: one-hot for frequent
            certifications, ``cert_other`` for the rest, ``cert_missing``.
        random_state: seeds the fold assignment (deterministic training).
        post_release_columns: leaky columns to add as features. Only for the
            leakage experiment: :func:`assert_pre_release` refuses the result.
    """

    def __init__(
        self,
        *,
        min_genre_count: int = 5,
        max_languages: int = 15,
        min_language_count: int = 20,
        max_countries: int = 20,
        min_country_count: int = 20,
        te_smoothing: float = 5.0,
        te_folds: int = 5,
        cast_top_k: int = 5,
        writers_top_k: int = 3,
        companies_top_k: int = 3,
        max_certifications: int = 8,
        min_certification_count: int = 20,
        random_state: int = 42,
        post_release_columns: tuple[str, ...] = (),
    ) -> None:
        self.min_genre_count = min_genre_count
        self.max_languages = max_languages
        self.min_language_count = min_language_count
        self.max_countries = max_countries
        self.min_country_count = min_country_count
        self.te_smoothing = te_smoothing
        self.te_folds = te_folds
        self.cast_top_k = cast_top_k
        self.writers_top_k = writers_top_k
        self.companies_top_k = companies_top_k
        self.max_certifications = max_certifications
        self.min_certification_count = min_certification_count
        self.random_state = random_state
        self.post_release_columns = post_release_columns

    # --- fitting --------------------------------------------------------------

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Every raw column the encoder reads."""
        return INPUT_COLUMNS + tuple(self.post_release_columns)

    def _check_params(self) -> None:
        bad = [c for c in self.post_release_columns if c not in EXPERIMENT_COLUMNS]
        if bad:
            raise LeakageError(
                f"post_release_columns may only name {EXPERIMENT_COLUMNS}, not {bad} "
                f"(the target {TARGET!r} is never a feature)"
            )

    def _cast(self, record: Mapping[str, Any]) -> list[str]:
        return split_list(record.get("cast"))[: self.cast_top_k]

    def _director(self, record: Mapping[str, Any]) -> list[str]:
        name = text(record.get("director"))
        return [name] if name else []

    def _writers(self, record: Mapping[str, Any]) -> list[str]:
        return split_list(record.get("writers"))[: self.writers_top_k]

    def _companies(self, record: Mapping[str, Any]) -> list[str]:
        return split_list(record.get("production_companies"))[: self.companies_top_k]

    def _fit_state(self, raw: bf.RawColumns, y: np.ndarray) -> dict[str, tuple[np.ndarray, int]]:
        """Fit every statistic from ``raw``; returns each name column's item codes and size."""
        self._check_params()
        genres = bf.items_of(raw["genres"])
        countries = bf.items_of(raw["production_countries"])
        self.genres_ = frequent(_value_counts(genres.names), min_count=self.min_genre_count,
                                max_values=1000)
        self.languages_ = frequent(
            Counter(filter(None, bf.texts(raw["original_language"]))),
            min_count=self.min_language_count, max_values=self.max_languages,
        )
        self.countries_ = frequent(
            _value_counts(countries.names), min_count=self.min_country_count,
            max_values=self.max_countries,
        )
        self.certifications_ = frequent(
            Counter(filter(None, bf.texts(raw["certification"]))),
            min_count=self.min_certification_count, max_values=self.max_certifications,
        )
        self.feature_set_ = FEATURE_SET
        self.prior_ = float(np.mean(y))
        names = bf.NameColumns.of(self, raw)
        raw.names = names
        codes: dict[str, tuple[np.ndarray, int]] = {}
        tables: dict[str, bf.StatTable] = {}
        for key, items in names.pairs():
            item_codes, uniques = _factorize(items.names)
            sums, counts = bf.sum_stats(item_codes, y[items.rows], len(uniques))
            tables[key] = bf.StatTable(uniques,
                                       np.append(sums, 0.0), counts=np.append(counts, 0))
            codes[key] = (item_codes, len(uniques))
        self._tables = tables
        self._stat_dicts = {}
        self._index()
        self.feature_names_ = self._feature_names()
        self.n_features_out_ = len(self.feature_names_)
        self.n_features_in_ = len(self.input_columns)
        self.feature_names_in_ = np.asarray(self.input_columns, dtype=object)
        return codes

    def _index(self) -> None:
        self._genre_pos = {g: i for i, g in enumerate(self.genres_)}
        self._language_pos = {lang: i for i, lang in enumerate(self.languages_)}
        self._country_pos = {c: i for i, c in enumerate(self.countries_)}
        self._certification_pos = {c: i for i, c in enumerate(self.certifications_)}
        self._full_stats: NameStats | None = None  # built on the first encode_record

    # The name statistics are held as arrays (``bf.StatTable``: what the batch encoder
    # reads); the dicts the single-row path reads are built from them on first use, so
    # fitting (three times per training run) never builds millions of tuples.
    director_stats_ = property(lambda self: self._stats("directors"))
    cast_stats_ = property(lambda self: self._stats("cast"))
    writer_stats_ = property(lambda self: self._stats("writers"))
    company_stats_ = property(lambda self: self._stats("companies"))

    def _stats(self, key: str) -> Stats:
        found = self._stat_dicts.get(key)
        if found is None:
            table = self._tables[key]
            found = bf.stats_dict(table.names, table.sums[:-1], table.counts[:-1])
            self._stat_dicts[key] = found
        return found

    def _stat_tables(self) -> dict[str, bf.StatTable]:
        tables = self._tables
        if tables is None:  # an old pickle: built from its dicts once (a race builds twice)
            tables = {key: bf.StatTable.of(self._stat_dicts[key]) for key in _STATS_KEYS}
            self._tables = tables
        return tables

    def prepare_lookups(self) -> None:
        """Build the batch encoder's name indexes now rather than on their first use.

        A server calls this while it loads a model, so the first large batch after a
        swap does not pay for indexing a million names.
        """
        for table in self._stat_tables().values():
            table.index()

    def _build_full_stats(self) -> NameStats:
        stats = NameStats(directors=self.director_stats_, cast=self.cast_stats_,
                          writers=self.writer_stats_, companies=self.company_stats_,
                          prior=self.prior_)
        self._full_stats = stats
        return stats

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: object's is the live __dict__
        for derived in _DERIVED:  # rebuilt on unpickling, or on first use
            state.pop(derived, None)
        if "genres_" in state:
            # Names as one string and the sums and counts as arrays: joblib's pickler is
            # pure Python, and a million (name, (sum, count)) tuples took ~9 s to write.
            state["_packed_stats"] = {key: _pack(table)
                                      for key, table in self._stat_tables().items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle; a featurizer fitted before feature set 2 keeps its own layout.

        Three pickle layouts load: the current one (``_packed_stats``), and the
        dicts of earlier versions, with or without feature set 2.
        """
        state = dict(state)
        for name, default in _ADDED_PARAMS.items():
            state.setdefault(name, default)
        if "genres_" in state and "feature_set_" not in state:
            # Fitted by the code of feature set 1: no writers, companies, certification.
            state.update(feature_set_=1, certifications_=[], writer_stats_={},
                         company_stats_={})
        packed = state.pop("_packed_stats", None)
        dicts = {key: state.pop(attribute) for key, attribute in _STATS_ATTRIBUTES.items()
                 if attribute in state}
        super().__setstate__(state)
        self._stat_dicts = dicts
        self._tables = None if packed is None else {key: _unpack(value)
                                                    for key, value in packed.items()}
        if hasattr(self, "genres_"):
            self._index()

    def fit(self, X: Any, y: Any) -> MovieFeaturizer:
        self._fit_state(bf.RawColumns.of(X), np.asarray(y, dtype=np.float64))
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit, then encode each row with out-of-fold statistics of every name-valued input.

        The rows of fold k are encoded with the statistics (and the prior) of the
        other folds' rows only: each fold's sums are a bincount over those rows, in
        row order, exactly what ``cells.target_stats`` adds up for them.
        """
        if y is None:
            raise ValueError("MovieFeaturizer needs the target to fit its encodings")
        from sklearn.model_selection import KFold

        raw = bf.RawColumns.of(X)
        target = np.asarray(y, dtype=np.float64)
        codes = self._fit_state(raw, target)
        n = raw.n
        folds = KFold(n_splits=min(self.te_folds, n), shuffle=True,
                      random_state=self.random_state)
        fold_of = np.empty(n, dtype=np.int64)
        prior = np.empty(n, dtype=np.float64)
        fits = []
        for k, (fit_idx, enc_idx) in enumerate(folds.split(np.zeros((n, 1)))):
            fold_of[enc_idx] = k
            prior[enc_idx] = float(np.mean(target[fit_idx]))
            fits.append(k)
        looked = {}
        for key, items in raw.names.pairs():
            item_codes, size = codes[key]
            item_fold = fold_of[items.rows]
            sums = np.empty(len(items.rows), dtype=np.float64)
            counts = np.empty(len(items.rows), dtype=np.int64)
            for k in fits:
                other = item_fold != k
                fold_sums, fold_counts = bf.sum_stats(item_codes[other],
                                                      target[items.rows[other]], size)
                mine = ~other
                sums[mine] = fold_sums[item_codes[mine]]
                counts[mine] = fold_counts[item_codes[mine]]
            looked[key] = bf.Looked(items=items, sums=sums, counts=counts)
        return bf.encode(self, raw, names=raw.names, looked=looked, prior=prior)

    # --- encoding: the one source of feature logic ----------------------------

    def transform(self, X: Any) -> np.ndarray:
        """A DataFrame (or a list of records) -> the feature matrix, column-wise.

        The same numbers as :meth:`encode_record` row by row (a tested contract),
        computed by :mod:`tmdb_mlops.batch_features`.
        """
        raw = bf.RawColumns.of(X)
        names = bf.NameColumns.of(self, raw)
        tables = self._stat_tables()
        looked = {key: bf.Looked(items, *tables[key].lookup(items.names))
                  for key, items in names.pairs()}
        prior = np.full(raw.n, self.prior_, dtype=np.float64)
        return bf.encode(self, raw, names=names, looked=looked, prior=prior)

    def encode_record(self, record: Mapping[str, Any]) -> list[float]:
        """One raw record (dict of processed-CSV columns) -> its feature values."""
        stats = self._full_stats
        if stats is None:
            stats = self._build_full_stats()
        return self._encode(record, stats=stats)

    def _feature_names(self) -> list[str]:
        return [name for name, _ in self._feature_layout()]

    @property
    def feature_sources_(self) -> list[str]:
        """The raw input each encoded feature is computed from, in feature order.

        What an explanation sums a feature's contribution into (``tmdb_mlops.explain``):
        every genre indicator to ``genres``, the cast encodings to ``cast``, and so
        on. ``writer_is_director`` reads both the writers and the director; it is
        counted under ``writers``, the block it belongs to. Derived from the same
        layout as the feature names, so it holds for feature-set-1 bundles too.
        """
        return [source for _, source in self._feature_layout()]

    def _feature_layout(self) -> list[tuple[str, str]]:
        """(feature name, raw input column) of every output column, in order."""
        def block(source: str, names: list[str]) -> list[tuple[str, str]]:
            return [(name, source) for name in names]

        out = block("genres", [f"genre_{g}" for g in self.genres_] + ["genre_other", "n_genres"])
        out += block("release_date", ["release_year", "release_month", "release_weekday",
                                      "release_dayofyear"])
        out += block("runtime", ["runtime", "runtime_missing"])
        out += block("budget", ["log_budget", "budget_missing"])
        out += block("original_language", [f"lang_{lang}" for lang in self.languages_]
                     + ["lang_other", "lang_missing"])
        out += block("production_countries", [f"country_{c}" for c in self.countries_]
                     + ["country_other", "n_countries"])
        out += block("title", ["title_chars", "title_words", "title_sequel_marker", "title_colon"])
        out += block("overview", ["overview_chars", "overview_words"])
        out += block("director", ["director_te", "director_log_films", "director_missing"])
        out += block("cast", ["cast_te_pooled", "cast_te_mean", "cast_te_max", "cast_te_min",
                              "cast_known", "cast_log_films", "n_cast"])
        if self.feature_set_ >= 2:
            out += block("writers", ["writers_te_pooled", "writers_te_max", "writers_known",
                                     "writers_log_films", "n_writers", "writer_is_director"])
            out += block("production_companies", [
                "companies_te_pooled", "companies_te_max", "companies_te_min",
                "companies_known", "companies_log_films", "n_companies"])
            out += block("certification", [f"cert_{c}" for c in self.certifications_]
                         + ["cert_other", "cert_missing"])
        out += [(f"post_{c}", c) for c in self.post_release_columns]
        return out

    def _encode(self, record: Mapping[str, Any], *, stats: NameStats) -> list[float]:
        # One output list filled block by block, in ``_feature_names`` order. This
        # runs once per /predict, so it avoids temporary lists and repeated lookups.
        nan = math.nan
        m = self.te_smoothing
        prior = stats.prior
        get = record.get

        out = [0.0] * (len(self.genres_) + 1)
        genre_items = split_list(get("genres"))
        positions = self._genre_pos
        for genre in genre_items:
            out[positions.get(genre, -1)] += 1.0
        out.append(float(len(genre_items)))

        released = parse_date(get("release_date"))
        if released is None:
            out += (nan, nan, nan, nan)
        else:
            year = released.year
            day_of_year = released.toordinal() - date(year, 1, 1).toordinal() + 1
            out += (float(year), float(released.month), float(released.weekday()),
                    float(day_of_year))

        runtime = number(get("runtime"))
        runtime = runtime if runtime > 0 else nan
        budget = number(get("budget"))
        log_budget = math.log1p(budget) if budget > 0 else nan
        out += (runtime, float(runtime != runtime), log_budget, float(log_budget != log_budget))

        language = [0.0] * (len(self.languages_) + 2)
        code = text(get("original_language"))
        language[self._language_pos.get(code, -2) if code else -1] = 1.0
        out += language

        countries = [0.0] * (len(self.countries_) + 1)
        country_items = split_list(get("production_countries"))
        positions = self._country_pos
        for country in country_items:
            countries[positions.get(country, -1)] += 1.0
        out += countries
        out.append(float(len(country_items)))

        title = text(get("title"))
        overview = text(get("overview"))
        out += (
            float(len(title)),
            float(len(title.split())),
            float(bool(SEQUEL_MARKER.search(title))),
            float(":" in title),
            float(len(overview)),
            float(len(overview.split())),
        )

        director = self._director(record)
        directors = stats.directors
        d_sum, d_n = directors.get(director[0], (0.0, 0)) if director else (0.0, 0)
        out += ((d_sum + m * prior) / (d_n + m), math.log1p(d_n), float(not director))

        members = self._cast(record)
        cast = stats.cast
        known = [cast[name] for name in members if name in cast]
        if known:
            total = sum(s for s, _ in known)
            films = sum(n for _, n in known)
            encoded = [(s + m * prior) / (n + m) for s, n in known]
            out += (
                (total + m * prior) / (films + m),
                sum(encoded) / len(encoded),
                max(encoded),
                min(encoded),
                float(len(known)),
                math.log1p(films),
            )
        else:
            out += (prior, prior, nan, nan, 0.0, 0.0)
        out.append(float(len(members)))

        if self.feature_set_ >= 2:
            writers = self._writers(record)
            pooled, best, _, n_known, films = _pooled(writers, stats.writers, m, prior)
            out += (pooled, best, n_known, math.log1p(films), float(len(writers)),
                    float(bool(director) and director[0] in writers))
            companies = self._companies(record)
            pooled, best, worst, n_known, films = _pooled(companies, stats.companies, m, prior)
            out += (pooled, best, worst, n_known, math.log1p(films), float(len(companies)))
            certifications = [0.0] * (len(self.certifications_) + 2)
            certification = text(get("certification"))
            certifications[self._certification_pos.get(certification, -2)
                           if certification else -1] = 1.0
            out += certifications

        if self.post_release_columns:
            leaky = [number(get(c)) for c in self.post_release_columns]
            out += [math.log1p(v) if v >= 0 else nan for v in leaky]
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_, dtype=object)


_STATS_ATTRIBUTES = {"directors": "director_stats_", "cast": "cast_stats_",
                     "writers": "writer_stats_", "companies": "company_stats_"}
_STATS_KEYS = tuple(_STATS_ATTRIBUTES)
_DERIVED = ("_full_stats", "_tables", "_stat_dicts")
_NAME_SEPARATOR = "\x00"


def _pack(table: bf.StatTable) -> tuple[str | list[str], np.ndarray, np.ndarray]:
    names = table.names
    joined = _NAME_SEPARATOR.join(names)
    packed: str | list[str] = (
        joined if joined.count(_NAME_SEPARATOR) == max(len(names) - 1, 0) else names)
    return packed, table.sums, table.counts


def _unpack(packed: tuple[str | list[str], np.ndarray, np.ndarray]) -> bf.StatTable:
    names, sums, counts = packed
    if isinstance(names, str):
        names = names.split(_NAME_SEPARATOR) if len(sums) > 1 else []
    return bf.StatTable(names, sums, counts)


def _factorize(names: np.ndarray) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    if not len(names):
        return np.empty(0, dtype=np.int64), []
    codes, uniques = pd.factorize(names)
    return codes.astype(np.int64, copy=False), uniques.tolist()


def _value_counts(names: np.ndarray) -> Counter[str]:
    codes, uniques = _factorize(names)
    return Counter(dict(zip(uniques, np.bincount(codes, minlength=len(uniques)).tolist(),
                            strict=True)))


class NameStats(NamedTuple):
    """Target statistics of the name-valued inputs, and the mean they shrink towards."""

    directors: Stats
    cast: Stats
    writers: Stats
    companies: Stats
    prior: float


def _pooled(
    names: list[str], stats: Stats, m: float, prior: float
) -> tuple[float, float, float, float, int]:
    """(pooled encoding, max, min, names known, their films) of a set of names.

    The pooled encoding treats the names' films as one group: the sum of their
    ratings plus ``m`` pseudo-films at ``prior``, over their count plus ``m``.
    Unknown names give the prior and NaN extremes.
    """
    total, films, best, worst, n_known = 0.0, 0, -math.inf, math.inf, 0
    for name in names:
        found = stats.get(name)
        if found is None:
            continue
        s, n = found
        total += s
        films += n
        n_known += 1
        encoded = (s + m * prior) / (n + m)
        best = encoded if encoded > best else best
        worst = encoded if encoded < worst else worst
    if not n_known:
        return prior, math.nan, math.nan, 0.0, 0
    return (total + m * prior) / (films + m), best, worst, float(n_known), films


def featurizer_of(pipeline: Any) -> MovieFeaturizer:
    """The fitted featurizer of a pipeline (its first step)."""
    step = pipeline.steps[0][1]
    if not isinstance(step, MovieFeaturizer):
        raise TypeError(f"the pipeline's first step is {type(step).__name__}, not MovieFeaturizer")
    return step
