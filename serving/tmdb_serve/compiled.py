"""The served boosters compiled to native code (lleaves), used only once proven equal.

Why: beside the encoder, the model call was the largest part of predicting one film
in process (~10 of ~22 us). LightGBM's single-row entry point spends ~2.5 us of fixed
cost per call plus ~14 ns per tree, three calls per film (the point booster and the
interval's two quantile boosters); lleaves compiles each forest with LLVM into one
native function that walks the trees as code, ~1 us per call for a quantile booster
and about half LightGBM's time for the point model's (docs/serving.md has the
figures, and how little of that shows over HTTP). A batch of 1,000 films gains more
(the tree walk itself is ~4x faster).

Safety, in this order:

- compiling takes seconds (LLVM), so it never delays a model: the service swaps
  in the LightGBM-backed predictor at once and compiles in a background thread,
  through a child process (killed at once when the service stops; a crash in it
  fails only the compile);
- the compiled forests serve only after their outputs equal LightGBM's **bit for
  bit** on a probe of encoded rows (the OpenAPI examples, and hostile rows: NaN
  everywhere, zeros, extreme values); any difference, or any compile error,
  leaves the model on LightGBM, with one WARNING line;
- object code is cached on disk (``MODEL_COMPILE_CACHE_DIR``, by default
  ``~/.cache/tmdb-serve/compiled``) by the sha256 of the model text, the compiler
  versions and the host CPU: compiled to a temporary file beside the cache and
  renamed to its key only once proven equal, so a restart or a second worker loads
  it in milliseconds and the cache never holds unproven or half-written code;
- cached object code is executable code, so the cache is used only in a folder
  nobody but this user (or root) can write, up to the root (else each compile
  starts from scratch in a private temporary folder).

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
import stat
import struct
import subprocess
import sys
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


#: LLVM's in-process state (loading object code) is not thread-safe: one load at a time.
_LLVM = threading.Lock()


def _trusted(status: os.stat_result) -> bool:
    return status.st_uid in (os.getuid(), 0) and not status.st_mode & 0o022


def private_dir(path: Path) -> bool:
    """Create ``path`` (mode 700); True if nobody but this user (or root) can change it.

    Every folder up to the root counts: one another user could write would let them
    swap the cache for theirs. A sticky folder such as /tmp is fine (others cannot
    rename what is ours in it).
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(path.stat()):
            return False
        for parent in path.resolve().parents:
            status = parent.stat()
            if not (_trusted(status) or (status.st_mode & stat.S_ISVTX
                                         and status.st_uid in (os.getuid(), 0))):
                return False
    except OSError:
        return False
    return True


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


#: The compiled entry point's name, the same in the compiling child and where it is loaded.
ROOT_FUNCTION = "forest_root"


def _compile_in_child(model_file: Path, target: Path, *, stop: threading.Event | None) -> None:
    """LLVM's compile in a child process: ``python -m tmdb_serve.compiled MODEL OBJECT``.

    Why a process: a compile takes seconds of C++ that cannot be interrupted, and a
    server that exits while a thread of it is inside LLVM can crash at exit (seen:
    a segmentation fault in one exit of three). A child is killed at once when the
    server stops (``stop``), and a crash in it only fails this compile.
    """
    child = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tmdb_serve.compiled", str(model_file), str(target)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            try:
                _, stderr = child.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if stop is not None and stop.is_set():
                    raise CompileStopped("the service is stopping") from None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode != 0 or not target.exists():
        lines = stderr.decode("utf-8", "replace").strip().splitlines()
        raise CompileError(f"the compiler exited with status {child.returncode}"
                           + (f": {lines[-1]}" if lines else ""))


class CompileStopped(CompileError):
    """The service stopped while a compile ran; nothing is wrong with the model."""


class CompiledForest:
    """One booster as a native function: ``predict(X)`` for matrices, and the row path."""

    def __init__(self, booster: Any, *, n_features: int, cache_dir: Path | None,
                 stop: threading.Event | None = None) -> None:
        """``cache_dir``: a folder :func:`private_dir` accepted; None compiles without a cache."""
        import lleaves

        iterations = booster.best_iteration if booster.best_iteration > 0 else -1
        text = booster.model_to_string(num_iteration=iterations)
        key = hashlib.sha256("\n".join([
            text, package_version("lleaves"), package_version("llvmlite"), _host_cpu(),
        ]).encode()).hexdigest()[:32]
        #: The cache file (``publish`` puts the object code there once it was proven equal).
        self.cache_file: Path | None = cache_dir / f"{key}.o" if cache_dir else None
        #: Object code compiled here and not yet published, beside the cache so that the
        #: rename is atomic (one filesystem).
        self._fresh: Path | None = None
        with tempfile.TemporaryDirectory(prefix="tmdb-forest-") as tmp:
            model_file = Path(tmp) / "model.txt"
            model_file.write_text(text)
            model = lleaves.Model(model_file=str(model_file))
            if model.num_feature() != n_features:
                raise CompileError(f"the booster reads {model.num_feature()} features, "
                                   f"the featurizer writes {n_features}")
            cached = self.cache_file
            if cached is not None and cached.exists() and _trusted(cached.stat()):
                source = cached
            else:
                folder = cache_dir or Path(tmp)
                source = folder / f".{key}.{os.getpid()}.{threading.get_ident()}.o.tmp"
                try:
                    _compile_in_child(model_file, source, stop=stop)
                except BaseException:
                    source.unlink(missing_ok=True)
                    raise
                self._fresh = source if cache_dir else None
            self.loaded_from_cache = source == cached
            # Loading object code (no LLVM optimisation) takes milliseconds, in process.
            with _LLVM:
                model.compile(cache=str(source), froot_func_name=ROOT_FUNCTION)
        self._model = model  # keeps the compiled code alive
        self._entry = model._c_entry_func  # noqa: SLF001 - lleaves' C entry point, see above
        self.n_features = n_features

    def publish(self) -> None:
        """Cache the object code compiled here (call only once it was proven equal)."""
        if self._fresh is not None and self.cache_file is not None:
            os.replace(self._fresh, self.cache_file)
            self._fresh = None

    def discard(self, *, cached_too: bool) -> None:
        """Remove the unpublished object code, and the cached file if it was proven wrong."""
        if self._fresh is not None:
            self._fresh.unlink(missing_ok=True)
            self._fresh = None
        if cached_too and self.loaded_from_cache and self.cache_file is not None:
            self.cache_file.unlink(missing_ok=True)

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
    probe: np.ndarray, cache_dir: Path, stop: threading.Event | None = None,
) -> CompiledForests:
    """Compile and prove: every forest's outputs on ``probe`` equal LightGBM's, bit for bit.

    Raises:
        CompileError: (or lleaves'/LLVM's own error) the caller keeps LightGBM.
    """
    boosters = (booster, *(interval_boosters or ()))
    cache: Path | None = cache_dir
    if not private_dir(cache_dir):
        log.warning("%s is not a folder only this user can write: compiling without a cache",
                    cache_dir)
        cache = None
    forests: list[CompiledForest] = []
    try:
        for b in boosters:
            forests.append(CompiledForest(b, n_features=n_features, cache_dir=cache, stop=stop))
        compiled = _prove(boosters, forests, probe=probe, bounds=interval_boosters is not None)
    except BaseException:
        for forest in forests:
            forest.discard(cached_too=False)
        raise
    for forest in forests:
        forest.publish()
    return compiled


def _prove(
    boosters: Sequence[Any], forests: list[CompiledForest], *, probe: np.ndarray, bounds: bool
) -> CompiledForests:
    """The forests as one predictor, if each equals its booster bit for bit on ``probe``."""
    for name, b, forest in zip(("point", "lower", "upper"), boosters, forests, strict=False):
        # What the LightGBM path serves (its normal output: the identity for these
        # objectives; a transforming objective would differ here and stay on LightGBM).
        iterations = b.best_iteration if b.best_iteration > 0 else None
        expected = np.asarray(b.predict(probe, num_iteration=iterations, num_threads=1),
                              dtype=np.float64)
        got = forest.predict(probe)
        if not np.array_equal(expected, got, equal_nan=True):
            forest.discard(cached_too=True)
            worst = float(np.nanmax(np.abs(expected - got)))
            raise CompileError(f"the compiled {name} forest differs from LightGBM "
                               f"(largest difference {worst:g}); not used")
    compiled = CompiledForests(forests[0], (forests[1], forests[2]) if bounds else None)
    for row in probe[:8]:  # the row path, through the same packing as /predict
        batch = [forest.predict(row[None])[0] for forest in forests]
        got_row = list(compiled.predict_three(row.tolist()) if bounds
                       else [compiled.predict_one(row.tolist())])
        if not np.array_equal(np.array(got_row), np.array(batch), equal_nan=True):
            raise CompileError("the compiled row path differs from the compiled batch path")
    return compiled


def main(argv: Sequence[str]) -> int:
    """The compiling child: ``python -m tmdb_serve.compiled MODEL_TEXT OBJECT_FILE``."""
    import signal

    import lleaves

    with contextlib.suppress(Exception):  # Linux: die with the server thread that waits here
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            return 1
    model_file, target = argv
    model = lleaves.Model(model_file=model_file)
    # Cache blocking helps batches of many rows and costs single rows; one block of all the
    # trees measured faster for one row than lleaves' default blocks of 34.
    model.compile(cache=target, raw_score=True, fblocksize=model.num_trees(),
                  froot_func_name=ROOT_FUNCTION)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
