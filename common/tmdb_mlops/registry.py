"""The model registry: versions in object storage, one champion pointer, a history.

::

    models/versions/{version}/model_bundle.joblib, metrics.json, metadata.json (last)
    models/versions/{version}/promotion.json      the gate's decision for it
    models/champion.json                          {"version", "previous": [...], ...}
    models/champion_history/{timestamp}.json      every pointer change, for audit

A version exists for readers once its metadata.json is written (it goes last),
and is never overwritten. The champion pointer is one JSON object written in
one PUT: it carries the stack of previous champions, so a rollback is also one
PUT and never depends on reading the history back. Serving calls only
:meth:`Registry.champion`, :meth:`Registry.load` and :func:`load_local`.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tmdb_mlops import layout
from tmdb_mlops.bundle import (
    BundleFiles,
    BundleIntegrityError,
    LoadedModel,
    SigningKey,
    build_bundle,
    load_verified,
    verify,
    write_local,
)
from tmdb_mlops.errors import NotFoundError, PlatformError
from tmdb_mlops.partitions import dumps_json
from tmdb_mlops.storage import Storage

PROMOTION_FILE = "promotion.json"


class RegistryError(PlatformError):
    """A registry operation was refused (unknown version, nothing to roll back to...)."""


class UnknownVersionError(RegistryError):
    """The version is not registered."""


def new_version_id(now: datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSSmmmZ-<6 hex>``: sorts by creation time, random suffix against collisions."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Registry:
    """Model versions and the champion pointer in one store.

    Args:
        storage: where ``models/`` lives (local directory or S3).
        signing_key: HMAC key for signing and verifying (``Settings.model_signing_key``),
            or None for unsigned bundles. Required, so that no caller can skip
            verification by forgetting it: the key comes from the caller's settings.
    """

    def __init__(self, storage: Storage, *, signing_key: SigningKey) -> None:
        self.storage = storage
        self._key = signing_key

    # --- versions ---------------------------------------------------------------

    def list_versions(self) -> list[str]:
        """Registered versions, oldest first."""
        suffix = "/" + layout.METADATA_FILE
        versions = {
            key[len(layout.VERSIONS_PREFIX) + 1 : -len(suffix)]
            for key in self.storage.list(layout.VERSIONS_PREFIX)
            if key.endswith(suffix)
        }
        return sorted(v for v in versions if "/" not in v)

    def exists(self, version: str) -> bool:
        try:
            return self.storage.exists(layout.metadata_key(version))
        except ValueError:
            return False

    def _require(self, version: str) -> None:
        if not self.exists(version):
            raise UnknownVersionError(
                f"model version {version!r} is not registered in {self.storage.url} "
                "(see 'tmdb-mlops models list')"
            )

    def metadata(self, version: str) -> dict[str, Any]:
        self._require(version)
        return json.loads(self.storage.read_bytes(layout.metadata_key(version)))

    def metrics(self, version: str) -> dict[str, Any]:
        self._require(version)
        return json.loads(self.storage.read_bytes(layout.metrics_key(version)))

    def register(self, **bundle_args: Any) -> str:
        """Store a new version and return its id.

        Args:
            **bundle_args: everything :func:`tmdb_mlops.bundle.build_bundle` takes
                except ``version`` and ``signing_key`` (pipeline, input_schema,
                metrics, as_of, partitions, training_params).

        The id is chosen first (the metadata names it) and never reuses an
        existing one. Bundle and metrics go first, metadata.json last, so a
        version half-written by a crash is invisible to every reader.
        """
        version = new_version_id()
        while self.storage.list(layout.version_prefix(version)):
            version = new_version_id()
        files = build_bundle(version=version, signing_key=self._key, **bundle_args)
        self.storage.write_bytes(layout.bundle_key(version), files.bundle)
        self.storage.write_bytes(layout.metrics_key(version), files.metrics)
        self.storage.write_bytes(layout.metadata_key(version), files.metadata)
        return version

    def _resolve(self, version: str | None) -> str:
        if version is None:
            version = self.champion()
            if version is None:
                raise NotFoundError(f"{self.storage.url}: no champion model yet")
        self._require(version)
        return version

    def _where(self, version: str) -> str:
        return f"{self.storage.url}/{layout.version_prefix(version)}"

    def files(self, version: str) -> BundleFiles:
        """The three stored files of a version, as bytes (not verified: see :meth:`verify`)."""
        self._require(version)
        return BundleFiles(
            bundle=self.storage.read_bytes(layout.bundle_key(version)),
            metadata=self.storage.read_bytes(layout.metadata_key(version)),
            metrics=self.storage.read_bytes(layout.metrics_key(version)),
        )

    def verify(self, version: str) -> BundleFiles:
        """The version's files once their sha256 (and signature) check out; nothing unpickled.

        Raises:
            BundleIntegrityError: one line naming the version and what does not match.
        """
        files = self.files(version)
        verify(files, signing_key=self._key, where=self._where(version))
        return files

    def load(self, version: str | None = None) -> LoadedModel:
        """A verified model: the given version, or the champion when None."""
        version = self._resolve(version)
        return load_verified(self.files(version), source="registry", signing_key=self._key,
                             where=self._where(version))

    def export(self, version: str | None, directory: str | Path) -> tuple[str, Path]:
        """Copy a version's files (the champion when None), verified and unchanged, to a directory.

        This is how a user fills serving's ``LOCAL_MODEL_DIR``. Returns the version and the path.
        """
        version = self._resolve(version)
        return version, write_local(directory, self.verify(version))

    def write_decision(self, version: str, decision: dict[str, Any]) -> None:
        """The promotion gate's decision, kept beside the version it judged."""
        self._require(version)
        self.storage.write_bytes(f"{layout.version_prefix(version)}/{PROMOTION_FILE}",
                                 dumps_json(decision))

    def decision(self, version: str) -> dict[str, Any] | None:
        key = f"{layout.version_prefix(version)}/{PROMOTION_FILE}"
        return json.loads(self.storage.read_bytes(key)) if self.storage.exists(key) else None

    # --- champion ----------------------------------------------------------------

    def champion_record(self) -> dict[str, Any] | None:
        if not self.storage.exists(layout.CHAMPION_KEY):
            return None
        return json.loads(self.storage.read_bytes(layout.CHAMPION_KEY))

    def champion(self) -> str | None:
        """The version serving should run, or None before the first promotion."""
        record = self.champion_record()
        return str(record["version"]) if record else None

    def _set_champion(self, version: str, *, previous: list[str], action: str, reason: str) -> dict:
        record = {
            "version": version,
            "previous": previous,
            "action": action,
            "reason": reason,
            "changed_at": _now(),
        }
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        history_key = f"{layout.CHAMPION_HISTORY_PREFIX}/{stamp}-{secrets.token_hex(3)}.json"
        self.storage.write_bytes(history_key, dumps_json(record))
        self.storage.write_bytes(layout.CHAMPION_KEY, dumps_json(record))  # last, one PUT
        return record

    def _check_target(self, version: str, action: str) -> None:
        try:
            self.verify(version)
        except BundleIntegrityError as exc:
            raise RegistryError(f"refusing to {action} to {version}: {exc}") from None

    def promote(self, version: str, *, reason: str) -> dict[str, Any]:
        """Make ``version`` the champion, once its files verify (the pointer is one PUT, last)."""
        self._require(version)
        self._check_target(version, "promote")
        current = self.champion_record()
        previous: list[str] = []
        if current is not None:
            if current["version"] == version:
                raise RegistryError(f"model version {version!r} is already the champion")
            previous = [*current.get("previous", []), current["version"]]
        return self._set_champion(version, previous=previous, action="promote", reason=reason)

    def rollback(self, *, reason: str = "manual rollback") -> dict[str, Any]:
        """Return to the champion before the current one."""
        current = self.champion_record()
        if current is None:
            raise RegistryError(f"{self.storage.url}: no champion, nothing to roll back")
        stack = list(current.get("previous", []))
        while stack and not self.exists(stack[-1]):
            stack.pop()
        if not stack:
            raise RegistryError(
                f"champion {current['version']} has no previous champion to roll back to"
            )
        target = stack.pop()
        self._check_target(target, "roll back")
        return self._set_champion(
            target, previous=stack, action="rollback",
            reason=f"{reason} (from {current['version']})",
        )

    def history(self) -> list[dict[str, Any]]:
        """Every pointer change, oldest first."""
        keys = self.storage.list(layout.CHAMPION_HISTORY_PREFIX)
        return [json.loads(self.storage.read_bytes(k)) for k in keys if k.endswith(".json")]


def load_local(directory: str | Path, *, signing_key: SigningKey) -> LoadedModel:
    """A bundle from a local directory (same three files, same checks), source="local"."""
    path = Path(directory)
    try:
        files = BundleFiles(
            bundle=(path / layout.BUNDLE_FILE).read_bytes(),
            metadata=(path / layout.METADATA_FILE).read_bytes(),
            metrics=(path / layout.METRICS_FILE).read_bytes(),
        )
    except FileNotFoundError as exc:
        raise NotFoundError(f"{path}: no model bundle ({Path(exc.filename).name} missing)") from None
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read the model bundle ({exc.strerror})") from None
    return load_verified(files, source="local", signing_key=signing_key, where=str(path))
