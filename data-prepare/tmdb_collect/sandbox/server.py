"""The sandbox's FastAPI app: TMDB API v3's Discover, genre list and details.

It answers like TMDB: 20 results a page, HTTP 422 past page 500, JSON error
bodies ``{status_code, status_message, success:false}`` for 401/404/429, and it
requires an ``api_key`` query parameter or a ``Authorization: Bearer`` token.

Fault injection (options at start-up, ``PUT /admin/faults`` at run time) makes
the failures a collector must survive reproducible: a rate of 429s with
Retry-After, a rate of 5xx, responses that hang past the client's timeout,
truncated JSON, added latency, and a server-side requests-per-second limit.
``next_*`` counters inject an exact number of faults, so tests are deterministic.
The admin endpoints are for tests and benchmarks on the loopback interface.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from tmdb_collect.sandbox.catalogue import Catalogue, QueryError, parse_query
from tmdb_collect.sandbox.paging import PagingFaults, PagingFaultsPatch, PagingFaultState

TMDB_MAX_PAGE = 500
INVALID_KEY = {
    "status_code": 7,
    "status_message": "Invalid API key: You must be granted a valid key.",
    "success": False,
}
NOT_FOUND = {
    "status_code": 34,
    "status_message": "The resource you requested could not be found.",
    "success": False,
}
SERVER_ERROR = {
    "status_code": 11,
    "status_message": "Internal error: Something went wrong, contact TMDb.",
    "success": False,
}


def rate_limited_body(limit: float) -> dict[str, Any]:
    return {
        "status_code": 25,
        "status_message": f"Your request count is over the allowed limit of ({limit:g}).",
        "success": False,
    }


class Faults(PagingFaults):
    """What the sandbox does wrong on purpose; every field can change at run time."""

    fail_429_rate: float = Field(0.0, ge=0, le=1)
    fail_5xx_rate: float = Field(0.0, ge=0, le=1)
    hang_rate: float = Field(0.0, ge=0, le=1)
    malformed_rate: float = Field(0.0, ge=0, le=1)
    next_429: int = Field(0, ge=0, description="the next N API requests get 429")
    next_5xx: int = Field(0, ge=0)
    next_hang: int = Field(0, ge=0)
    next_malformed: int = Field(0, ge=0)
    target: Literal["all", "discover", "details", "genres"] = "all"
    latency_ms: float = Field(0.0, ge=0)
    hang_seconds: float = Field(5.0, ge=0)
    retry_after: int = Field(1, ge=0, description="seconds sent in Retry-After with a 429")
    rate_limit: float | None = Field(None, gt=0, description="server-side requests per second")
    max_page: int = Field(TMDB_MAX_PAGE, ge=1, description="TMDB refuses pages above 500")
    seed: int = 0


class FaultsPatch(PagingFaultsPatch):
    """A partial update of :class:`Faults` (unset fields keep their value)."""

    model_config = {"extra": "forbid"}

    fail_429_rate: float | None = Field(None, ge=0, le=1)
    fail_5xx_rate: float | None = Field(None, ge=0, le=1)
    hang_rate: float | None = Field(None, ge=0, le=1)
    malformed_rate: float | None = Field(None, ge=0, le=1)
    next_429: int | None = Field(None, ge=0)
    next_5xx: int | None = Field(None, ge=0)
    next_hang: int | None = Field(None, ge=0)
    next_malformed: int | None = Field(None, ge=0)
    target: Literal["all", "discover", "details", "genres"] | None = None
    latency_ms: float | None = Field(None, ge=0)
    hang_seconds: float | None = Field(None, ge=0)
    retry_after: int | None = Field(None, ge=0)
    rate_limit: float | None = Field(None, gt=0)
    max_page: int | None = Field(None, ge=1)
    seed: int | None = None
    reset: bool = Field(False, description="start from the defaults before applying the rest")


class FaultInjector:
    """Decides, request by request, which fault (if any) to inject."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._defaults = faults.model_copy()
        self.faults = faults.model_copy()
        self._random = random.Random(faults.seed)
        self._fill_bucket()
        self.stats: Counter[str] = Counter()
        self.paging = PagingFaultState()

    def _fill_bucket(self) -> None:
        """A new limit starts with a full bucket: one second's worth of requests."""
        self._bucket_tokens = float(self.faults.rate_limit or 0)
        self._bucket_time = time.monotonic()

    def update(self, patch: FaultsPatch) -> Faults:
        with self._lock:
            base = self._defaults.model_copy() if patch.reset else self.faults
            changes = patch.model_dump(exclude_none=True, exclude={"reset"})
            self.faults = base.model_copy(update=changes)
            Faults.model_validate(self.faults.model_dump())
            self.paging.clear()  # transient paging faults count from this change
            if "seed" in changes or patch.reset:
                self._random = random.Random(self.faults.seed)
            if "rate_limit" in changes or patch.reset:
                self._fill_bucket()
            return self.faults

    def over_rate_limit(self) -> bool:
        """A token bucket holding one second of requests: TMDB-like bursts, steady limit."""
        limit = self.faults.rate_limit
        if limit is None:
            return False
        with self._lock:
            now = time.monotonic()
            self._bucket_tokens = min(limit, self._bucket_tokens + (now - self._bucket_time) * limit)
            self._bucket_time = now
            if self._bucket_tokens >= 1:
                self._bucket_tokens -= 1
                return False
            return True

    def draw(self, kind: str) -> str | None:
        """The fault for this request: "429", "5xx", "hang", "malformed" or None."""
        faults = self.faults
        if faults.target not in ("all", kind):
            return None
        with self._lock:
            for name in ("429", "5xx", "hang", "malformed"):
                counter = f"next_{name}"
                remaining = getattr(self.faults, counter)
                if remaining > 0:
                    setattr(self.faults, counter, remaining - 1)
                    return name
            for name, rate in (
                ("429", faults.fail_429_rate),
                ("5xx", faults.fail_5xx_rate),
                ("hang", faults.hang_rate),
                ("malformed", faults.malformed_rate),
            ):
                if rate and self._random.random() < rate:
                    return name
        return None


def _kind(path: str) -> str:
    if path.startswith("/3/discover/"):
        return "discover"
    if path.startswith("/3/genre/"):
        return "genres"
    return "details"


def _authorised(request: Request, api_key: str | None) -> bool:
    """TMDB's two auth modes; any non-empty credential unless one is configured."""
    supplied = [request.query_params.get("api_key") or ""]
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        supplied.append(header[len("bearer ") :].strip())
    supplied = [s for s in supplied if s]
    if not supplied:
        return False
    return api_key is None or api_key in supplied


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def api_router(catalogue: Catalogue, injector: FaultInjector) -> APIRouter:
    """The TMDB v3 endpoints the collector uses."""
    router = APIRouter(prefix="/3", tags=["tmdb"])

    @router.get("/discover/movie")
    def discover_movie(request: Request) -> Response:
        """Discover movies with TMDB's filters, sorting and 20-per-page paging."""
        params = dict(request.query_params)
        try:
            page = int(params.get("page") or 1)
        except ValueError:
            return _json({"errors": ["page must be an integer"]}, 422)
        max_page = injector.faults.max_page
        if page > max_page:
            return _json({"errors": [f"page must be less than or equal to {max_page}"]}, 422)
        if page < 1:
            return _json({"errors": ["page must be greater than 0"]}, 422)
        try:
            query = parse_query(params)
        except QueryError as exc:
            return _json({"errors": [str(exc)]}, 422)
        positions = catalogue.discover(query)
        body = injector.paging.page(catalogue, query, params, positions, page=page,
                                    faults=injector.faults, seed=injector.faults.seed,
                                    stats=injector.stats)
        return Response(body, media_type="application/json")

    @router.get("/genre/movie/list")
    def genre_movie_list() -> Response:
        """The official movie genres."""
        return Response(catalogue.genres_json(), media_type="application/json")

    @router.get("/movie/{movie_id}")
    def movie_details(
        movie_id: str,
        append_to_response: Annotated[str, Query()] = "",
    ) -> Response:
        """One film's details; append_to_response=credits,release_dates adds those objects."""
        try:
            wanted = int(movie_id)
        except ValueError:
            return _json(NOT_FOUND, 404)
        appended = {part.strip() for part in append_to_response.split(",")}
        body = catalogue.details_json(wanted, credits="credits" in appended,
                                      release_dates="release_dates" in appended)
        if body is None:
            return _json(NOT_FOUND, 404)
        return Response(body, media_type="application/json")

    return router


def admin_router(injector: FaultInjector) -> APIRouter:
    """Test-only controls: read and change faults, read request counters."""
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/faults")
    def get_faults() -> Faults:
        """The faults in force."""
        return injector.faults

    @router.put("/faults")
    def put_faults(patch: FaultsPatch) -> Faults:
        """Change some faults (``reset: true`` starts from the start-up values)."""
        return injector.update(patch)

    @router.get("/stats")
    def get_stats() -> dict[str, int]:
        """Counters of requests by kind and outcome since start-up or the last reset."""
        return dict(injector.stats)

    @router.post("/stats/reset")
    def reset_stats() -> dict[str, int]:
        """Zero the counters."""
        injector.stats.clear()
        return {}

    return router


def create_app(catalogue: Catalogue, *, faults: Faults, api_key: str | None = None) -> FastAPI:
    """The sandbox app over an already-loaded catalogue."""
    app = FastAPI(
        title="TMDB sandbox",
        description="An offline server speaking the subset of TMDB API v3 the collector uses.",
        docs_url="/docs",
    )
    injector = FaultInjector(faults)
    app.state.injector = injector
    app.state.catalogue = catalogue

    @app.middleware("http")
    async def tmdb_behaviour(request: Request, call_next: Any) -> Response:
        """Latency, rate limit, injected faults and auth, in TMDB's order, for /3/ only."""
        path = request.url.path
        if not path.startswith("/3/"):
            return await call_next(request)
        kind = _kind(path)
        stats = injector.stats
        stats["requests"] += 1
        stats[f"requests_{kind}"] += 1
        faults = injector.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if injector.over_rate_limit():
            stats["status_429"] += 1
            stats["rate_limited"] += 1
            return _json(
                rate_limited_body(faults.rate_limit or 0),
                429,
                {"Retry-After": str(faults.retry_after)},
            )
        fault = injector.draw(kind)
        if fault:
            stats[f"injected_{fault}"] += 1
        if fault == "429":
            stats["status_429"] += 1
            return _json(
                rate_limited_body(faults.rate_limit or 40),
                429,
                {"Retry-After": str(faults.retry_after)},
            )
        if fault == "5xx":
            stats["status_5xx"] += 1
            return _json(SERVER_ERROR, 503)
        if fault == "hang":
            await asyncio.sleep(faults.hang_seconds)
        if not _authorised(request, api_key):
            stats["status_401"] += 1
            return _json(INVALID_KEY, 401)
        response = await call_next(request)
        stats[f"status_{response.status_code}"] += 1
        if response.status_code == 200:
            stats[f"ok_{kind}"] += 1
        if fault == "malformed" and response.status_code == 200:
            return Response(b'{"page":1,"results":[{"id":', media_type="application/json")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def tmdb_errors(request: Request, exc: StarletteHTTPException) -> Response:
        """TMDB's JSON error bodies instead of FastAPI's."""
        if exc.status_code == 404:
            return _json(NOT_FOUND, 404)
        return _json({"status_code": 0, "status_message": str(exc.detail), "success": False},
                     exc.status_code)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness and the number of films served."""
        return {"status": "ok", "movies": len(catalogue)}

    app.include_router(api_router(catalogue, injector))
    app.include_router(admin_router(injector))
    return app
