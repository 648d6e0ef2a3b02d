"""The feature pipeline: raw pre-release movie fields in, one fitted sklearn Pipeline out.

Training and serving share this module: the trainer fits :func:`build_pipeline`
and pickles it into the bundle, the server unpickles it and never has feature
code of its own. All feature logic lives in ONE place,
:meth:`MovieFeaturizer._encode`, which turns one raw record (a dict of the
processed CSV's columns) into one list of floats:

* ``transform(DataFrame)`` maps it over the frame's rows;
* :class:`FastPredictor` calls it on request dicts and hands the rows straight
  to the LightGBM booster, skipping pandas (a one-row DataFrame transform costs
  milliseconds, the encoder and ``Booster.predict`` tens of microseconds);

so both paths give bit-identical predictions by construction (and a test checks).

Only columns known before release are read. ``vote_count``, ``popularity``,
``revenue`` and ``vote_average`` are never features of a servable pipeline:
the featurizer reads them only when built with ``post_release_columns`` (the
leakage experiment), and :func:`assert_pre_release` refuses such a pipeline
wherever a model is trained for serving or loaded from a bundle.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from tmdb_mlops.errors import PlatformError
from tmdb_mlops.schema import LIST_SEPARATOR, POST_RELEASE_COLUMNS, PRE_RELEASE_COLUMNS, TARGET

# The raw columns the featurizer reads: pre-release only (checked at import below).
INPUT_COLUMNS: tuple[str, ...] = (
    "title",
    "original_language",
    "overview",
    "release_date",
    "genres",
    "runtime",
    "budget",
    "production_countries",
    "director",
    "cast",
)
# Leaky columns the leakage experiment may add; the target is never allowed.
EXPERIMENT_COLUMNS: tuple[str, ...] = tuple(c for c in POST_RELEASE_COLUMNS if c != TARGET)

# Allowed ranges of the raw inputs, published in the bundle's input schema.
INPUT_RANGES: dict[str, dict[str, Any]] = {
    "title": {"type": "string", "nullable": False, "max_length": 300},
    "original_language": {"type": "string", "nullable": True, "pattern": "^[a-z]{2}$"},
    "overview": {"type": "string", "nullable": True, "max_length": 5000},
    "release_date": {"type": "date", "nullable": False, "min": "1874-01-01", "max": "2100-12-31"},
    "genres": {"type": "list[string]", "nullable": True, "separator": LIST_SEPARATOR},
    "runtime": {"type": "number", "nullable": True, "min": 1, "max": 1000, "unit": "minutes"},
    "budget": {"type": "number", "nullable": True, "min": 0, "max": 1e10, "unit": "USD"},
    "production_countries": {
        "type": "list[string]",
        "nullable": True,
        "separator": LIST_SEPARATOR,
        "pattern": "^[A-Z]{2}$",
    },
    "director": {"type": "string", "nullable": True, "max_length": 200},
    "cast": {"type": "list[string]", "nullable": True, "separator": LIST_SEPARATOR},
}

_LEAKY = set(POST_RELEASE_COLUMNS)
if _LEAKY & set(INPUT_COLUMNS) or not set(INPUT_COLUMNS) <= set(PRE_RELEASE_COLUMNS):
    raise RuntimeError("features.INPUT_COLUMNS must be pre-release columns only")

_SEQUEL = re.compile(r"\b(?:\d+|II|III|IV|V|VI|Part)\b")


class LeakageError(PlatformError):
    """A pipeline would use columns that are unknown before a film's release."""


# --- raw value helpers: one record's cell -> a clean Python value -------------


def _number(value: Any) -> float:
    """A float, NaN when missing or unparsable (CSV empties, None, NaN)."""
    if value is None or value == "":
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


_SEQUENCES = (list, tuple)


def split_list(value: Any) -> list[str]:
    """A list field, whether "A|B" (the CSV form) or already a list (a request)."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, _SEQUENCES):
        return [item for item in map(str.strip, map(str, value)) if item]
    # The serving hot path: no per-item str() (split already gives str) nor generator.
    return [item for item in map(str.strip, str(value).split(LIST_SEPARATOR)) if item]


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _frequent(counter: Counter[str], *, min_count: int, max_values: int) -> list[str]:
    """The most common values (ties broken by name, so fitting is deterministic)."""
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return sorted(v for v, n in ranked[:max_values] if n >= min_count)


Stats = dict[str, tuple[float, int]]  # name -> (sum of targets, count)


def _stats(names: Iterable[list[str]], y: Iterable[float]) -> Stats:
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row_names, target in zip(names, y, strict=True):
        for name in row_names:
            sums[name] = sums.get(name, 0.0) + target
            counts[name] = counts.get(name, 0) + 1
    return {name: (sums[name], counts[name]) for name in sums}


class MovieFeaturizer(TransformerMixin, BaseEstimator):
    """Raw processed-movie columns -> a numeric matrix (NaN where unknown).

    Director and cast enter as smoothed target encodings: a name's mean rating
    shrunk towards the global mean by ``te_smoothing`` pseudo-films. In
    ``fit_transform`` (what Pipeline.fit calls) each row is encoded with
    statistics from the OTHER folds only, so the booster never trains on a
    feature computed from the row's own target; ``transform`` uses statistics
    from all training rows, which is what the future films it predicts get.

    Args:
        min_genre_count: genres seen fewer times share the ``genre_other`` count.
        max_languages / min_language_count: one-hot for frequent original
            languages, ``lang_other`` for the rest.
        max_countries / min_country_count: the same for production countries.
        te_smoothing: pseudo-count of the target encodings' shrinkage.
        te_folds: folds of the out-of-fold encoding.
        cast_top_k: top-billed cast members considered.
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

    def _records(self, X: Any) -> list[dict[str, Any]]:
        """Rows as dicts of the columns read, pandas missing values turned into None."""
        if isinstance(X, list):
            return X
        columns = {}
        n = len(X)
        for column in self.input_columns:
            if column in X.columns:
                series = X[column].astype(object)
                columns[column] = series.where(series.notna(), None).tolist()
            else:
                columns[column] = [None] * n
        names = list(columns)
        return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]

    def _cast(self, record: Mapping[str, Any]) -> list[str]:
        return split_list(record.get("cast"))[: self.cast_top_k]

    def _director(self, record: Mapping[str, Any]) -> list[str]:
        name = _text(record.get("director"))
        return [name] if name else []

    def _fit_state(self, records: Sequence[Mapping[str, Any]], y: np.ndarray) -> None:
        self._check_params()
        genres: Counter[str] = Counter()
        languages: Counter[str] = Counter()
        countries: Counter[str] = Counter()
        for record in records:
            genres.update(split_list(record.get("genres")))
            language = _text(record.get("original_language"))
            if language:
                languages[language] += 1
            countries.update(split_list(record.get("production_countries")))
        self.genres_ = _frequent(genres, min_count=self.min_genre_count, max_values=1000)
        self.languages_ = _frequent(
            languages, min_count=self.min_language_count, max_values=self.max_languages
        )
        self.countries_ = _frequent(
            countries, min_count=self.min_country_count, max_values=self.max_countries
        )
        self.prior_ = float(np.mean(y))
        self.director_stats_ = _stats((self._director(r) for r in records), y)
        self.cast_stats_ = _stats((self._cast(r) for r in records), y)
        self._index()
        self.feature_names_ = self._feature_names()
        self.n_features_out_ = len(self.feature_names_)
        self.n_features_in_ = len(self.input_columns)
        self.feature_names_in_ = np.asarray(self.input_columns, dtype=object)

    def _index(self) -> None:
        self._genre_pos = {g: i for i, g in enumerate(self.genres_)}
        self._language_pos = {lang: i for i, lang in enumerate(self.languages_)}
        self._country_pos = {c: i for i, c in enumerate(self.countries_)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if hasattr(self, "genres_"):
            self._index()

    def fit(self, X: Any, y: Any) -> MovieFeaturizer:
        records = self._records(X)
        self._fit_state(records, np.asarray(y, dtype=np.float64))
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit, then encode each row with out-of-fold director/cast statistics."""
        if y is None:
            raise ValueError("MovieFeaturizer needs the target to fit its encodings")
        from sklearn.model_selection import KFold

        records = self._records(X)
        target = np.asarray(y, dtype=np.float64)
        self._fit_state(records, target)
        out = np.empty((len(records), self.n_features_out_), dtype=np.float64)
        folds = KFold(n_splits=min(self.te_folds, len(records)), shuffle=True,
                      random_state=self.random_state)
        for fit_idx, enc_idx in folds.split(records):
            fit_records = [records[i] for i in fit_idx]
            fit_y = target[fit_idx]
            directors = _stats((self._director(r) for r in fit_records), fit_y)
            cast = _stats((self._cast(r) for r in fit_records), fit_y)
            prior = float(np.mean(fit_y))
            for i in enc_idx:
                out[i] = self._encode(records[i], directors=directors, cast=cast, prior=prior)
        return out

    # --- encoding: the one source of feature logic ----------------------------

    def transform(self, X: Any) -> np.ndarray:
        records = self._records(X)
        out = np.empty((len(records), self.n_features_out_), dtype=np.float64)
        for i, record in enumerate(records):
            out[i] = self.encode_record(record)
        return out

    def encode_record(self, record: Mapping[str, Any]) -> list[float]:
        """One raw record (dict of processed-CSV columns) -> its feature values."""
        return self._encode(
            record, directors=self.director_stats_, cast=self.cast_stats_, prior=self.prior_
        )

    def _feature_names(self) -> list[str]:
        names = [f"genre_{g}" for g in self.genres_] + ["genre_other", "n_genres"]
        names += ["release_year", "release_month", "release_weekday", "release_dayofyear"]
        names += ["runtime", "runtime_missing", "log_budget", "budget_missing"]
        names += [f"lang_{lang}" for lang in self.languages_] + ["lang_other", "lang_missing"]
        names += [f"country_{c}" for c in self.countries_]
        names += ["country_other", "n_countries"]
        names += ["title_chars", "title_words", "title_sequel_marker", "title_colon"]
        names += ["overview_chars", "overview_words"]
        names += ["director_te", "director_log_films", "director_missing"]
        names += ["cast_te_pooled", "cast_te_mean", "cast_te_max", "cast_te_min"]
        names += ["cast_known", "cast_log_films", "n_cast"]
        names += [f"post_{c}" for c in self.post_release_columns]
        return names

    def _encode(
        self, record: Mapping[str, Any], *, directors: Stats, cast: Stats, prior: float
    ) -> list[float]:
        # One output list filled block by block, in ``_feature_names`` order. This
        # runs once per /predict, so it avoids temporary lists and repeated lookups.
        nan = math.nan
        m = self.te_smoothing
        get = record.get

        out = [0.0] * (len(self.genres_) + 1)
        genre_items = split_list(get("genres"))
        positions = self._genre_pos
        for genre in genre_items:
            out[positions.get(genre, -1)] += 1.0
        out.append(float(len(genre_items)))

        released = _date(get("release_date"))
        if released is None:
            out += (nan, nan, nan, nan)
        else:
            year = released.year
            day_of_year = released.toordinal() - date(year, 1, 1).toordinal() + 1
            out += (float(year), float(released.month), float(released.weekday()),
                    float(day_of_year))

        runtime = _number(get("runtime"))
        runtime = runtime if runtime > 0 else nan
        budget = _number(get("budget"))
        log_budget = math.log1p(budget) if budget > 0 else nan
        out += (runtime, float(runtime != runtime), log_budget, float(log_budget != log_budget))

        language = [0.0] * (len(self.languages_) + 2)
        code = _text(get("original_language"))
        language[self._language_pos.get(code, -2) if code else -1] = 1.0
        out += language

        countries = [0.0] * (len(self.countries_) + 1)
        country_items = split_list(get("production_countries"))
        positions = self._country_pos
        for country in country_items:
            countries[positions.get(country, -1)] += 1.0
        out += countries
        out.append(float(len(country_items)))

        title = _text(get("title"))
        overview = _text(get("overview"))
        out += (
            float(len(title)),
            float(len(title.split())),
            float(bool(_SEQUEL.search(title))),
            float(":" in title),
            float(len(overview)),
            float(len(overview.split())),
        )

        director = self._director(record)
        d_sum, d_n = directors.get(director[0], (0.0, 0)) if director else (0.0, 0)
        out += ((d_sum + m * prior) / (d_n + m), math.log1p(d_n), float(not director))

        members = self._cast(record)
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

        if self.post_release_columns:
            leaky = [_number(get(c)) for c in self.post_release_columns]
            out += [math.log1p(v) if v >= 0 else nan for v in leaky]
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_, dtype=object)


# --- pipelines -----------------------------------------------------------------

ModelKind = Literal["lightgbm", "ridge"]

DEFAULT_LGBM_PARAMS: dict[str, Any] = {
    "n_estimators": 600,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
}


def build_pipeline(
    model: ModelKind = "lightgbm",
    *,
    seed: int = 42,
    params: Mapping[str, Any] | None = None,
    feature_params: Mapping[str, Any] | None = None,
    post_release: bool = False,
    n_jobs: int = 1,
) -> Pipeline:
    """One unfitted Pipeline: the featurizer, then LightGBM (or ridge for the baseline).

    Args:
        model: ``"lightgbm"`` (what is served) or ``"ridge"`` (the linear baseline,
            on the very same features, imputed and scaled).
        seed: seeds folds and the booster; with ``deterministic`` and a fixed
            thread count the same data gives the same model.
        params: LGBMRegressor (or Ridge) parameters overriding the defaults.
        feature_params: MovieFeaturizer parameters.
        post_release: ALSO use vote_count, popularity and revenue. Only for the
            leakage experiment; such a pipeline is refused for serving.
        n_jobs: LightGBM threads, fixed so results do not depend on the machine; one
            thread is also the fastest at this size (OpenMP threads on a busy 2-core
            machine made a fit ~10x slower in our measurements).
    """
    featurizer = MovieFeaturizer(
        random_state=seed,
        post_release_columns=EXPERIMENT_COLUMNS if post_release else (),
        **dict(feature_params or {}),
    )
    if model == "ridge":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import Ridge
        from sklearn.preprocessing import StandardScaler

        return Pipeline([
            ("features", featurizer),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", Ridge(**{"alpha": 10.0, **dict(params or {})})),
        ])
    if model != "lightgbm":
        raise ValueError(f"unknown model kind {model!r}")
    from lightgbm import LGBMRegressor

    regressor = LGBMRegressor(
        **{**DEFAULT_LGBM_PARAMS, **dict(params or {})},
        random_state=seed,
        n_jobs=n_jobs,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    return Pipeline([("features", featurizer), ("model", regressor)])


def featurizer_of(pipeline: Pipeline) -> MovieFeaturizer:
    step = pipeline.steps[0][1]
    if not isinstance(step, MovieFeaturizer):
        raise TypeError(f"the pipeline's first step is {type(step).__name__}, not MovieFeaturizer")
    return step


def assert_pre_release(pipeline: Pipeline) -> None:
    """Refuse a pipeline that reads any post-release column: it cannot be served."""
    leaky = set(featurizer_of(pipeline).input_columns) & _LEAKY
    if leaky:
        raise LeakageError(
            f"the pipeline uses post-release columns {sorted(leaky)}; "
            "they are unknown before release and cannot be features of a served model"
        )


class _RowSlot:
    """One thread's prepared call: its FastConfig and the buffers it reads and writes.

    Everything the C call needs is built once here, so scoring a row is one
    ``struct.pack_into`` into the row buffer and one foreign call with ready
    ctypes arguments (no numpy arrays, ``byref`` or pointer casts per row).
    """

    __slots__ = ("config", "row", "row_array", "row_ptr", "out", "out_ptr", "out_len",
                 "out_len_ref")

    def __init__(self, config: Any, n_features: int) -> None:
        import ctypes

        self.config = config
        self.row = bytearray(8 * n_features)
        self.row_array = (ctypes.c_double * n_features).from_buffer(self.row)
        self.row_ptr = ctypes.cast(self.row_array, ctypes.c_void_p)
        self.out = (ctypes.c_double * 1)()
        self.out_ptr = ctypes.cast(self.out, ctypes.POINTER(ctypes.c_double))
        self.out_len = ctypes.c_int64(0)
        self.out_len_ref = ctypes.byref(self.out_len)


class _SingleRowBooster:
    """LightGBM's single-row C entry point (``PredictForMatSingleRowFast``).

    ``Booster.predict`` spends ~80 microseconds in Python set-up per call; the
    C API's "fast" variant is prepared once (per thread: its buffers are not
    shared safely, and ctypes releases the GIL) and then scores one row in a few
    microseconds, with the same trees and the same summation as the batch call.
    """

    def __init__(self, booster: Any, n_features: int) -> None:
        import contextlib
        import ctypes
        import struct
        import threading

        from lightgbm.basic import _LIB, _safe_call

        self._suppress = contextlib.suppress

        self._ctypes, self._lib, self._safe_call = ctypes, _LIB, _safe_call
        # Our own function object (``_LIB[name]`` is a fresh one), so setting argtypes
        # speeds up our calls without touching the one lightgbm itself uses.
        self._predict = _LIB["LGBM_BoosterPredictForMatSingleRowFast"]
        self._predict.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                  ctypes.POINTER(ctypes.c_double)]
        self._predict.restype = ctypes.c_int
        self._free = _LIB.LGBM_FastConfigFree
        self._pack = struct.Struct(f"={n_features}d").pack_into
        self._booster = booster  # keeps the handle alive as long as the configs
        self._n_features = n_features
        self._iterations = booster.best_iteration if booster.best_iteration > 0 else -1
        self._local = threading.local()
        self._configs: list[Any] = []
        self._slot()  # fail now (old library, bad handle) rather than on the first request

    def _slot(self) -> _RowSlot:
        slot = getattr(self._local, "slot", None)
        if slot is None:
            ctypes = self._ctypes
            config = ctypes.c_void_p()
            self._safe_call(self._lib.LGBM_BoosterPredictForMatSingleRowFastInit(
                self._booster._handle,  # noqa: SLF001 - the C API needs the raw handle
                ctypes.c_int(0),  # C_API_PREDICT_NORMAL
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(self._iterations),
                ctypes.c_int(1),  # C_API_DTYPE_FLOAT64
                ctypes.c_int32(self._n_features),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(config),
            ))
            self._configs.append(config)
            slot = self._local.slot = _RowSlot(config, self._n_features)
        return slot

    def predict_one(self, row: Sequence[float]) -> float:
        """The raw score of one encoded row (a sequence of ``n_features`` floats)."""
        slot = self._slot()
        self._pack(slot.row, 0, *row)
        status = self._predict(slot.config, slot.row_ptr, slot.out_len_ref, slot.out_ptr)
        if status:
            self._safe_call(status)  # raises LightGBMError with the library's message
        return slot.out[0]

    def __del__(self) -> None:
        # Everything __del__ needs was bound in __init__: importing here fails at
        # interpreter shutdown (it printed "ImportError: sys.meta_path is None").
        suppress = getattr(self, "_suppress", None)
        if suppress is None:
            return
        for config in self._configs:
            with suppress(Exception):
                self._free(config)


class FastPredictor:
    """pipeline.predict for a few dicts, without pandas.

    Built from a fitted pipeline, it reuses the pipeline's own fitted objects
    (the featurizer's ``encode_record`` and the LightGBM booster), so there is
    no second copy of any feature rule: it only skips the DataFrame round trip
    and sklearn's input validation. One row goes through LightGBM's single-row
    C entry point; several rows through one ``Booster.predict`` call.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        featurizer = featurizer_of(pipeline)
        self._encode = featurizer.encode_record
        self._middle = [step for _, step in pipeline.steps[1:-1]]
        final = pipeline.steps[-1][1]
        booster = getattr(final, "booster_", None)
        self._booster = booster if booster is not None and not self._middle else None
        self._final = final
        self._single: _SingleRowBooster | None = None
        if self._booster is not None:
            try:
                self._single = _SingleRowBooster(self._booster, featurizer.n_features_out_)
            except Exception:  # noqa: BLE001 - the batch call below is always correct
                self._single = None

    def predict_record(self, record: Mapping[str, Any]) -> float:
        """One record's prediction as a plain float (the /predict path: no numpy)."""
        if self._single is not None:
            return self._single.predict_one(self._encode(record))
        return float(self.predict_records([record])[0])

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if not records:
            return np.empty(0, dtype=np.float64)
        if len(records) == 1 and self._single is not None:
            return np.array([self.predict_record(records[0])])
        X = np.array([self._encode(record) for record in records], dtype=np.float64)
        if self._booster is not None:
            # One thread: OpenMP start-up dominates a small batch (measured ~10x).
            return self._booster.predict(X, num_threads=1)
        for step in self._middle:
            X = step.transform(X)
        return np.asarray(self._final.predict(X), dtype=np.float64)
