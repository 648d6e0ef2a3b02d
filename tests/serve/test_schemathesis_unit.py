"""Property-based tests from /openapi.json: no server error, only documented status codes.

Runs in-process (ASGI) on a small real model in a temporary registry so it stays
fast; the same checks run on a bundle trained from the sandbox in the
integration tests. The operations are generated inside the test (as there)
because schemathesis parametrizes at collection time, before any fixture.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.serve.small_models import SIGNING_KEY
from tmdb_mlops.config import load_settings
from tmdb_mlops.storage import Storage

pytestmark = pytest.mark.unit


def test_api_conforms_to_its_schema(tmp_path, store: Storage, champion: str) -> None:
    from tmdb_serve.main import create_app

    app = create_app(
        load_settings(storage_url=str(tmp_path / "store"), model_poll_seconds=0,
                      model_signing_key=SIGNING_KEY, admin_token="t0ken-for-tests",
                      max_batch_size=5),
        storage=store,
    )
    app.state.store.start()  # the ASGI transport does not run the lifespan
    try:
        assert app.state.store.current.version == champion
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        checked = 0
        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy())
            @settings(max_examples=40, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case) -> None:
                case.call_and_validate()

            check()
            checked += 1
        assert checked >= 8  # predict, batch, admin reload, model, health, ready, results, metrics
    finally:
        app.state.store.stop()
