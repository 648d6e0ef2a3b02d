"""The storage layout contract: where every artefact lives, in one place.

::

    raw/{split}/dt=YYYY-MM-DD/{name}.jsonl.gz        raw API responses
    processed/{split}/dt=YYYY-MM-DD/movies.csv        typed, validated rows
    processed/{split}/dt=YYYY-MM-DD/_manifest.json    written last
    models/versions/{version}/model_bundle.joblib
    models/versions/{version}/metadata.json
    models/versions/{version}/metrics.json
    models/champion.json                              the serving pointer
    models/champion_history/{timestamp}.json          every pointer change
    raw/outcomes/dt=YYYY-MM-DD/details.jsonl.gz       the matured predicted films' details
    processed/outcomes/dt=YYYY-MM-DD/movies.csv       their settled ratings (+ _manifest.json)
    predictions/dt=YYYY-MM-DD/model={version}/predictions.csv   batch predictions
    predictions/dt=YYYY-MM-DD/model={version}/_manifest.json    written last
    monitoring/dt=YYYY-MM-DD/report.json              the monitoring report
    monitoring/dt=YYYY-MM-DD/_manifest.json           written last

``dt`` is the pipeline's logical date, never the wall clock. A processed
partition (or a predictions or monitoring folder) without its manifest does not
exist for readers.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

Split = Literal["train", "inference"]
SPLITS: tuple[Split, ...] = ("train", "inference")
#: What ``collect --split`` takes besides a split: every split of the date.
ALL_SPLITS = "all"
#: The third collection split: the settled ratings of predicted films (issue #12). Not in
#: ``SPLITS`` (what ``--split all`` collects): it reads the predictions, not Discover.
OUTCOMES = "outcomes"
COLLECTION_SPLITS: tuple[str, ...] = (*SPLITS, OUTCOMES)

MOVIES_FILE = "movies.csv"
MANIFEST_FILE = "_manifest.json"

BUNDLE_FILE = "model_bundle.joblib"
METADATA_FILE = "metadata.json"
METRICS_FILE = "metrics.json"
CHAMPION_KEY = "models/champion.json"
VERSIONS_PREFIX = "models/versions"
CHAMPION_HISTORY_PREFIX = "models/champion_history"

_DT_RE = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")


def _check_split(split: str) -> None:
    if split not in COLLECTION_SPLITS:
        raise ValueError(f"split must be one of {COLLECTION_SPLITS}, not {split!r}")


def raw_prefix(split: str, dt: date) -> str:
    _check_split(split)
    return f"raw/{split}/dt={dt.isoformat()}"


def processed_prefix(split: str, dt: date | None = None) -> str:
    """The folder of one processed partition, or of all of a split's partitions."""
    _check_split(split)
    return f"processed/{split}" if dt is None else f"processed/{split}/dt={dt.isoformat()}"


def manifest_key(split: str, dt: date) -> str:
    return f"{processed_prefix(split, dt)}/{MANIFEST_FILE}"


def movies_key(split: str, dt: date) -> str:
    return f"{processed_prefix(split, dt)}/{MOVIES_FILE}"


def dt_from_key(key: str) -> date | None:
    """The logical date a key belongs to, or None when it is outside a partition."""
    match = _DT_RE.search(key)
    return date.fromisoformat(match.group(1)) if match else None


def version_prefix(version: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]+", version):
        raise ValueError(f"invalid model version id {version!r}")
    return f"{VERSIONS_PREFIX}/{version}"


def bundle_key(version: str) -> str:
    return f"{version_prefix(version)}/{BUNDLE_FILE}"


def metadata_key(version: str) -> str:
    return f"{version_prefix(version)}/{METADATA_FILE}"


def metrics_key(version: str) -> str:
    return f"{version_prefix(version)}/{METRICS_FILE}"


# --- predictions and monitoring (issue #12) --------------------------------------------

PREDICTIONS_PREFIX = "predictions"
PREDICTIONS_FILE = "predictions.csv"
MONITORING_PREFIX = "monitoring"
REPORT_FILE = "report.json"

_MODEL_RE = re.compile(r"model=([A-Za-z0-9._-]+)")


def predictions_prefix(dt: date | None = None, version: str | None = None) -> str:
    """``predictions/``, one date's folder, or one (date, model version) folder."""
    if dt is None:
        return PREDICTIONS_PREFIX
    day = f"{PREDICTIONS_PREFIX}/dt={dt.isoformat()}"
    if version is None:
        return day
    version_prefix(version)  # the same check of the id as for the registry's folders
    return f"{day}/model={version}"


def predictions_key(dt: date, version: str) -> str:
    return f"{predictions_prefix(dt, version)}/{PREDICTIONS_FILE}"


def predictions_manifest_key(dt: date, version: str) -> str:
    return f"{predictions_prefix(dt, version)}/{MANIFEST_FILE}"


def model_from_key(key: str) -> str | None:
    """The model version a predictions key belongs to, or None."""
    match = _MODEL_RE.search(key)
    return match.group(1) if match else None


def monitoring_prefix(dt: date | None = None) -> str:
    return MONITORING_PREFIX if dt is None else f"{MONITORING_PREFIX}/dt={dt.isoformat()}"


def report_key(dt: date) -> str:
    return f"{monitoring_prefix(dt)}/{REPORT_FILE}"


def monitoring_manifest_key(dt: date) -> str:
    return f"{monitoring_prefix(dt)}/{MANIFEST_FILE}"
