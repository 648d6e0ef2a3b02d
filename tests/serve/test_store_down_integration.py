"""The registry's S3 server goes away while a model is served: the model keeps serving.

A real S3 API (moto's server, started and stopped here, on loopback) holds a
small real model; the app reads it through ``STORAGE_URL=s3://...``, then the
server is stopped and every store call fails as it would in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_bucket, s3_store
from tests.serve.small_models import SIGNING_KEY, SmallModel, register
from tests.servers import S3_ACCESS_KEY, S3_SECRET_KEY, free_port
from tmdb_mlops.inputs import EXAMPLES
from tmdb_mlops.registry import Registry

pytestmark = pytest.mark.integration

ADMIN = "t0ken"


@pytest.fixture
def stoppable_s3() -> Iterator:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    server.stopped = False
    try:
        yield server
    finally:
        if not server.stopped:
            server.stop()


def test_an_unreachable_store_keeps_the_served_model(
    stoppable_s3, make_client: Callable[..., TestClient], small_model: SmallModel
) -> None:
    host, port = stoppable_s3.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = make_bucket(endpoint)
    version = register(Registry(s3_store(endpoint, bucket), signing_key=SIGNING_KEY), small_model)
    client = make_client(storage_url=f"s3://{bucket}/tmdb", s3_endpoint_url=endpoint,
                         aws_access_key_id=S3_ACCESS_KEY, aws_secret_access_key=S3_SECRET_KEY,
                         admin_token=ADMIN)
    assert client.get("/ready").json() == {"ready": True, "model_version": version,
                                           "model_source": "registry", "serving_instead_of": None}

    stoppable_s3.stop()
    stoppable_s3.stopped = True
    result = client.post("/admin/reload", headers={"Authorization": f"Bearer {ADMIN}"}).json()
    assert result["outcome"] == "error" and "endpoint unreachable" in result["detail"]
    assert (result["model_version"], result["model_source"]) == (version, "registry")
    assert client.get("/ready").status_code == 200
    response = client.post("/predict", json=EXAMPLES[0])
    assert response.status_code == 200 and response.json()["model_version"] == version
    page = client.get("/results")
    assert page.status_code == 200 and "The inference data cannot be read right now" in page.text
    assert 'tmdb_model_reloads_total{outcome="error"} 1.0' in client.get("/metrics").text
