"""Object storage with two backends behind one small interface.

Keys are always ``/``-separated and relative to the store's root (the local
directory, or the ``s3://bucket/prefix``). Writes are atomic as readers see
them: a local write goes to a temporary file that is renamed into place, an S3
write is one PUT. Every failure is raised as a :class:`StorageError` whose
message names the URL and the cause on one line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from pydantic import SecretStr

from tmdb_mlops.config import Settings
from tmdb_mlops.errors import NotFoundError, StorageError


class Storage(Protocol):
    """What every backend offers; the rest of the platform uses nothing else."""

    url: str

    def read_bytes(self, key: str) -> bytes: ...

    def write_bytes(self, key: str, data: bytes) -> None: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> list[str]: ...

    def delete(self, key: str) -> None: ...

    def check(self) -> None: ...


def _clean_key(key: str) -> str:
    parts = [p for p in key.strip("/").split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise StorageError(f"invalid storage key {key!r}")
    return "/".join(parts)


class LocalStorage:
    """A directory on the local disk: the embedded default."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / _clean_key(key)

    def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{self.url}/{_clean_key(key)}: no such key") from None
        except OSError as exc:
            raise StorageError(f"{self.url}/{_clean_key(key)}: {exc.strerror}") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"{self.url}/{_clean_key(key)}: cannot write ({exc.strerror})") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = self.root / prefix.strip("/") if prefix.strip("/") else self.root
        if not base.exists():
            return []
        keys = [
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        ]
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.url}: not usable ({exc.strerror})") from None
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"{self.url}: not writable")


class S3Storage:
    """Any S3-compatible server through boto3 (AWS, SeaweedFS, moto, MinIO)."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str = "us-east-1",
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
    ) -> None:
        import boto3
        from botocore.config import Config

        parsed = urlparse(url)
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.url = url.rstrip("/")
        self.endpoint_url = endpoint_url
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
            config=Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": max_attempts, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )

    def _key(self, key: str) -> str:
        clean = _clean_key(key)
        return f"{self.prefix}/{clean}" if self.prefix else clean

    def _where(self, key: str | None = None) -> str:
        where = f"{self.url}/{_clean_key(key)}" if key else self.url
        return f"{where} (endpoint {self.endpoint_url})" if self.endpoint_url else where

    def _fail(self, exc: Exception, key: str | None = None) -> StorageError:
        """Translate boto errors into one line that names the URL and the cause."""
        from botocore.exceptions import (
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
        )
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )

        where = self._where(key)
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                return NotFoundError(f"{where}: bucket {self.bucket!r} does not exist")
            if code in ("NoSuchKey", "404", "NotFound"):
                return NotFoundError(f"{where}: no such key")
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403") or (
                status == 403
            ):
                return StorageError(f"{where}: access denied, check the AWS credentials ({code})")
            return StorageError(f"{where}: S3 error {code or status}")
        if isinstance(exc, NoCredentialsError):
            return StorageError(f"{where}: no AWS credentials configured")
        if isinstance(exc, EndpointConnectionError | BotoConnectionError):
            return StorageError(f"{where}: endpoint unreachable")
        return StorageError(f"{where}: {type(exc).__name__}: {exc}")

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except Exception as exc:  # noqa: BLE001 - translated to one line
            raise self._fail(exc, key) from None

    def write_bytes(self, key: str, data: bytes) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc, key) from None

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except Exception as exc:  # noqa: BLE001
            error = self._fail(exc, key)
            if isinstance(error, NotFoundError) and "no such key" in str(error):
                return False
            raise error from None

    def list(self, prefix: str = "") -> list[str]:
        full = self._key(prefix) + "/" if prefix.strip("/") else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(obj["Key"][strip:] for obj in page.get("Contents", []))
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc, prefix or None) from None
        return sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc, key) from None

    def check(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001
            error = self._fail(exc)
            if isinstance(error, NotFoundError) or "404" in str(error):
                raise NotFoundError(f"{self._where()}: bucket {self.bucket!r} does not exist") from None
            raise error from None


def open_storage(
    url: str,
    *,
    endpoint_url: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    region: str = "us-east-1",
) -> Storage:
    """Pick the backend from the URL: ``s3://bucket/prefix`` or a local directory."""
    if url.startswith("s3://"):
        return S3Storage(
            url,
            endpoint_url=endpoint_url,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            region=region,
        )
    if url.startswith("file://"):
        url = url[len("file://") :]
    return LocalStorage(url)


def storage_from_settings(settings: Settings) -> Storage:
    """The store the settings point at (credentials unwrapped here and nowhere else)."""

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return open_storage(
        settings.storage_url,
        endpoint_url=settings.s3_endpoint_url,
        access_key_id=secret(settings.aws_access_key_id),
        secret_access_key=secret(settings.aws_secret_access_key),
        region=settings.aws_default_region,
    )
