"""RequestRoute: documented like any FastAPI route, called without FastAPI's handler."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient

from tmdb_serve.routing import RequestRoute

pytestmark = pytest.mark.unit


async def echo(request: Request) -> Response:
    if request.query_params.get("fail") == "404":
        raise HTTPException(404, detail="nothing here")
    return JSONResponse({"length": len(await request.body())})


def make_app() -> FastAPI:
    router = APIRouter()
    router.add_api_route("/echo", echo, methods=["POST"], route_class_override=RequestRoute,
                         summary="Echo the body length")
    app = FastAPI()
    app.include_router(router)
    return app


def test_the_endpoint_is_called_and_documented() -> None:
    client = TestClient(make_app())
    assert client.post("/echo", content=b"abc").json() == {"length": 3}
    operation = client.get("/openapi.json").json()["paths"]["/echo"]["post"]
    assert operation["summary"] == "Echo the body length"


def test_exceptions_reach_the_app_handlers() -> None:
    client = TestClient(make_app())
    response = client.post("/echo?fail=404")
    assert response.status_code == 404
    assert response.json() == {"detail": "nothing here"}
    assert client.get("/echo").status_code == 405  # matching is still the APIRoute's


def sync_endpoint(request: Request) -> Response:
    return Response()


async def with_parameters(request: Request, limit: int) -> Response:
    return Response()


@pytest.mark.parametrize("endpoint", [sync_endpoint, with_parameters])
def test_an_endpoint_that_needs_fastapi_is_refused(endpoint) -> None:
    with pytest.raises(TypeError, match=r"must be `async def f\(request: Request\)`"):
        RequestRoute("/x", endpoint, methods=["POST"])
