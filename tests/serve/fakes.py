"""In-process stand-ins for the registry and a bundle: for the pure unit tests only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tmdb_mlops.errors import PlatformError, StorageError
from tmdb_mlops.schema import LIST_SEPARATOR


@dataclass
class FakeModel:
    """Predicts 5 + runtime/100 + 0.5 per genre.

    A title 'Overshoot' gives 15 (to test clamping) and 'Nonfinite' gives NaN (a
    model bug that the smoke test on the OpenAPI examples does not catch).
    """

    version: str
    source: str = "registry"
    offset: float = 0.0
    broken: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    input_schema: Any = field(default_factory=lambda: {"title": {}, "runtime": {}, "genres": {}})
    calls: int = 0

    def __post_init__(self) -> None:
        self.metadata = {"created_at": "2024-01-01T00:00:00Z", "as_of": "2014-03-01",
                         "feature_names": ["runtime", "genre_Drama"],
                         "feature_importance": {"runtime": 10.0, "genre_Drama": 4.0},
                         **self.metadata}
        self.metrics = self.metrics or {
            "model": {"rmse": 0.8, "mae": 0.6, "r2": 0.3},
            "baselines": {"global_mean": {"rmse": 1.0, "mae": 0.8, "r2": 0.0}},
        }

    def _one(self, record: dict[str, Any]) -> float:
        if self.broken:
            return float("nan")
        if record.get("title") == "Overshoot":
            return 15.0
        if record.get("title") == "Nonfinite":
            return float("nan")
        runtime = record.get("runtime")
        runtime = 0.0 if runtime is None or runtime != runtime else float(runtime)
        genres = record.get("genres")
        count = 0 if not isinstance(genres, str) else len(genres.split(LIST_SEPARATOR))
        return 5.0 + runtime / 100 + 0.5 * count + self.offset

    def predict_record(self, record: dict[str, Any]) -> float:
        self.calls += 1
        return self._one(record)

    def predict_records(self, records: list[dict[str, Any]]) -> np.ndarray:
        self.calls += 1
        return np.array([self._one(r) for r in records], dtype=float)

    def predict_frame(self, frame: Any) -> np.ndarray:
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return self.predict_records(records)


class TamperedError(PlatformError):
    """What the real registry raises on a sha256 mismatch."""


@dataclass
class FakeRegistry:
    models: dict[str, FakeModel] = field(default_factory=dict)
    pointer: str | None = None
    down: bool = False
    tampered: set[str] = field(default_factory=set)

    def add(self, model: FakeModel, *, promote: bool = True) -> None:
        self.models[model.version] = model
        if promote:
            self.pointer = model.version

    def champion(self) -> str | None:
        if self.down:
            raise StorageError("s3://bucket/tmdb (endpoint http://127.0.0.1:1): endpoint unreachable")
        return self.pointer

    def load(self, version: str | None = None) -> FakeModel:
        if self.down:
            raise StorageError("endpoint unreachable")
        version = version or self.pointer
        if version in self.tampered:
            raise TamperedError(f"model {version}: sha256 does not match metadata.json")
        return self.models[version]

    def list_versions(self) -> list[dict[str, Any]]:
        return [{"version": v, "metrics": m.metrics} for v, m in self.models.items()]
