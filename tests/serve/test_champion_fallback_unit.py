"""A champion that cannot be verified never takes a fresh server down (issue #16, item 6).

Tried as an operator would: one byte of the champion's bundle is changed in the
store (promote refuses a tampered target now, so the damage is done behind the
registry's back, as a bad disk or a stray writer would). A server that starts
then serves the most recent earlier champion that verifies, labelled
``fallback`` in /ready, /model, every prediction and the metrics, and goes back
to the champion as soon as it is repaired.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.serve.small_models import SmallModel, register
from tmdb_mlops import layout
from tmdb_mlops.inputs import EXAMPLES
from tmdb_mlops.registry import Registry
from tmdb_mlops.storage import Storage

pytestmark = pytest.mark.unit


def _flip_one_byte(store: Storage, version: str) -> bytes:
    key = layout.bundle_key(version)
    original = store.read_bytes(key)
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0x01
    store.write_bytes(key, bytes(damaged))
    return original


def test_a_fresh_server_serves_the_previous_champion_when_the_champion_is_corrupt(
    make_client: Callable[..., TestClient],
    registry: Registry,
    store: Storage,
    champion: str,
    second_model: SmallModel,
) -> None:
    newer = register(registry, second_model)  # promoted: champion -> newer, previous [champion]
    assert registry.champion() == newer
    original = _flip_one_byte(store, newer)

    client = make_client()
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "model_version": champion, "model_source": "fallback",
                            "serving_instead_of": newer}
    card = client.get("/model").json()
    assert (card["version"], card["source"], card["serving_instead_of"]) == (
        champion, "fallback", newer)
    answer = client.post("/predict", json=EXAMPLES[0])
    assert answer.status_code == 200
    assert (answer.json()["model_version"], answer.json()["model_source"]) == (champion, "fallback")
    batch = client.post("/predict/batch", json={"items": EXAMPLES})
    assert batch.status_code == 200 and batch.json()["model_source"] == "fallback"
    metrics = client.get("/metrics").text
    assert f'tmdb_model_info{{source="fallback",version="{champion}"}} 1.0' in metrics
    assert 'tmdb_model_reloads_total{outcome="fallback"} 1.0' in metrics

    # Still polling: while the fallback stands in, each check retries the champion, and
    # once its bundle is repaired the champion is served again, labelled registry.
    still = client.app.state.store.check()
    assert still.outcome == "refused" and still.model_version == champion
    store.write_bytes(layout.bundle_key(newer), original)
    repaired = client.app.state.store.check()
    assert repaired.outcome == "reloaded" and repaired.model_version == newer
    ready = client.get("/ready").json()
    assert (ready["model_version"], ready["model_source"], ready["serving_instead_of"]) == (
        newer, "registry", None)


def test_a_running_server_keeps_its_model_and_does_not_fall_back(
    make_client: Callable[..., TestClient],
    registry: Registry,
    store: Storage,
    champion: str,
    second_model: SmallModel,
) -> None:
    client = make_client()
    assert client.get("/ready").json()["model_version"] == champion
    newer = register(registry, second_model)
    _flip_one_byte(store, newer)
    result = client.app.state.store.check()
    assert result.outcome == "refused" and "sha256" in result.detail
    ready = client.get("/ready").json()
    assert (ready["model_version"], ready["model_source"]) == (champion, "registry")


def test_no_verifiable_champion_in_the_history_means_no_model_not_a_wrong_one(
    make_client: Callable[..., TestClient],
    registry: Registry,
    store: Storage,
    champion: str,
) -> None:
    _flip_one_byte(store, champion)
    client = make_client()
    assert client.get("/ready").status_code == 503
    assert client.post("/predict", json=EXAMPLES[0]).status_code == 503
