"""``RequestRoute``: a documented FastAPI route without FastAPI's per-request machinery.

/predict is the service's hot path. FastAPI documents a route from what is
declared on it (``response_model``, ``responses``, ``openapi_extra``), but calls
it through its request handler: dependency solving, two ``AsyncExitStack``\\ s
and a second exception wrapper, about 25 us of the ~200 us of server CPU a
/predict costs under load (docs/serving.md). A ``RequestRoute`` keeps the
documentation and matching of an ``APIRoute`` and calls its endpoint directly.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class RequestRoute(APIRoute):
    """An ``APIRoute`` whose endpoint is ``async def f(request: Request) -> Response``.

    The endpoint reads and validates the request itself. Exceptions it raises
    (``RequestValidationError``, ``HTTPException``, anything else) reach the
    app's ``ExceptionMiddleware`` and ``ServerErrorMiddleware``, which run the
    same handlers as for any other route, so the error responses are the same.
    """

    def __init__(self, path: str, endpoint: Endpoint, **kwargs: Any) -> None:
        params = list(inspect.signature(endpoint).parameters.values())
        if not inspect.iscoroutinefunction(endpoint) or len(params) != 1 \
                or params[0].annotation not in (Request, "Request"):
            raise TypeError(
                f"RequestRoute {path}: the endpoint must be `async def f(request: Request)`"
            )
        super().__init__(path, endpoint, **kwargs)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await endpoint(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app
