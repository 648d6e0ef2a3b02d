"""Property-based tests from /openapi.json: no server error, only documented status codes.

Runs in-process (ASGI) on a fake model so it stays fast; the same checks run
against a live uvicorn and a real bundle in the integration tests. The app is
built at import because schemathesis parametrizes at collection time (its
``from_fixture`` does not work with this pytest).
"""

from __future__ import annotations

import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.serve.fakes import FakeModel, FakeRegistry
from tmdb_mlops.config import Settings
from tmdb_mlops.storage import open_storage
from tmdb_serve.main import create_app

pytestmark = pytest.mark.unit

_STORE = tempfile.mkdtemp(prefix="tmdb-schemathesis-")
_registry = FakeRegistry()
_registry.add(FakeModel("v1"))
app = create_app(
    Settings(_env_file=None, storage_url=_STORE, model_poll_seconds=0,
             admin_token="t0ken-for-tests", max_batch_size=5),
    registry=_registry,
    storage=open_storage(_STORE),
)
app.state.store.start()  # the ASGI transport does not run the lifespan

schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case) -> None:
    case.call_and_validate()
