"""The client against the sandbox over HTTP: auth modes, retries, Retry-After, hard failures."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.collect.conftest import SANDBOX_KEY, Sandbox, movie, start_sandbox, write_dataset
from tests.servers import free_port
from tmdb_collect.rate_budget import RateLimiter
from tmdb_collect.tmdb_client import (
    AuthError,
    TMDBClient,
    TMDBError,
    parse_retry_after,
    public_url,
)
from tmdb_mlops.errors import ConfigError

pytestmark = pytest.mark.integration

GENRES = "/genre/movie/list"


def client_for(sandbox: Sandbox, **kwargs: object) -> tuple[TMDBClient, list[float]]:
    """A client that records every wait it chooses (and still sleeps it)."""
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    options = {"api_key": SANDBOX_KEY, "rate_limit": 1000.0, "timeout": 5.0, "max_retries": 6,
               "backoff_initial": 0.05, "backoff_max": 0.5, **kwargs}
    return TMDBClient(base_url=sandbox.base_url, sleep=sleep, **options), waits


@pytest.fixture(scope="module")
def open_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox with no key configured: any non-empty credential is accepted."""
    data = write_dataset(tmp_path_factory.mktemp("open") / "films.jsonl",
                         [movie(1, "2010-01-01"), movie(2, "2010-02-01")])
    sandbox = start_sandbox(tmp_path_factory.mktemp("open-logs"), "--dataset", str(data))
    try:
        yield sandbox
    finally:
        sandbox.stop()


def test_api_key_and_bearer_token_both_authenticate(sandbox: Sandbox) -> None:
    by_key, _ = client_for(sandbox)
    by_token, _ = client_for(sandbox, api_key=None, read_access_token=SANDBOX_KEY)
    assert len(by_key.get(GENRES)["genres"]) == 19
    assert by_token.get(GENRES) == by_key.get(GENRES)


def test_any_credential_works_when_the_sandbox_has_no_key(open_sandbox: Sandbox) -> None:
    client = TMDBClient(base_url=open_sandbox.base_url, read_access_token="whatever")
    assert client.get("/discover/movie")["total_results"] == 2


def test_no_credentials_is_a_configuration_error(sandbox: Sandbox) -> None:
    with pytest.raises(ConfigError, match="TMDB_API_KEY"):
        TMDBClient(base_url=sandbox.base_url)


def test_a_bad_key_fails_at_once_without_showing_the_key(sandbox: Sandbox) -> None:
    client, waits = client_for(sandbox, api_key="not-the-key-123")
    with pytest.raises(AuthError) as caught:
        client.get(GENRES)
    assert "HTTP 401" in str(caught.value) and "Invalid API key" in str(caught.value)
    assert "not-the-key-123" not in str(caught.value)
    assert waits == [] and client.stats["requests"] == 1


def test_a_429_storm_is_waited_out_honouring_retry_after(sandbox: Sandbox) -> None:
    sandbox.faults(next_429=4, retry_after=1)
    client, waits = client_for(sandbox, concurrency=2)
    bodies = client.gather(lambda _: client.get(GENRES), range(2), what="storm")
    assert all(len(b["genres"]) == 19 for b in bodies)
    assert client.stats["status_429"] == 4
    assert len(waits) == 4 and all(w >= 1.0 for w in waits)


def test_intermittent_5xx_are_retried_with_backoff(sandbox: Sandbox) -> None:
    sandbox.faults(fail_5xx_rate=0.3, seed=7)
    client, waits = client_for(sandbox, concurrency=4)
    bodies = client.gather(lambda p: client.get("/discover/movie", {"page": p}),
                           range(1, 41), what="pages")
    assert [b["page"] for b in bodies] == list(range(1, 41))
    assert client.stats["status_503"] > 0 and len(waits) == client.stats["status_503"]


def test_timeouts_are_retried(sandbox: Sandbox) -> None:
    sandbox.faults(next_hang=2, hang_seconds=2)
    client, _ = client_for(sandbox, timeout=0.5, concurrency=1)
    assert len(client.get(GENRES)["genres"]) == 19
    assert client.stats["timeouts"] == 2


def test_malformed_json_is_retried(sandbox: Sandbox) -> None:
    sandbox.faults(next_malformed=2)
    client, _ = client_for(sandbox, concurrency=1)
    assert len(client.get(GENRES)["genres"]) == 19
    assert client.stats["malformed"] == 2


def test_a_request_failing_after_its_retries_fails_loudly(sandbox: Sandbox) -> None:
    sandbox.faults(fail_5xx_rate=1.0)
    client, waits = client_for(sandbox, max_retries=2)
    with pytest.raises(TMDBError, match=r"HTTP 503.*gave up after 3 attempts"):
        client.get(GENRES)
    assert len(waits) == 2


def test_an_unreachable_server_fails_with_one_line() -> None:
    client = TMDBClient(base_url=f"http://127.0.0.1:{free_port()}/3", api_key="k-secret-1",
                        max_retries=1, backoff_initial=0.01)
    with pytest.raises(TMDBError) as caught:
        client.get(GENRES)
    message = str(caught.value)
    assert "cannot connect" in message and "\n" not in message and "k-secret-1" not in message


def test_pages_past_the_cap_are_a_hard_error(sandbox: Sandbox) -> None:
    client, _ = client_for(sandbox)
    with pytest.raises(TMDBError, match="HTTP 422: page must be less than or equal to 500"):
        client.get("/discover/movie", {"page": 501})


@pytest.mark.unit
def test_the_rate_limiter_spaces_slots_without_bursts() -> None:
    now = [100.0]
    slept: list[float] = []
    limiter = RateLimiter(20.0, clock=lambda: now[0], sleep=slept.append)
    slots = [limiter.acquire() for _ in range(5)]
    assert slots == pytest.approx([100.0, 100.05, 100.1, 100.15, 100.2])
    assert slept == pytest.approx([0.05, 0.1, 0.15, 0.2])
    now[0] = 200.0  # after an idle spell no burst is saved up
    assert limiter.acquire() == 200.0 and limiter.acquire() == pytest.approx(200.05)


@pytest.mark.unit
@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), ("0", 0.0), ("999", 60.0),
                                                 (None, None), ("soon", None)])
def test_retry_after_parsing(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


@pytest.mark.unit
def test_the_log_safe_url_drops_credentials() -> None:
    assert public_url("https://user:pw@api.example.org/3/?api_key=x") == "https://api.example.org/3"
