"""The model-bundle contract: three files per version, verified before unpickling.

::

    model_bundle.joblib   {"pipeline": fitted sklearn Pipeline, "input_schema": {...},
                           "feature_names": [...], "bundle_format": 1}
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
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


def _key_bytes(key: SigningKey) -> bytes | None:
    if key is None:
        return None
    if isinstance(key, SecretStr):
        key = key.get_secret_value()
    raw = key.encode() if isinstance(key, str) else key
    return raw or None


def configured_key(key: SigningKey) -> bytes | None:
    """The key to use: the one passed, else MODEL_SIGNING_KEY from the settings."""
    explicit = _key_bytes(key)
    if explicit is not None:
        return explicit
    from tmdb_mlops.config import get_settings

    return _key_bytes(get_settings().model_signing_key)


def _signature(metadata: Mapping[str, Any], key: bytes) -> str:
    unsigned = {k: v for k, v in metadata.items() if k != "signature"}
    return hmac.new(key, dumps_json(unsigned), hashlib.sha256).hexdigest()


def git_revision() -> str:
    """GIT_REVISION (set in images), else ``git rev-parse HEAD``, else "unknown"."""
    if os.environ.get("GIT_REVISION"):
        return os.environ["GIT_REVISION"]
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
    for name in ("tmdb-mlops", "scikit-learn", "lightgbm", "numpy", "pandas", "joblib"):
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
    created_at: datetime | None = None,
) -> BundleFiles:
    """Serialise a fitted pipeline and describe it; sign it when a key is given.

    ``signing_key`` is used as given (None: unsigned); the registry resolves the
    configured key before calling this.
    """
    import joblib

    from tmdb_mlops.features import featurizer_of

    feature_names = [str(n) for n in featurizer_of(pipeline).get_feature_names_out()]
    buffer = io.BytesIO()
    joblib.dump(
        {
            "bundle_format": BUNDLE_FORMAT,
            "pipeline": pipeline,
            "input_schema": dict(input_schema),
            "feature_names": feature_names,
        },
        buffer,
        compress=3,
    )
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
        "git_revision": git_revision(),
        "training_params": dict(training_params),
        "bundle_sha256": sha256_hex(bundle),
        "metrics_sha256": sha256_hex(metrics_bytes),
    }
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
    """Verify, then (only then) unpickle; refuse a pipeline with post-release features."""
    import joblib

    from tmdb_mlops.features import FastPredictor, LeakageError, assert_pre_release

    metadata, metrics = verify(files, signing_key=signing_key, where=where)
    try:
        payload = joblib.load(io.BytesIO(files.bundle))
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is one line
        raise BundleIntegrityError(
            f"{where}: cannot unpickle the bundle ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(payload, dict) or payload.get("bundle_format") != BUNDLE_FORMAT:
        raise BundleIntegrityError(f"{where}: not a bundle of format {BUNDLE_FORMAT}")
    pipeline = payload["pipeline"]
    try:
        assert_pre_release(pipeline)
        fast = FastPredictor(pipeline)
    except (LeakageError, TypeError) as exc:
        raise BundleIntegrityError(f"{where}: {exc}") from None
    return LoadedModel(
        version=str(metadata.get("version")),
        metadata=metadata,
        metrics=metrics,
        source=source,
        pipeline=pipeline,
        input_schema=payload["input_schema"],
        fast=fast,
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
    fast: Any = field(repr=False, compare=False)

    @property
    def feature_names(self) -> list[str]:
        return list(self.metadata.get("feature_names", []))

    @property
    def created_at(self) -> str | None:
        return self.metadata.get("created_at")

    @property
    def as_of(self) -> str | None:
        return self.metadata.get("as_of")

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Predictions for raw records (dicts of processed-CSV columns, lists as "A|B" or lists).

        Always the FastPredictor (same fitted state as the pipeline, identical
        numbers): building a DataFrame only for the featurizer to turn it back
        into records was slower at every batch size measured (1 to 1,000 rows).
        """
        return self.fast.predict_records(records)

    def predict_record(self, record: Mapping[str, Any]) -> float:
        """One record's prediction as a float: ``predict_records([record])[0]`` without numpy."""
        return self.fast.predict_record(record)

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Predictions for a DataFrame of processed rows (extra columns are ignored)."""
        import numpy as np

        return np.asarray(self.pipeline.predict(frame), dtype=np.float64)
