"""Serving's predictor: ``pipeline.predict`` for request dicts, without sklearn's overhead.

A one-row DataFrame transform costs milliseconds; the featurizer's
``encode_record`` and LightGBM's single-row C entry point cost tens of
microseconds. A batch goes through the featurizer's column-wise encoder
(``transform`` on the records: no DataFrame) and one ``Booster.predict``.
:class:`FastPredictor` reuses the pipeline's own fitted objects, so there is no
copy of any feature rule here, and tests check that it gives the same numbers as
``pipeline.predict``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tmdb_mlops import intervals
from tmdb_mlops.batch_features import RawColumns
from tmdb_mlops.explain import Explainer, NotExplainable
from tmdb_mlops.features import featurizer_of
from tmdb_mlops.inputs import FieldColumns, column_records, to_columns
from tmdb_mlops.predictions import RATING_MAX, RATING_MIN
from tmdb_serve.compiled import CompiledForests, compile_forests, probe_rows


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

    def predict_with(
        self, lower: _SingleRowBooster, upper: _SingleRowBooster, row: Sequence[float]
    ) -> tuple[float, float, float]:
        """(this booster's, ``lower``'s, ``upper``'s) raw scores of one row, packed once.

        The three boosters read the same features, so the other two are called on this
        booster's row buffer (each with its own FastConfig and output): one
        ``pack_into`` for three predictions.
        """
        slot = self._slot()
        self._pack(slot.row, 0, *row)
        row_ptr = slot.row_ptr
        status = self._predict(slot.config, row_ptr, slot.out_len_ref, slot.out_ptr)
        if status:
            self._safe_call(status)
        low = lower._slot()  # noqa: SLF001 - the same class
        status = lower._predict(low.config, row_ptr, low.out_len_ref, low.out_ptr)
        if status:
            self._safe_call(status)
        high = upper._slot()  # noqa: SLF001
        status = upper._predict(high.config, row_ptr, high.out_len_ref, high.out_ptr)
        if status:
            self._safe_call(status)
        return slot.out[0], low.out[0], high.out[0]

    def __del__(self) -> None:
        # Everything __del__ needs was bound in __init__: importing here fails at
        # interpreter shutdown (it printed "ImportError: sys.meta_path is None").
        suppress = getattr(self, "_suppress", None)
        if suppress is None:
            return
        for config in self._configs:
            with suppress(Exception):
                self._free(config)


#: From this many records a batch is encoded column-wise (``featurizer.transform``);
#: below it row by row. Measured on the sandbox model: the column-wise encoder has
#: ~0.7 ms of fixed cost and ~4 us a row, the row encoder ~10 us a row, so they
#: cross near 100 rows (1,000 rows: 4 ms against 10 ms).
COLUMNWISE_FROM = 100


class FastPredictor:
    """pipeline.predict for request dicts, without pandas' DataFrame or sklearn's checks.

    Built from a fitted pipeline, it reuses the pipeline's own fitted objects
    (the featurizer's ``encode_record`` and ``transform``, the LightGBM booster),
    so there is no second copy of any feature rule: it only skips the DataFrame
    round trip and sklearn's input validation. One row goes through LightGBM's
    single-row C entry point; several rows through one ``Booster.predict`` call,
    encoded row by row up to ``COLUMNWISE_FROM`` rows and column-wise from there.

    With the bundle's interval payload (``tmdb_mlops.intervals``) the same encoded
    row also goes through the two quantile boosters' single-row calls, a few
    microseconds each; explanations (TreeSHAP, ``tmdb_mlops.explain``) are computed
    only when asked for, on the same encoded row.
    """

    def __init__(self, pipeline: Any, interval: Mapping[str, Any] | None = None) -> None:
        featurizer = featurizer_of(pipeline)
        featurizer.prepare_lookups()  # at load, not on the first large batch
        self._n_features = featurizer.n_features_out_
        self._encode = featurizer.encode_record
        self._encode_many = featurizer.transform
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
        self._interval = interval if intervals.usable(interval) else None
        self.coverage: float | None = None
        self._bounds: tuple[Any, Any] | None = None
        if self._interval is not None:
            self.coverage = float(self._interval["coverage"])
            self._q = intervals.quantile(self._interval)
            n = featurizer.n_features_out_
            try:
                self._bounds = (_SingleRowBooster(self._interval["lower"], n),
                                _SingleRowBooster(self._interval["upper"], n))
            except Exception:  # noqa: BLE001 - the batch call stays correct
                self._bounds = None
        try:
            self._explainer: Explainer | None = Explainer.of(pipeline)
        except NotExplainable:
            self._explainer = None
        #: The boosters compiled to native code, once proven equal (``compile``); read once
        #: per call, so a request never mixes the two paths.
        self._compiled: CompiledForests | None = None

    @property
    def compilable(self) -> bool:
        return self._booster is not None

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def compile(self, *, cache_dir: Any, records: Sequence[Mapping[str, Any]],
                stop: Any = None) -> None:
        """Compile the boosters (``tmdb_serve.compiled``) and use them once proven equal.

        Slow (seconds of LLVM): the model store runs it in a background thread after
        the swap. ``records`` are encoded into the probe the compiled forests must
        match LightGBM on, bit for bit. ``stop`` (a ``threading.Event``) kills a compile
        under way. Raises on any failure; this predictor then stays on LightGBM.
        """
        if self._booster is None:
            raise NotImplementedError("only a featurizer -> LightGBM pipeline compiles")
        n = self._n_features
        probe = probe_rows(n, [self._encode(record) for record in records])
        bounds = ((self._interval["lower"], self._interval["upper"])
                  if self._interval is not None else None)
        self._compiled = compile_forests(self._booster, bounds, n_features=n, probe=probe,
                                         cache_dir=cache_dir, stop=stop)

    @property
    def has_interval(self) -> bool:
        return self._interval is not None

    @property
    def explainable(self) -> bool:
        return self._explainer is not None

    def predict_row(
        self, record: Mapping[str, Any], *, explain: bool = False
    ) -> tuple[float, tuple[float, float] | None, dict[str, Any] | None]:
        """One record: (raw prediction, (low, high) or None, explanation or None).

        The record is encoded once; the interval costs two single-row booster
        calls, the explanation (only when asked) one TreeSHAP call.
        """
        row = self._encode(record)
        compiled = self._compiled
        single, bounds = self._single, self._bounds
        if compiled is not None and compiled.bounds is not None:
            raw, lower, upper = compiled.predict_three(row)
        elif single is not None and bounds is not None:
            raw, lower, upper = single.predict_with(bounds[0], bounds[1], row)
        else:
            lower = upper = None
        if lower is not None and upper is not None:
            q = self._q
            low, high = lower - q, upper + q
            # intervals.bound, inlined: the hot path (the rule is tested equal to it).
            low = raw if raw < low else low
            high = raw if raw > high else high
            interval: tuple[float, float] | None = (
                RATING_MIN if low < RATING_MIN else RATING_MAX if low > RATING_MAX else low,
                RATING_MIN if high < RATING_MIN else RATING_MAX if high > RATING_MAX else high)
        else:
            raw = (compiled.predict_one(row) if compiled is not None
                   else single.predict_one(row) if single is not None
                   else float(self._predict_encoded(np.array([row], dtype=np.float64))[0]))
            interval = None
            if self._interval is not None:
                lows, highs = intervals.quantile_predictions(self._interval, np.array([row]))
                interval = intervals.bound(raw, float(lows[0]), float(highs[0]), self._q)
        if explain and self._explainer is not None:
            return raw, interval, self._explainer.explain_row(row)
        return raw, interval, None

    def predict_fields(
        self, fields: FieldColumns, n: int
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``n`` validated requests as field columns (``/predict/batch``), with intervals.

        From ``COLUMNWISE_FROM`` films they reach the encoder as columns
        (``inputs.to_columns``), without a record dict per film in between; fewer
        go row by row, as records of the same cells (``inputs.column_records``).
        """
        columns = to_columns(fields)
        if n >= COLUMNWISE_FROM:
            return self.predict_with_intervals(
                RawColumns.from_columns(columns, n, str_or_none=True))
        return self.predict_with_intervals(column_records(columns))

    def predict_with_intervals(
        self, records: Sequence[Mapping[str, Any]] | RawColumns
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Raw predictions of several records, and their interval bounds (None without one)."""
        if not len(records):
            empty = np.empty(0, dtype=np.float64)
            return empty, (empty if self._interval is not None else None), \
                (empty if self._interval is not None else None)
        X = self._encode_batch(records)
        compiled = self._compiled  # read once: one path for the whole batch
        if compiled is not None:
            X = np.ascontiguousarray(X)  # the row-major matrix the three forests read
        raw = self._predict_encoded(X, compiled)
        if self._interval is None:
            return raw, None, None
        if compiled is not None and compiled.bounds is not None:
            lows, highs = compiled.bounds[0].predict(X), compiled.bounds[1].predict(X)
        else:
            lows, highs = intervals.quantile_predictions(self._interval, X)
        low, high = intervals.bounds(raw, lows, highs, self._q)
        return raw, low, high

    def explain(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """One record's explanation, or None for a model TreeSHAP cannot explain."""
        if self._explainer is None:
            return None
        return self._explainer.explain_row(self._encode(record))

    def predict_record(self, record: Mapping[str, Any]) -> float:
        """One record's prediction as a plain float (the /predict path: no numpy)."""
        compiled = self._compiled
        if compiled is not None:
            return compiled.predict_one(self._encode(record))
        if self._single is not None:
            return self._single.predict_one(self._encode(record))
        return float(self.predict_records([record])[0])

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if not records:
            return np.empty(0, dtype=np.float64)
        if len(records) == 1 and self._single is not None:
            return np.array([self.predict_record(records[0])])
        return self._predict_encoded(self._encode_batch(records), self._compiled)

    def _encode_batch(self, records: Sequence[Mapping[str, Any]] | RawColumns) -> np.ndarray:
        if isinstance(records, RawColumns):
            return self._encode_many(records)
        if len(records) >= COLUMNWISE_FROM:
            return self._encode_many(records if isinstance(records, list) else list(records))
        return np.array([self._encode(record) for record in records], dtype=np.float64)

    def _predict_encoded(self, X: np.ndarray, compiled: CompiledForests | None = None) -> np.ndarray:
        if compiled is not None:
            return compiled.point.predict(X)
        if self._booster is not None:
            # One thread: OpenMP start-up dominates a small batch (measured ~10x).
            return self._booster.predict(X, num_threads=1)
        for step in self._middle:
            X = step.transform(X)
        return np.asarray(self._final.predict(X), dtype=np.float64)
