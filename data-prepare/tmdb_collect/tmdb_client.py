"""The TMDB API v3 HTTP client: auth, timeouts, retries, a rate limit and a thread pool.

Every request goes through one rate limiter shared by all threads (TMDB allows
about 40 requests per second per IP address), or, with ``TMDB_RATE_LIMIT_DIR``,
through one budget shared by every process on the host (``rate_budget``). A
request is retried with exponential backoff and jitter on 429, the 5xx that heal
(500, 502, 503, 504), timeouts, connection errors and truncated JSON (a 429's
Retry-After is honoured; without one it backs off like a 5xx), and fails loudly
once its retries are spent: a collection is either whole or not written. Other
5xx (501, 505, ...) say the request itself cannot be served and fail at once.
The credentials never appear in a log line or an error message; requests are
described by path and parameters.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from tmdb_collect.rate_budget import HostRateLimiter, Limiter, RateLimiter
from tmdb_mlops.config import Settings
from tmdb_mlops.errors import ConfigError, PlatformError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MAX_RETRY_AFTER = 60.0  # never sleep longer than this on a server's say-so

#: Server errors a retry can fix: a failing, overloaded or unreachable backend.
#: Every other 5xx (501 Not Implemented, 505 HTTP Version Not Supported, ...) is
#: an answer about the request itself and would come back the same every time.
RETRIED_SERVER_ERRORS = frozenset({500, 502, 503, 504})


class TMDBError(PlatformError):
    """TMDB refused a request, or a request still failed after its retries."""


class AuthError(TMDBError):
    """TMDB rejected the credentials (HTTP 401): retrying cannot help."""


class MovieNotFound(TMDBError):
    """HTTP 404 for one resource, e.g. a film deleted between Discover and details."""


class TransientError(Exception):
    """A failure worth retrying; ``retry_after`` is the server's requested pause."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def public_url(url: str) -> str:
    """The URL without credentials, query or fragment: safe for manifests and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def describe(path: str, params: dict[str, Any] | None) -> str:
    """A request as a log-safe string (no api_key)."""
    shown = {k: v for k, v in (params or {}).items() if k != "api_key"}
    query = "&".join(f"{k}={v}" for k, v in shown.items())
    return f"GET {path}" + (f"?{query}" if query else "")


def _tmdb_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason or ""
    if isinstance(body, dict):
        if body.get("status_message"):
            return str(body["status_message"])
        if body.get("errors"):
            return "; ".join(str(e) for e in body["errors"])
    return response.reason or ""


class TMDBClient:
    """A thread-safe TMDB client: one ``requests.Session`` per thread, shared limits."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        read_access_token: str | None = None,
        rate_limit: float = 40.0,
        concurrency: int = 8,
        timeout: float = 10.0,
        max_retries: int = 6,
        language: str | None = "en-US",
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        rate_limit_dir: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (api_key or read_access_token):
            raise ConfigError("set TMDB_API_KEY or TMDB_READ_ACCESS_TOKEN to call TMDB")
        self.base_url = base_url.rstrip("/")
        self.source = public_url(base_url)
        self._api_key = api_key
        self._token = read_access_token
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.language = language
        self.limiter: Limiter
        if rate_limit_dir:
            # TMDB counts per IP: every collector on this host shares one budget.
            parts = urlsplit(base_url)
            key = f"{parts.hostname or 'tmdb'}_{parts.port or ''}"
            self.limiter = HostRateLimiter(rate_limit_dir, rate=rate_limit, key=key)
        else:
            self.limiter = RateLimiter(rate_limit)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._wait_backoff = wait_exponential_jitter(initial=backoff_initial, max=backoff_max)
        self._sleep = sleep  # injectable so tests can see the waits chosen

    @classmethod
    def from_settings(cls, settings: Settings) -> TMDBClient:
        """A client configured from the platform's settings (secrets unwrapped here only)."""
        return cls(
            base_url=settings.tmdb_base_url,
            api_key=settings.tmdb_api_key.get_secret_value() if settings.tmdb_api_key else None,
            read_access_token=(
                settings.tmdb_read_access_token.get_secret_value()
                if settings.tmdb_read_access_token
                else None
            ),
            rate_limit=settings.tmdb_rate_limit,
            concurrency=settings.tmdb_concurrency,
            timeout=settings.tmdb_timeout_seconds,
            max_retries=settings.tmdb_max_retries,
            language=settings.tmdb_language or None,
            rate_limit_dir=settings.tmdb_rate_limit_dir,
        )

    # -- HTTP ---------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=2, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["Accept"] = "application/json"
            if self._token:
                session.headers["Authorization"] = f"Bearer {self._token}"
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def _attempt(self, path: str, params: dict[str, Any]) -> Any:
        """One HTTP exchange; raises TransientError for what a retry may fix."""
        query = dict(params)
        if self.language and "language" not in query:
            query["language"] = self.language
        if self._api_key and not self._token:
            query["api_key"] = self._api_key
        what = describe(path, params)
        self.limiter.acquire()
        self._count("requests")
        try:
            response = self._session().get(
                self.base_url + path, params=query, timeout=self.timeout
            )
        except requests.Timeout:
            self._count("timeouts")
            raise TransientError(f"{what}: timed out after {self.timeout:g}s") from None
        except requests.ConnectionError:
            self._count("connection_errors")
            raise TransientError(f"{what}: cannot connect to {self.source}") from None
        except requests.RequestException as exc:
            raise TransientError(f"{what}: {type(exc).__name__}") from None
        status = response.status_code
        self._count(f"status_{status}")
        if status == 200:
            try:
                return response.json()
            except ValueError:
                self._count("malformed")
                raise TransientError(f"{what}: malformed JSON in the response") from None
        message = _tmdb_message(response)
        if status == 401:
            raise AuthError(f"TMDB rejected the credentials at {self.source} (HTTP 401: {message})")
        if status == 404:
            raise MovieNotFound(f"{what}: not found (HTTP 404)")
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise TransientError(f"{what}: rate limited (HTTP 429)", retry_after=retry_after)
        if status in RETRIED_SERVER_ERRORS:
            raise TransientError(f"{what}: server error (HTTP {status})")
        if status >= 500:
            raise TMDBError(f"{what}: server error (HTTP {status}: {message}), not retried")
        raise TMDBError(f"{what}: refused (HTTP {status}: {message})")

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when the server sent one (plus jitter), else exponential backoff.

        A 429 without Retry-After (or with one that cannot be parsed) backs off
        exponentially like a 5xx: ``backoff_initial * 2**(n-1)`` plus up to 1 s
        of jitter, at most ``backoff_max``.
        """
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return error.retry_after + random.uniform(0, 0.25)
        return self._wait_backoff(state)

    def _before_sleep(self, state: RetryCallState) -> None:
        self._count("retries")
        error = state.outcome.exception() if state.outcome else None
        log.debug("retry %d after %s", state.attempt_number, error)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET one resource as JSON, retried; raises TMDBError once retries are spent."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, path, dict(params or {}))
        except TransientError as exc:
            self._count("failed")
            raise TMDBError(f"{exc} (gave up after {self.max_retries + 1} attempts)") from None

    # -- concurrency ---------------------------------------------------------

    def gather(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        what: str,
    ) -> list[R]:
        """``[fn(item) ...]`` on the thread pool, in input order; the first failure ends it.

        A progress bar is drawn when stderr is a terminal; otherwise one log line
        is written at the start, about every 10% and at the end.
        """
        work = list(items)
        if not work:
            return []
        results: list[Any] = [None] * len(work)
        bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=len(work), desc=what, unit="req", file=sys.stderr, leave=False)
        else:
            log.info("%s: %d requests", what, len(work))
        step = max(1, len(work) // 10)
        done = 0
        executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="tmdb")
        try:
            futures: dict[Future[R], int] = {
                executor.submit(fn, item): index for index, item in enumerate(work)
            }
            for future in as_completed(futures):
                error = future.exception()
                if error is not None:
                    for other in futures:
                        other.cancel()
                    raise error
                results[futures[future]] = future.result()
                done += 1
                if bar is not None:
                    bar.update(1)
                elif done % step == 0 and done < len(work):
                    log.info("%s: %d/%d", what, done, len(work))
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            if bar is not None:
                bar.close()
        log.info("%s: %d/%d done", what, done, len(work))
        return results

    def close(self) -> None:
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        if isinstance(self.limiter, HostRateLimiter):
            self.limiter.close()

    def __enter__(self) -> TMDBClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
