"""``RequestRoute``: a documented FastAPI route without FastAPI's per-request machinery.

/predict is the service's hot path. FastAPI documents a route from what is
declared on it (``response_model``, ``responses``, the endpoint's parameters),
and calls it through its request handler: JSON decoding, validating the decoded
dict, dependency solving, two ``AsyncExitStack``\\ s and a second exception
wrapper. On /predict that handler cost more CPU than the model (docs/serving.md).
A ``RequestRoute`` keeps the documentation and matching of an ``APIRoute`` and
calls its endpoint directly; the endpoint reads and validates the body itself
(one ``model_validate_json`` pass). ``reads_body`` tells FastAPI which body to
document, so the OpenAPI document is what a body parameter would give.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


def reads_body(
    annotation: Any, *, name: str = "body", query: dict[str, tuple[Any, Any]] | None = None
) -> Callable[[Endpoint], Endpoint]:
    """Declare the body a ``RequestRoute`` endpoint reads itself, for FastAPI to document.

    FastAPI documents a request body (its schema, examples and the 422 response)
    from an endpoint's parameters. The decorated endpoint takes only the request,
    so FastAPI is given a stand-in with the endpoint's name and docstring and the
    signature ``(*, <name>: annotation)``; ``RequestRoute`` calls the real
    endpoint, kept as the stand-in's ``__wrapped__``. ``query`` documents query
    parameters the endpoint also reads itself: name -> (annotation, default).
    """

    def decorate(endpoint: Endpoint) -> Endpoint:
        async def documented(**_: Any) -> Response:
            raise RuntimeError(f"{endpoint.__name__} must be routed by a RequestRoute")

        functools.update_wrapper(documented, endpoint)
        parameters = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)]
        parameters += [
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=default)
            for key, (kind, default) in (query or {}).items()
        ]
        documented.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            parameters,
            return_annotation=inspect.signature(endpoint).return_annotation,
        )
        return documented

    return decorate


class RequestRoute(APIRoute):
    """An ``APIRoute`` whose endpoint is ``async def f(request: Request) -> Response``.

    The endpoint may be wrapped by ``reads_body`` for the documentation.
    Exceptions it raises (``RequestValidationError``, ``HTTPException``,
    anything else) reach the app's ``ExceptionMiddleware`` and
    ``ServerErrorMiddleware``, which run the same handlers as for any other
    route, so the error responses are the same.
    """

    def __init__(self, path: str, endpoint: Endpoint, **kwargs: Any) -> None:
        call: Endpoint = getattr(endpoint, "__wrapped__", endpoint)
        params = list(inspect.signature(call).parameters.values())
        if not inspect.iscoroutinefunction(call) or len(params) != 1 \
                or params[0].annotation not in (Request, "Request"):
            raise TypeError(
                f"RequestRoute {path}: the endpoint must be `async def f(request: Request)`"
            )
        super().__init__(path, endpoint, **kwargs)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await call(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app
