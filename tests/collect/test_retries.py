"""The retry policy, status by status, against a scripted HTTP server on 127.0.0.1.

The sandbox always sends Retry-After with its 429s and only 503 as a server
error, so these cases use a tiny ``http.server`` in the test that answers
exactly the statuses and headers each test scripts. The client's ``sleep`` is
injected and records the wait it chose without sleeping, so the waits can be
checked against the policy exactly and the tests take no time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tmdb_collect.tmdb_client import RETRIED_SERVER_ERRORS, TMDBClient, TMDBError

pytestmark = pytest.mark.unit

KEY = "retry-test-key-8d1f"
OK = (200, {}, {"genres": []})


class Scripted(ThreadingHTTPServer):
    """Answers the scripted (status, headers, body) in order, then 200; "drop" hangs up."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[Any] = []
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/3"


class Handler(BaseHTTPRequestHandler):
    server: Scripted

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        with self.server.lock:
            self.server.requests += 1
            answer = self.server.script.pop(0) if self.server.script else OK
        if answer == "drop":
            self.close_connection = True
            self.connection.close()  # no status line at all: a connection error
            return
        status, headers, body = answer
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    thread = threading.Thread(target=scripted.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield scripted
    finally:
        scripted.shutdown()
        scripted.server_close()
        thread.join(timeout=5)


def client_for(server: Scripted, **options: Any) -> tuple[TMDBClient, list[float]]:
    waits: list[float] = []
    settings = {"api_key": KEY, "rate_limit": 1000.0, "timeout": 5.0, "max_retries": 4,
                "backoff_initial": 0.5, "backoff_max": 30.0, **options}
    return TMDBClient(base_url=server.base_url, sleep=waits.append, **settings), waits


def rate_limited(**headers: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    return 429, headers, {"status_code": 25, "status_message": "Your request count is over the limit."}


def test_a_429_without_retry_after_backs_off_exponentially(server: Scripted) -> None:
    """Attempt n waits backoff_initial * 2**(n-1) plus 0-1 s of jitter (tenacity's)."""
    server.script = [rate_limited()] * 4
    client, waits = client_for(server)
    assert client.get("/genre/movie/list") == {"genres": []}
    assert server.requests == 5 and client.stats["status_429"] == 4
    for attempt, wait in enumerate(waits):
        floor = 0.5 * 2**attempt
        assert floor <= wait <= floor + 1.0, (attempt, wait)


def test_the_backoff_is_capped(server: Scripted) -> None:
    server.script = [rate_limited()] * 6
    client, waits = client_for(server, max_retries=6, backoff_max=2.0)
    client.get("/genre/movie/list")
    assert len(waits) == 6 and max(waits) <= 2.0 and waits[-1] == 2.0  # 0.5 * 2**5 + jitter > 2


def test_an_unreadable_retry_after_falls_back_to_the_backoff(server: Scripted) -> None:
    server.script = [rate_limited(**{"Retry-After": "soon"})]
    client, waits = client_for(server)
    client.get("/genre/movie/list")
    assert len(waits) == 1 and 0.5 <= waits[0] <= 1.5


def test_a_retry_after_is_honoured_instead_of_the_backoff(server: Scripted) -> None:
    server.script = [rate_limited(**{"Retry-After": "7"}), rate_limited(**{"Retry-After": "0"})]
    client, waits = client_for(server)
    client.get("/genre/movie/list")
    assert 7.0 <= waits[0] <= 7.25 and 0.0 <= waits[1] <= 0.25  # plus 0-0.25 s of jitter


def test_429s_without_retry_after_still_give_up_after_the_retries(server: Scripted) -> None:
    server.script = [rate_limited()] * 10
    client, waits = client_for(server, max_retries=2)
    with pytest.raises(TMDBError, match=r"rate limited \(HTTP 429\) \(gave up after 3 attempts\)"):
        client.get("/genre/movie/list")
    assert len(waits) == 2 and server.requests == 3


@pytest.mark.parametrize("status", sorted(RETRIED_SERVER_ERRORS))
def test_server_errors_that_heal_are_retried(server: Scripted, status: int) -> None:
    server.script = [(status, {}, {"status_message": "busy"})] * 2
    client, waits = client_for(server)
    assert client.get("/genre/movie/list") == {"genres": []}
    assert server.requests == 3 and len(waits) == 2 and client.stats[f"status_{status}"] == 2


@pytest.mark.parametrize("status", [501, 505, 506, 507, 508, 510, 511, 599])
def test_server_errors_that_never_heal_fail_at_once(server: Scripted, status: int) -> None:
    server.script = [(status, {}, {"status_code": 0, "status_message": "Not supported here."})] * 3
    client, waits = client_for(server)
    with pytest.raises(TMDBError) as caught:
        client.get("/discover/movie", {"page": 1})
    message = str(caught.value)
    assert message == (f"GET /discover/movie?page=1: server error (HTTP {status}: Not supported here.), "
                       "not retried")
    assert server.requests == 1 and waits == [] and KEY not in message


def test_exactly_500_502_503_504_are_retried() -> None:
    assert frozenset({500, 502, 503, 504}) == RETRIED_SERVER_ERRORS


def test_a_dropped_connection_is_retried(server: Scripted) -> None:
    server.script = ["drop", "drop"]
    client, waits = client_for(server, max_retries=3)
    assert client.get("/genre/movie/list") == {"genres": []}
    assert server.requests == 3 and len(waits) == 2


def test_other_4xx_fail_at_once_with_tmdbs_message(server: Scripted) -> None:
    server.script = [(422, {}, {"errors": ["page must be less than or equal to 500"]})]
    client, waits = client_for(server)
    with pytest.raises(TMDBError, match=r"refused \(HTTP 422: page must be less"):
        client.get("/discover/movie", {"page": 501})
    assert server.requests == 1 and waits == []
