"""The model-bundle contract: three files per version, verified before unpickling.

::

    model_bundle.joblib   {"pipeline": fitted sklearn Pipeline, "input_schema": {...},
                           "feature_names": [...], "bundle_format": 1,
                           "loss_estimator": {...} (optional, issue #12),
                           "interval": {...} (optional, issue #13: tmdb_mlops.intervals)}
    metadata.json         version, created_at, as_of, partitions (with manifest hashes),
                          feature names, input schema, library versions, git revision,
                          training parameters, bundle_sha256, metrics_sha256,
                          signature (HMAC-SHA256, when MODEL_SIGNING_KEY is set)
    metrics.json          holdout metrics of the model and the baselines

A joblib file is a pickle: loading one runs code. So :func:`verify` checks the
bundle's sha256 against metadata.json (and the HMAC of metadata.json, which
covers that sha256, when a signing key is configured) BEFORE anything is
unpickled. With a key configured an unsigned bundle is refused: otherwise
anyone able to write to the store could replace both files. The signature is
over the canonical JSON of metadata without its ``signature`` field.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import SecretStr

from tmdb_mlops import layout
from tmdb_mlops.partitions import IntegrityError, dumps_json, sha256_hex

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

BUNDLE_FORMAT = 1
Source = Literal["registry", "local"]
SigningKey = str | bytes | SecretStr | None


class BundleIntegrityError(IntegrityError):
    """A bundle does not match its metadata, or its signature is missing or wrong."""


@dataclass(frozen=True)
class BundleFiles:
    """The three files of one version, as bytes ready to store."""

    bundle: bytes
    metadata: bytes
    metrics: bytes

    def as_dict(self) -> dict[str, bytes]:
        return {
            layout.BUNDLE_FILE: self.bundle,
            layout.METADATA_FILE: self.metadata,
            layout.METRICS_FILE: self.metrics,
        }


def write_local(directory: str | Path, files: BundleFiles) -> Path:
    """Write a bundle's three files to a directory (serving's LOCAL_MODEL_DIR)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for name, data in files.as_dict().items():
        (path / name).write_bytes(data)
    return path


def _key_bytes(key: SigningKey) -> bytes | None:
    if key is None:
        return None
    if isinstance(key, SecretStr):
        key = key.get_secret_value()
    raw = key.encode() if isinstance(key, str) else key
    return raw or None


def _signature(metadata: Mapping[str, Any], key: bytes) -> str:
    unsigned = {k: v for k, v in metadata.items() if k != "signature"}
    return hmac.new(key, dumps_json(unsigned), hashlib.sha256).hexdigest()


def git_revision(configured: str | None = None) -> str:
    """The configured revision (``GIT_REVISION``, set in images), else ``git rev-parse HEAD``."""
    if configured:
        return configured
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    revision = out.stdout.strip()
    return revision if out.returncode == 0 and revision else "unknown"


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in ("tmdb-mlops", "tmdb-train", "scikit-learn", "lightgbm", "numpy", "pandas",
                 "joblib"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "missing"
    return versions


def build_bundle(
    *,
    version: str,
    pipeline: Any,
    input_schema: Mapping[str, Any],
    metrics: Mapping[str, Any],
    as_of: str,
    partitions: Sequence[Mapping[str, Any]],
    training_params: Mapping[str, Any],
    signing_key: SigningKey = None,
    revision: str | None = None,
    created_at: datetime | None = None,
    loss_estimator: Any = None,
    monitoring_reference: Mapping[str, Any] | None = None,
    interval: Mapping[str, Any] | None = None,
) -> BundleFiles:
    """Serialise a fitted pipeline and describe it; sign it when a key is given.

    ``signing_key`` is used as given (None: unsigned). ``revision`` is the source
    revision to record (``Settings.git_revision``); without one, git is asked.
    ``loss_estimator`` (``tmdb_mlops.loss_estimate``) goes into the joblib payload
    beside the pipeline, ``monitoring_reference`` (the training data's drift profile,
    ``tmdb_mlops.drift``) into metadata.json; both are optional, and a bundle
    without them loads as before (issue #12). ``interval`` (``tmdb_mlops.intervals``:
    two quantile boosters and the calibration's conformity scores) goes into the
    joblib payload too; a bundle without it serves no interval (issue #13).
    """
    import joblib

    from tmdb_mlops.features import featurizer_of

    feature_names = [str(n) for n in featurizer_of(pipeline).get_feature_names_out()]
    buffer = io.BytesIO()
    payload: dict[str, Any] = {
        "bundle_format": BUNDLE_FORMAT,
        "pipeline": pipeline,
        "input_schema": dict(input_schema),
        "feature_names": feature_names,
    }
    if loss_estimator is not None:
        payload["loss_estimator"] = loss_estimator
    if interval is not None:
        payload["interval"] = dict(interval)
    joblib.dump(payload, buffer, compress=3)
    bundle = buffer.getvalue()
    metrics_bytes = dumps_json(dict(metrics))
    metadata: dict[str, Any] = {
        "bundle_format": BUNDLE_FORMAT,
        "version": version,
        "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "as_of": as_of,
        "partitions": list(partitions),
        "feature_names": feature_names,
        "input_schema": dict(input_schema),
        "library_versions": library_versions(),
        "git_revision": git_revision(revision),
        "training_params": dict(training_params),
        "bundle_sha256": sha256_hex(bundle),
        "metrics_sha256": sha256_hex(metrics_bytes),
    }
    if monitoring_reference is not None:
        metadata["monitoring_reference"] = dict(monitoring_reference)
    key = _key_bytes(signing_key)
    if key is not None:
        metadata["signature"] = {"algorithm": "HMAC-SHA256", "value": _signature(metadata, key)}
    return BundleFiles(bundle=bundle, metadata=dumps_json(metadata), metrics=metrics_bytes)


def verify(
    files: BundleFiles, *, signing_key: SigningKey = None, where: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the bytes against metadata.json (and its signature) without unpickling.

    Returns:
        (metadata, metrics) parsed.

    Raises:
        BundleIntegrityError: one line naming ``where`` and what does not match.
    """
    try:
        metadata = json.loads(files.metadata)
        metrics = json.loads(files.metrics)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleIntegrityError(f"{where}: metadata.json or metrics.json is not JSON ({exc})") from None
    if not isinstance(metadata, dict) or not isinstance(metrics, dict):
        raise BundleIntegrityError(f"{where}: metadata.json and metrics.json must be objects")
    key = _key_bytes(signing_key)
    if key is not None:
        signature = metadata.get("signature")
        if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
            raise BundleIntegrityError(
                f"{where}: bundle is not signed but MODEL_SIGNING_KEY is set; refusing it"
            )
        if not hmac.compare_digest(signature["value"], _signature(metadata, key)):
            raise BundleIntegrityError(f"{where}: HMAC signature does not match (wrong key or tampered)")
    if sha256_hex(files.bundle) != metadata.get("bundle_sha256"):
        raise BundleIntegrityError(f"{where}: model_bundle.joblib sha256 does not match metadata.json")
    if sha256_hex(files.metrics) != metadata.get("metrics_sha256"):
        raise BundleIntegrityError(f"{where}: metrics.json sha256 does not match metadata.json")
    return metadata, metrics


def load_verified(
    files: BundleFiles, *, source: Source, signing_key: SigningKey = None, where: str
) -> LoadedModel:
    """Verify, then (only then) unpickle; refuse a pipeline with post-release features.

    Bundles of an older format, or whose pickled classes no longer import, are
    refused with one line that says so (retrain, or roll back to a loadable version).
    """
    import joblib

    from tmdb_mlops.leakage import LeakageError, assert_pre_release

    metadata, metrics = verify(files, signing_key=signing_key, where=where)
    try:
        payload = joblib.load(io.BytesIO(files.bundle))
    except (ImportError, AttributeError) as exc:  # a class moved or a library is missing
        raise BundleIntegrityError(
            f"{where}: the bundle needs code this installation does not have ({exc}); "
            "retrain it or serve another version"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is one line
        raise BundleIntegrityError(
            f"{where}: cannot unpickle the bundle ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(payload, dict) or payload.get("bundle_format") != BUNDLE_FORMAT:
        found = payload.get("bundle_format") if isinstance(payload, dict) else None
        raise BundleIntegrityError(
            f"{where}: bundle format {found!r}, this installation reads format {BUNDLE_FORMAT}"
        )
    pipeline = payload["pipeline"]
    try:
        assert_pre_release(pipeline)
    except (LeakageError, TypeError) as exc:
        raise BundleIntegrityError(f"{where}: {exc}") from None
    return LoadedModel(
        version=str(metadata.get("version")),
        metadata=metadata,
        metrics=metrics,
        source=source,
        pipeline=pipeline,
        input_schema=payload["input_schema"],
        loss_estimator=payload.get("loss_estimator"),
        interval=payload.get("interval"),
    )


@dataclass(frozen=True)
class LoadedModel:
    """A verified model ready to predict, and what is known about it."""

    version: str
    metadata: dict[str, Any]
    metrics: dict[str, Any]
    source: Source
    pipeline: Any
    input_schema: dict[str, Any]
    #: The direct-loss-estimation regressors (``tmdb_mlops.loss_estimate``); None for a
    #: bundle trained before issue #12.
    loss_estimator: Any = None
    #: The calibrated prediction interval (``tmdb_mlops.intervals``); None for a bundle
    #: trained before issue #13.
    interval: Any = None

    @property
    def feature_names(self) -> list[str]:
        return list(self.metadata.get("feature_names", []))

    @property
    def created_at(self) -> str | None:
        return self.metadata.get("created_at")

    @property
    def as_of(self) -> str | None:
        return self.metadata.get("as_of")

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Predictions for a DataFrame of processed rows (extra columns are ignored)."""
        import numpy as np

        return np.asarray(self.pipeline.predict(frame), dtype=np.float64)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """The featurizer's matrix of a DataFrame of processed rows (what the booster reads)."""
        from tmdb_mlops.features import featurizer_of

        return featurizer_of(self.pipeline).transform(frame)

    def predict_encoded_with_intervals(
        self, encoded: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Raw predictions and interval bounds (None without an interval) of an encoded matrix.

        The predictions are ``pipeline.predict``'s: the matrix through the rest of the
        pipeline; the bounds are ``tmdb_mlops.intervals``' on the same matrix.
        """
        import numpy as np

        from tmdb_mlops import intervals

        raw = np.asarray(self.pipeline[1:].predict(encoded), dtype=np.float64)
        if not intervals.usable(self.interval):
            return raw, None, None
        low, high = intervals.intervals_for(self.interval, encoded, raw)
        return raw, low, high

    def predict_frame_with_intervals(
        self, frame: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """:meth:`predict_encoded_with_intervals` of a DataFrame, encoded once."""
        return self.predict_encoded_with_intervals(self.encode(frame))
