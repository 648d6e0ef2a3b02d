"""schemathesis on the real trained bundle: no 5xx and documented codes, positive and negative."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.serve.conftest import TrainedStore
from tmdb_mlops.config import load_settings

pytestmark = pytest.mark.integration


def test_api_conforms_with_the_real_model(store_copy: TrainedStore) -> None:
    from tmdb_serve.main import create_app

    app = create_app(load_settings(storage_url=str(store_copy.path), model_poll_seconds=0,
                                   admin_token="t0ken", max_batch_size=20))
    app.state.store.start()  # the ASGI transport does not run the lifespan
    try:
        assert app.state.store.current is not None
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        checked = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=30, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                def check(case) -> None:
                    case.call_and_validate()

                try:
                    check()
                except Unsatisfiable:
                    # An operation without parameters or body has no invalid input.
                    assert mode is GenerationMode.NEGATIVE and not operation.body
                    continue
                checked += 1
        assert checked >= 12  # every operation positive, every one with inputs negative
    finally:
        app.state.store.stop()
