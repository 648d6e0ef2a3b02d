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

``dt`` is the pipeline's logical date, never the wall clock. A processed
partition without its manifest does not exist for readers.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

Split = Literal["train", "inference"]
SPLITS: tuple[Split, ...] = ("train", "inference")
#: What ``collect --split`` takes besides a split: every split of the date.
ALL_SPLITS = "all"

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
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")


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
