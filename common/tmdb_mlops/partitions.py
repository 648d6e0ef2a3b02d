"""Writing and reading date partitions so that readers never see half of one.

A partition is written in three steps: its old manifest is removed (so the
partition disappears for readers), the data files are written, and the manifest
is written last with the sha256 of every file. Readers list only partitions
that have a manifest and verify each file they read against it.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from typing import TYPE_CHECKING, Any

from tmdb_mlops import layout
from tmdb_mlops.errors import PlatformError
from tmdb_mlops.storage import Storage

if TYPE_CHECKING:
    import pandas as pd


class IntegrityError(PlatformError):
    """A file does not match the sha256 its manifest or metadata recorded."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dumps_json(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, so equal content gives equal bytes."""
    return (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode()


def write_partition(
    storage: Storage,
    *,
    split: str,
    dt: date,
    files: dict[str, bytes],
    manifest: dict[str, Any],
) -> dict[str, Any]:
    """Replace one partition: files first, manifest last; other dates untouched.

    Args:
        files: storage keys (under this partition's raw/ or processed/ prefix) to bytes.
        manifest: what the stage recorded; ``files`` with sha256 and sizes is added.

    Returns:
        The manifest as written.
    """
    prefixes = (layout.raw_prefix(split, dt) + "/", layout.processed_prefix(split, dt) + "/")
    for key in files:
        if not key.startswith(prefixes):
            raise ValueError(f"{key} is outside partition {split}/dt={dt}")
    manifest_key = layout.manifest_key(split, dt)
    storage.delete(manifest_key)
    for prefix in prefixes:
        for stale in storage.list(prefix.rstrip("/")):
            if stale not in files and stale != manifest_key:
                storage.delete(stale)
    for key, data in files.items():
        storage.write_bytes(key, data)
    full = {
        **manifest,
        "split": split,
        "dt": dt.isoformat(),
        "files": {key: {"sha256": sha256_hex(data), "bytes": len(data)} for key, data in files.items()},
    }
    storage.write_bytes(manifest_key, dumps_json(full))
    return full


def read_manifest(storage: Storage, *, split: str, dt: date) -> dict[str, Any] | None:
    """The partition's manifest, or None when the partition does not exist for readers."""
    key = layout.manifest_key(split, dt)
    if not storage.exists(key):
        return None
    return json.loads(storage.read_bytes(key))


def list_partitions(storage: Storage, *, split: str) -> list[date]:
    """Logical dates of the complete partitions of a split, oldest first."""
    dates = {
        layout.dt_from_key(key)
        for key in storage.list(layout.processed_prefix(split))
        if key.endswith("/" + layout.MANIFEST_FILE)
    }
    return sorted(d for d in dates if d is not None)


def read_verified(storage: Storage, key: str, manifest: dict[str, Any]) -> bytes:
    """Read one file of a partition and check it against the manifest's sha256."""
    expected = manifest.get("files", {}).get(key, {}).get("sha256")
    if expected is None:
        raise IntegrityError(f"{storage.url}/{key}: not listed in its manifest")
    data = storage.read_bytes(key)
    if sha256_hex(data) != expected:
        raise IntegrityError(f"{storage.url}/{key}: sha256 does not match its manifest")
    return data


def read_processed_frame(
    storage: Storage, *, split: str, dt: date, manifest: dict[str, Any]
) -> pd.DataFrame:
    """A processed partition's rows, checked against its manifest, in the current schema.

    A partition written with an older schema lacks the columns added since; they
    are read as missing, as the featurizer reads a film whose source lacked them.
    The one reader of an inference partition for batch prediction and the results
    page, so both score exactly the same frame.
    """
    import pandas as pd

    from tmdb_mlops.schema import columns_for

    data = read_verified(storage, layout.movies_key(split, dt), manifest)
    columns = columns_for(split)
    header = pd.read_csv(io.BytesIO(data), nrows=0).columns
    frame = pd.read_csv(io.BytesIO(data), dtype={c: t for c, t in columns.items() if c in header})
    return frame.reindex(columns=list(columns))


# --- folders outside raw/ and processed/: predictions/, monitoring/ (issue #12) ---------


def write_folder(
    storage: Storage, *, folder: str, files: dict[str, bytes], manifest: dict[str, Any]
) -> dict[str, Any]:
    """The partition contract for any one folder: old manifest removed, files, manifest last.

    Used for ``predictions/dt=D/model=V/`` and ``monitoring/dt=D/``: a reader
    sees the folder only once its manifest exists, and the manifest lists the
    sha256 of every file. Files of an earlier write that are not rewritten are
    removed; nothing outside the folder is touched.

    Returns:
        The manifest as written.
    """
    prefix = folder.rstrip("/") + "/"
    for key in files:
        if not key.startswith(prefix) or "/" in key[len(prefix):]:
            raise ValueError(f"{key} is outside folder {folder}")
    manifest_key = prefix + layout.MANIFEST_FILE
    storage.delete(manifest_key)
    for stale in storage.list(folder.rstrip("/")):
        if stale not in files and stale != manifest_key and "/" not in stale[len(prefix):]:
            storage.delete(stale)
    for key, data in files.items():
        storage.write_bytes(key, data)
    full = {
        **manifest,
        "files": {key: {"sha256": sha256_hex(data), "bytes": len(data)} for key, data in files.items()},
    }
    storage.write_bytes(manifest_key, dumps_json(full))
    return full


def read_folder_manifest(storage: Storage, folder: str) -> dict[str, Any] | None:
    """A folder's manifest, or None when the folder does not exist for readers."""
    key = folder.rstrip("/") + "/" + layout.MANIFEST_FILE
    if not storage.exists(key):
        return None
    return json.loads(storage.read_bytes(key))


def list_folders(storage: Storage, prefix: str) -> list[str]:
    """Every folder under ``prefix`` that has a manifest (complete), sorted."""
    suffix = "/" + layout.MANIFEST_FILE
    return sorted(key[: -len(suffix)] for key in storage.list(prefix) if key.endswith(suffix))
