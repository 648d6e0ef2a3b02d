"""RequestRoute: documented like any FastAPI route, called without FastAPI's handler."""

from __future__ import annotations

import asyncio
from typing import Annotated

import pytest
from fastapi import APIRouter, Body, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel

from tmdb_serve.routing import RequestRoute, reads_body

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


class Item(BaseModel):
    name: str


@reads_body(Annotated[Item, Body(openapi_examples={"one": {"value": {"name": "x"}}})])
async def read_item(request: Request) -> Response:
    """Read an item."""
    return JSONResponse(Item.model_validate_json(await request.body()).model_dump())


def test_reads_body_documents_the_body_as_a_parameter_would() -> None:
    router = APIRouter(route_class=RequestRoute)
    router.add_api_route("/item", read_item, methods=["POST"])
    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)
    assert client.post("/item", json={"name": "x"}).json() == {"name": "x"}
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/item"]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    assert content["schema"] == {"$ref": "#/components/schemas/Item"}
    assert content["examples"] == {"one": {"value": {"name": "x"}}}
    assert "422" in operation["responses"]
    assert operation["description"] == "Read an item."
    assert "Item" in spec["components"]["schemas"]


def test_the_documentation_stand_in_is_never_served() -> None:
    with pytest.raises(RuntimeError, match="must be routed by a RequestRoute"):
        asyncio.run(read_item(body=Item(name="x")))


def sync_endpoint(request: Request) -> Response:
    return Response()


async def with_parameters(request: Request, limit: int) -> Response:
    return Response()


@pytest.mark.parametrize("endpoint", [sync_endpoint, with_parameters])
def test_an_endpoint_that_needs_fastapi_is_refused(endpoint) -> None:
    with pytest.raises(TypeError, match=r"must be `async def f\(request: Request\)`"):
        RequestRoute("/x", endpoint, methods=["POST"])
