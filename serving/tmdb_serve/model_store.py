"""The model being served: loaded from the registry, verified, swapped atomically.

Requests read :attr:`ModelStore.current` once and use that object to the end,
so a swap never mixes two models inside one request and in-flight requests
finish on the old model. A swap is one attribute assignment, made only after
the candidate passed every check: the registry's sha256/HMAC verification
(inside ``Registry.load``), the input schema, and a smoke prediction on the
OpenAPI examples. A refused candidate is logged and counted, and the old model
keeps serving.

With nothing served yet (a new replica, a restart) a champion that cannot be
verified does not leave the service without a model: the most recent earlier
champion that verifies is served instead, labelled ``source="fallback"``
everywhere (with the champion it stands in for), and every poll checks whether
the champion was repaired or replaced. When the store is unreachable at
start-up, the bundle in ``LOCAL_MODEL_DIR`` is served, labelled ``source="local"``.

After every swap the model's trees are compiled to native code in a background
thread (``tmdb_serve.compiled``); the predictor switches to them only once their
outputs equal LightGBM's bit for bit, so a swap is never delayed by a compile and
a compile failure only leaves the model on LightGBM's own calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tmdb_mlops.bundle import LoadedModel, SigningKey
from tmdb_mlops.errors import PlatformError, StorageError
from tmdb_mlops.inputs import EXAMPLES, MovieFeatures, to_record
from tmdb_mlops.registry import Registry, load_local
from tmdb_mlops.schema import PRE_RELEASE_COLUMNS
from tmdb_serve.compiled import CompileStopped
from tmdb_serve.fast_predict import FastPredictor
from tmdb_serve.metrics import ServiceMetrics
from tmdb_serve.schemas import ReloadResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServableModel:
    """A verified model from the registry (or the local bundle) and its fast predictor."""

    loaded: LoadedModel
    fast: FastPredictor = field(repr=False, compare=False)
    #: The champion this model stands in for, when it is a fallback from the history.
    instead_of: str | None = None

    @classmethod
    def of(cls, loaded: LoadedModel, *, instead_of: str | None = None) -> ServableModel:
        return cls(loaded=loaded, fast=FastPredictor(loaded.pipeline, interval=loaded.interval),
                   instead_of=instead_of)

    @property
    def version(self) -> str:
        return self.loaded.version

    @property
    def source(self) -> str:
        """``registry``, ``local``, or ``fallback`` (an earlier champion standing in)."""
        return "fallback" if self.instead_of is not None else self.loaded.source

    @property
    def metadata(self) -> dict[str, Any]:
        return self.loaded.metadata

    @property
    def metrics(self) -> dict[str, Any]:
        return self.loaded.metrics

    @property
    def input_schema(self) -> dict[str, Any]:
        return self.loaded.input_schema

    @property
    def pipeline(self) -> Any:
        return self.loaded.pipeline

    def predict_record(self, record: Mapping[str, Any]) -> float:
        """One record's prediction as a float (the /predict path: no pandas, no numpy)."""
        return self.fast.predict_record(record)

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Predictions for raw records (the processed CSV's columns, lists as "A|B" or lists)."""
        return self.fast.predict_records(records)

    def predict_frame(self, frame: Any) -> np.ndarray:
        """Predictions for a DataFrame of processed rows (extra columns are ignored)."""
        return self.loaded.predict_frame(frame)

    def predict_frame_with_intervals(
        self, frame: Any
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Raw predictions of a DataFrame's rows and their interval bounds (None without one)."""
        return self.loaded.predict_frame_with_intervals(frame)

    @property
    def interval_summary(self) -> dict[str, Any] | None:
        """The trainer's measurement of the interval (metrics.json), when the bundle has one."""
        summary = self.metrics.get("interval")
        if not self.fast.has_interval or not isinstance(summary, dict):
            return None
        return summary


class VerificationError(PlatformError):
    """A candidate model loaded but failed the service's own checks."""


SMOKE_RECORDS = [to_record(MovieFeatures.model_validate(example)) for example in EXAMPLES]


def verify(model: ServableModel) -> None:
    """Refuse a model whose inputs the service cannot build or whose outputs are not finite."""
    columns = model.input_schema.get("columns")
    if not isinstance(columns, dict):
        raise VerificationError(f"model {model.version} has no input columns in its input schema")
    unknown = set(columns) - set(PRE_RELEASE_COLUMNS)
    if unknown:
        raise VerificationError(
            f"model {model.version} expects columns the service does not send: {sorted(unknown)}"
        )
    try:
        predictions = model.predict_records(SMOKE_RECORDS)
    except Exception as exc:  # noqa: BLE001 - any failure refuses the candidate
        raise VerificationError(
            f"model {model.version} failed the smoke prediction: {type(exc).__name__}: {exc}"
        ) from None
    if predictions.shape != (len(SMOKE_RECORDS),) or not np.all(np.isfinite(predictions)):
        raise VerificationError(
            f"model {model.version} gave an invalid smoke prediction: {predictions!r}"
        )
    if model.fast.has_interval:
        try:
            _, low, high = model.fast.predict_with_intervals(SMOKE_RECORDS)
        except Exception as exc:  # noqa: BLE001 - a broken interval refuses the candidate
            raise VerificationError(
                f"model {model.version} failed the smoke interval: {type(exc).__name__}: {exc}"
            ) from None
        if low is None or high is None or not (np.all(np.isfinite(low)) and np.all(low <= high)):
            raise VerificationError(f"model {model.version} gave an invalid smoke interval")


class ModelStore:
    """Holds the current model and replaces it when the champion pointer moves.

    Args:
        registry: where the champion comes from.
        local_model_dir: ``LOCAL_MODEL_DIR``, the bundle served when the registry
            gives no model at start-up (None: no fallback).
        signing_key: the key the local bundle is verified with (the registry's).
        metrics: where the served model and the reloads are counted.
        poll_seconds: how often the poller reads the champion pointer (0: never).
        compile_cache_dir: where compiled trees are cached; None: never compile.
    """

    def __init__(
        self,
        *,
        registry: Registry,
        local_model_dir: str | None,
        signing_key: SigningKey,
        metrics: ServiceMetrics,
        poll_seconds: float,
        compile_cache_dir: Path | None = None,
    ) -> None:
        self._registry = registry
        self._local_model_dir = local_model_dir
        self._signing_key = signing_key
        self._metrics = metrics
        self._poll_seconds = poll_seconds
        self._compile_cache_dir = compile_cache_dir
        self._compilers: list[threading.Thread] = []
        self._compile_lock = threading.Lock()  # one compile at a time
        self._model: ServableModel | None = None
        self._refused: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> ServableModel | None:
        """The model to use for one request; read it once and keep the reference."""
        return self._model

    @property
    def metrics(self) -> ServiceMetrics:
        """Where the served model's predictions and reloads are counted."""
        return self._metrics

    def _swap(self, model: ServableModel) -> None:
        self._model = model
        self._metrics.set_model(version=model.version, source=model.source)
        if self._compile_cache_dir is not None and model.fast.compilable:
            thread = threading.Thread(target=self._compile, args=(model,),
                                      name=f"compile-{model.version}", daemon=True)
            self._compilers = [t for t in self._compilers if t.is_alive()] + [thread]
            thread.start()

    def _compile(self, model: ServableModel) -> None:
        """Compile ``model``'s trees; it switches to them only if they match LightGBM's."""
        with self._compile_lock:
            if self._model is model and not self._stop.is_set():
                self._compile_current(model)

    def _compile_current(self, model: ServableModel) -> None:
        started = time.perf_counter()
        try:
            model.fast.compile(cache_dir=self._compile_cache_dir, records=SMOKE_RECORDS,
                               stop=self._stop)
        except CompileStopped:
            log.info("compiling model %s's trees stopped with the service", model.version)
            return
        except Exception as exc:  # noqa: BLE001 - LightGBM's path keeps serving, correct
            self._metrics.compiles.labels(outcome="failed").inc()
            log.warning("model %s stays on LightGBM's prediction calls: compiling its trees "
                        "failed: %s: %s", model.version, type(exc).__name__, exc)
            return
        self._metrics.compiles.labels(outcome="compiled").inc()
        log.info("model %s now predicts through its compiled trees (proven equal to "
                 "LightGBM's outputs; %.1f s)", model.version, time.perf_counter() - started)

    def wait_compiled(self, timeout: float | None = None) -> bool:
        """Wait for the compiles under way (tests, benchmarks); True if none is left running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._compilers):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._compilers)

    def start(self) -> None:
        """Initial load (registry, else the local bundle), then start the poller."""
        result = self.check(force=True)
        if self._model is None and self._local_model_dir:
            self._load_local(self._local_model_dir, reason=result.detail)
        if self._model is None:
            log.error("no model to serve (%s); /ready answers 503 until one loads", result.detail)
        if self._poll_seconds > 0:
            self._thread = threading.Thread(target=self._poll, name="model-poller", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        # The stop event kills a compile's child process; loading its output takes ms.
        self.wait_compiled(timeout=10)

    def _load_local(self, directory: str, *, reason: str) -> None:
        try:
            model = ServableModel.of(load_local(directory, signing_key=self._signing_key))
            verify(model)
        except Exception as exc:  # noqa: BLE001 - logged; the process stays up without a model
            self._metrics.reloads.labels(outcome="refused").inc()
            log.error("local model bundle refused: %s", exc)
            return
        self._swap(model)
        log.warning(
            "serving the LOCAL bundle %s (source=local) because the registry gave no model: %s",
            model.version,
            reason,
        )

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the poller must survive anything
                log.exception("model poll failed")

    def check(self, *, force: bool = False) -> ReloadResult:
        """Load the registry's champion if it differs from the model being served.

        Args:
            force: retry a version that was refused before (an operator asked).
        """
        with self._lock:
            return self._check(force=force)

    def _result(self, outcome: str, detail: str) -> ReloadResult:
        model = self._model
        return ReloadResult(
            outcome=outcome,  # type: ignore[arg-type]
            model_version=model.version if model else None,
            model_source=model.source if model else None,  # type: ignore[arg-type]
            detail=detail,
        )

    def _check(self, *, force: bool) -> ReloadResult:
        current = self._model
        try:
            champion = self._registry.champion()
        except Exception as exc:  # noqa: BLE001 - the store may be down; keep serving
            self._metrics.reloads.labels(outcome="error").inc()
            log.warning("cannot read the champion pointer: %s", exc)
            return self._result("error", f"registry unreachable: {exc}")
        if champion is None:
            return self._result("unchanged", "the registry has no champion yet")
        if current is not None and current.source == "registry" and current.version == champion:
            return self._result("unchanged", f"{champion} is already served")
        # A refused champion is not downloaded again, unless an operator forces it or a
        # fallback stands in for it: then each poll checks whether it was repaired.
        standing_in = current is not None and current.instead_of == champion
        if champion == self._refused and not force and not standing_in:
            return self._result("unchanged", f"{champion} was refused before")
        try:
            candidate = ServableModel.of(self._registry.load(champion))
        except StorageError as exc:
            self._metrics.reloads.labels(outcome="error").inc()
            log.warning("cannot load champion %s: %s", champion, exc)
            return self._result("error", f"cannot load {champion}: {exc}")
        except Exception as exc:  # noqa: BLE001 - tampered or unreadable bundle
            return self._refuse_champion(champion, f"{type(exc).__name__}: {exc}")
        try:
            verify(candidate)
        except VerificationError as exc:
            return self._refuse_champion(champion, str(exc))
        self._refused = None
        previous = current.version if current else None
        self._swap(candidate)
        self._metrics.reloads.labels(outcome="reloaded").inc()
        log.info("now serving model %s (was %s)", candidate.version, previous)
        return self._result("reloaded", f"loaded {candidate.version}")

    def _refuse_champion(self, champion: str, reason: str) -> ReloadResult:
        """Refuse the champion; with nothing served yet, fall back to the champion history."""
        result = self._refuse(champion, reason)
        if self._model is None:
            fallback = self._fallback(champion)
            if fallback is not None:
                return self._result("refused", f"{result.detail}; serving {fallback} instead")
        return result

    def _fallback(self, champion: str) -> str | None:
        """The most recent earlier champion that loads and verifies, swapped in; None if none.

        Only when nothing is served (a new replica, a restart): a running server keeps
        its model instead. The stack of earlier champions is in the pointer itself
        (``previous``), so this reads no more than the pointer and the candidates.
        """
        try:
            record = self._registry.champion_record() or {}
        except Exception as exc:  # noqa: BLE001 - the store went away meanwhile
            log.warning("cannot read the champion history: %s", exc)
            return None
        tried: set[str] = {champion}
        for version in reversed(list(record.get("previous", []))):
            if version in tried:
                continue
            tried.add(version)
            try:
                candidate = ServableModel.of(self._registry.load(version), instead_of=champion)
                verify(candidate)
            except Exception as exc:  # noqa: BLE001 - try the one before
                log.warning("earlier champion %s is not usable either: %s", version, exc)
                continue
            self._swap(candidate)
            self._metrics.reloads.labels(outcome="fallback").inc()
            log.error(
                "champion %s cannot be verified; serving the earlier champion %s "
                "(source=fallback) and polling for a usable one", champion, version,
            )
            return version
        return None

    def _refuse(self, version: str, reason: str) -> ReloadResult:
        self._refused = version
        self._metrics.reloads.labels(outcome="refused").inc()
        current = self._model
        log.error(
            "refused candidate model %s: %s; still serving %s",
            version,
            reason,
            current.version if current else "nothing",
        )
        return self._result("refused", f"refused {version}: {reason}")
