"""The served boosters compiled to native code (lleaves), used only once proven equal.

Why: after the encoder, the model call is most of a /predict's own CPU. LightGBM's
single-row entry point spends ~2.5 us of fixed cost per call plus ~14 ns per tree,
three calls per film (the point booster and the interval's two quantile boosters);
lleaves compiles each forest with LLVM into one native function that walks the
trees as code, ~1 us per call for a quantile booster and about half LightGBM's
time for the point model's (docs/serving.md has the figures). A batch of 1,000
films gains more (the tree walk itself is ~4x faster).

Safety, in this order:

- compiling takes seconds (LLVM), so it never delays a model: the service swaps
  in the LightGBM-backed predictor at once and compiles in a background thread;
- the compiled forests serve only after their outputs equal LightGBM's **bit for
  bit** on a probe of encoded rows (the OpenAPI examples, and hostile rows: NaN
  everywhere, zeros, extreme values); any difference, or any compile error,
  leaves the model on LightGBM, with one WARNING line;
- object code is cached on disk (``MODEL_COMPILE_CACHE_DIR``, by default
  ``~/.cache/tmdb-serve/compiled``) by the sha256 of the model text, the compiler
  versions and the host CPU, written to a temporary file and renamed, so a restart
  or a second worker loads it in milliseconds and never reads a half-written file;
- cached object code is executable code, so the cache is used only in a folder
  owned by this user and writable by nobody else (else each compile starts from
  scratch in a private temporary folder).

lleaves' public ``predict`` converts its input on every call (microseconds that
matter on the single-row path), so :class:`CompiledForest` calls the compiled
entry point directly with buffers prepared once per thread; the entry point's
signature is lleaves' documented C ABI (``forest_root(double*, double*, int, int)``).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import struct
import tempfile
import threading
from collections.abc import Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_DOUBLE_P = ctypes.POINTER(ctypes.c_double)


class CompileError(RuntimeError):
    """A forest could not be compiled, or its outputs differ from LightGBM's."""


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "tmdb-serve" / "compiled"


def private_dir(path: Path) -> bool:
    """Create ``path`` (mode 700) and say whether only this user can write in it."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = path.stat()
    except OSError:
        return False
    return status.st_uid == os.getuid() and not status.st_mode & 0o022


def _host_cpu() -> str:
    import llvmlite.binding as llvm

    return f"{llvm.get_host_cpu_name()}:{llvm.get_host_cpu_features().flatten()}"


class _Slot:
    """One thread's buffers: the packed row and the three outputs, with ready pointers."""

    __slots__ = ("row", "row_ptr", "out", "out_ptrs")

    def __init__(self, n_features: int) -> None:
        self.row = bytearray(8 * n_features)
        self.row_ptr = ctypes.cast((ctypes.c_double * n_features).from_buffer(self.row),
                                   _DOUBLE_P)
        self.out = (ctypes.c_double * 3)()
        base = ctypes.addressof(self.out)
        self.out_ptrs = tuple(ctypes.cast(base + 8 * i, _DOUBLE_P) for i in range(3))


class CompiledForest:
    """One booster as a native function: ``predict(X)`` for matrices, and the row path."""

    def __init__(self, booster: Any, *, n_features: int, cache_dir: Path) -> None:
        import lleaves

        iterations = booster.best_iteration if booster.best_iteration > 0 else -1
        text = booster.model_to_string(num_iteration=iterations)
        key = hashlib.sha256("\n".join([
            text, package_version("lleaves"), package_version("llvmlite"), _host_cpu(),
        ]).encode()).hexdigest()[:32]
        with tempfile.TemporaryDirectory(prefix="tmdb-forest-") as tmp:
            if not private_dir(cache_dir):
                log.warning("%s is not a folder only this user can write: compiling without "
                            "a cache", cache_dir)
                cache_dir = Path(tmp)
            cached = cache_dir / f"{key}.o"
            model_file = Path(tmp) / "model.txt"
            model_file.write_text(text)
            model = lleaves.Model(model_file=str(model_file))
            if model.num_feature() != n_features:
                raise CompileError(f"the booster reads {model.num_feature()} features, "
                                   f"the featurizer writes {n_features}")
            target = cached if cached.exists() else Path(tmp) / "forest.o"
            # Cache blocking helps batches of many rows and costs single rows; blocks of 34
            # trees (lleaves' default) measured slower for one row than one block.
            model.compile(cache=str(target), raw_score=True, fblocksize=model.num_trees())
            if target != cached:
                with contextlib.suppress(OSError):
                    os.replace(target, cached)
        self._model = model  # keeps the compiled code alive
        self._entry = model._c_entry_func  # noqa: SLF001 - lleaves' C entry point, see above
        self.n_features = n_features
        self.cache_file = cached

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Raw scores of the rows of a float64 matrix (one thread)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.zeros(X.shape[0], dtype=np.float64)
        if X.shape[0]:
            self._entry(X.ctypes.data_as(_DOUBLE_P), out.ctypes.data_as(_DOUBLE_P), 0,
                        X.shape[0])
        return out


class CompiledForests:
    """The point forest and, with an interval, the two quantile forests, for one encoded row.

    The same interface as LightGBM's single-row path in ``fast_predict``:
    ``predict_one(row)`` and ``predict_three(row)``, one ``pack_into`` per film.
    """

    def __init__(self, point: CompiledForest, bounds: tuple[CompiledForest, CompiledForest] | None):
        self.point, self.bounds = point, bounds
        self._pack = struct.Struct(f"={point.n_features}d").pack_into
        self._local = threading.local()
        self._entries = (point._entry,) + (  # noqa: SLF001 - same module
            (bounds[0]._entry, bounds[1]._entry) if bounds else ())  # noqa: SLF001

    def _slot(self) -> _Slot:
        slot = getattr(self._local, "slot", None)
        if slot is None:
            slot = self._local.slot = _Slot(self.point.n_features)
        return slot

    def predict_one(self, row: Sequence[float]) -> float:
        slot = self._slot()
        self._pack(slot.row, 0, *row)
        self._entries[0](slot.row_ptr, slot.out_ptrs[0], 0, 1)
        return slot.out[0]

    def predict_three(self, row: Sequence[float]) -> tuple[float, float, float]:
        """(point, lower, upper) raw scores of one row; only with an interval."""
        slot = self._slot()
        self._pack(slot.row, 0, *row)
        point, lower, upper = self._entries
        row_ptr, out_ptrs = slot.row_ptr, slot.out_ptrs
        point(row_ptr, out_ptrs[0], 0, 1)
        lower(row_ptr, out_ptrs[1], 0, 1)
        upper(row_ptr, out_ptrs[2], 0, 1)
        out = slot.out
        return out[0], out[1], out[2]


def probe_rows(n_features: int, encoded: Sequence[Sequence[float]]) -> np.ndarray:
    """The rows a compiled forest must match LightGBM on: real ones and hostile ones.

    Hostile rows cross every split both ways and through its missing-value
    branch: NaN everywhere, zeros, and huge values of both signs.
    """
    hostile = [np.full(n_features, value) for value in
               (np.nan, 0.0, 1e300, -1e300, 0.5, -1.0, 1e4, 2026.0)]
    rng = np.random.default_rng(0)
    real = np.asarray(encoded, dtype=np.float64).reshape(-1, n_features)
    mixed = real[rng.integers(0, len(real), 64)] if len(real) else np.empty((0, n_features))
    if len(mixed):  # real rows with features knocked out to NaN or 0 at random
        mask = rng.random(mixed.shape)
        mixed = np.where(mask < 0.2, np.nan, np.where(mask > 0.9, 0.0, mixed))
    return np.vstack([real, mixed, *hostile])


def compile_forests(
    booster: Any, interval_boosters: tuple[Any, Any] | None, *, n_features: int,
    probe: np.ndarray, cache_dir: Path,
) -> CompiledForests:
    """Compile and prove: every forest's outputs on ``probe`` equal LightGBM's, bit for bit.

    Raises:
        CompileError: (or lleaves'/LLVM's own error) the caller keeps LightGBM.
    """
    boosters = (booster, *(interval_boosters or ()))
    forests = [CompiledForest(b, n_features=n_features, cache_dir=cache_dir) for b in boosters]
    for name, b, forest in zip(("point", "lower", "upper"), boosters, forests, strict=False):
        # What the LightGBM path serves (its normal output: the identity for these
        # objectives; a transforming objective would differ here and stay on LightGBM).
        iterations = b.best_iteration if b.best_iteration > 0 else None
        expected = np.asarray(b.predict(probe, num_iteration=iterations, num_threads=1),
                              dtype=np.float64)
        got = forest.predict(probe)
        if not np.array_equal(expected, got, equal_nan=True):
            with contextlib.suppress(OSError):
                forest.cache_file.unlink()
            worst = float(np.nanmax(np.abs(expected - got)))
            raise CompileError(f"the compiled {name} forest differs from LightGBM "
                               f"(largest difference {worst:g}); not used")
    compiled = CompiledForests(forests[0], (forests[1], forests[2]) if interval_boosters else None)
    for row in probe[:8]:  # the row path, through the same packing as /predict
        if interval_boosters:
            got_three = compiled.predict_three(row.tolist())
            if not np.array_equal(np.array(got_three), np.array(
                    [forests[0].predict(row[None])[0], forests[1].predict(row[None])[0],
                     forests[2].predict(row[None])[0]]), equal_nan=True):
                raise CompileError("the compiled row path differs from the compiled batch path")
        elif not np.array_equal([compiled.predict_one(row.tolist())], forests[0].predict(row[None]),
                                equal_nan=True):
            raise CompileError("the compiled row path differs from the compiled batch path")
    return compiled
