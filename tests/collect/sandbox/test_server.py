"""The sandbox over real HTTP: TMDB's paging, filters, errors, auth and injected faults."""

from __future__ import annotations

import os

import pytest
import requests

from tests.collect.conftest import SANDBOX_KEY, Sandbox, run_cli
from tests.servers import free_port

pytestmark = pytest.mark.integration

YEAR_2013 = {
    "primary_release_date.gte": "2013-01-01",
    "primary_release_date.lte": "2013-12-31",
    "vote_count.gte": 20,
    "sort_by": "primary_release_date.asc",
}


def get(sandbox: Sandbox, path: str, **params: object) -> requests.Response:
    return requests.get(f"{sandbox.base_url}{path}", params={"api_key": SANDBOX_KEY, **params},
                        timeout=10)


def test_discover_pages_twenty_films_in_the_requested_order(sandbox: Sandbox) -> None:
    first = get(sandbox, "/discover/movie", **YEAR_2013).json()
    assert set(first) == {"page", "results", "total_pages", "total_results"}
    assert first["page"] == 1 and len(first["results"]) == 20
    assert first["total_pages"] == -(-first["total_results"] // 20)
    seen = []
    for page in range(1, first["total_pages"] + 1):
        seen += get(sandbox, "/discover/movie", page=page, **YEAR_2013).json()["results"]
    assert len(seen) == len({m["id"] for m in seen}) == first["total_results"]
    dates = [m["release_date"] for m in seen]
    assert dates == sorted(dates) and dates[0] >= "2013-01-01" and dates[-1] <= "2013-12-31"
    assert all(m["vote_count"] >= 20 for m in seen)
    assert set(seen[0]) >= {"id", "title", "original_title", "original_language", "overview",
                            "release_date", "genre_ids", "popularity", "vote_average",
                            "vote_count", "adult", "video", "poster_path", "backdrop_path"}


def test_genre_filters_and_sorting(sandbox: Sandbox) -> None:
    both = get(sandbox, "/discover/movie", with_genres="35,18", **YEAR_2013).json()
    either = get(sandbox, "/discover/movie", with_genres="35|18", **YEAR_2013).json()
    assert 0 < both["total_results"] < either["total_results"]
    assert all({35, 18} <= set(m["genre_ids"]) for m in both["results"])
    params = {**YEAR_2013, "sort_by": "vote_average.desc"}
    votes = [m["vote_average"] for m in get(sandbox, "/discover/movie", **params).json()["results"]]
    assert votes == sorted(votes, reverse=True)


def test_pages_above_500_are_refused_like_tmdb(sandbox: Sandbox) -> None:
    response = get(sandbox, "/discover/movie", page=501)
    assert response.status_code == 422
    assert response.json() == {"errors": ["page must be less than or equal to 500"]}
    assert get(sandbox, "/discover/movie", page=500).status_code == 200


@pytest.mark.parametrize(
    "params",
    [{"page": "x"}, {"page": 0}, {"primary_release_date.gte": "2013-13-45"},
     {"sort_by": "nonsense.up"}, {"vote_count.gte": "many"}, {"with_genres": "a,b"}],
)
def test_bad_parameters_get_422_never_500(sandbox: Sandbox, params: dict) -> None:
    response = get(sandbox, "/discover/movie", **params)
    assert response.status_code == 422
    assert response.json()["errors"]


def test_auth_by_api_key_or_bearer_token(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_url}/genre/movie/list"
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 401
    assert missing.json() == {"status_code": 7, "success": False,
                              "status_message": "Invalid API key: You must be granted a valid key."}
    assert requests.get(url, params={"api_key": "wrong"}, timeout=10).status_code == 401
    bearer = requests.get(url, headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=10)
    assert bearer.status_code == 200 and len(bearer.json()["genres"]) == 19


def test_details_with_credits_and_404(sandbox: Sandbox) -> None:
    film = get(sandbox, "/movie/595", append_to_response="credits").json()
    assert film["id"] == 595 and film["runtime"] == 112
    assert film["credits"]["crew"][0]["job"] == "Director"
    assert "credits" not in get(sandbox, "/movie/595").json()
    for missing in ("/movie/999999999", "/movie/abc", "/no/such/path"):
        response = get(sandbox, missing)
        assert response.status_code == 404
        assert response.json()["status_code"] == 34 and response.json()["success"] is False


def test_release_dates_are_appended_as_tmdb_nests_them(sandbox: Sandbox) -> None:
    both = get(sandbox, "/movie/595", append_to_response="credits,release_dates").json()
    (us,) = both["release_dates"]["results"]
    assert us["iso_3166_1"] == "US" and us["release_dates"][0]["certification"] == "R"
    assert us["release_dates"][0]["type"] == 3
    assert {c["job"] for c in both["credits"]["crew"]} == {"Director", "Writer"}
    assert both["production_companies"][0] == {
        "id": both["production_companies"][0]["id"], "logo_path": None, "name": "Gaumont",
        "origin_country": ""}
    only = get(sandbox, "/movie/595", append_to_response="release_dates").json()
    assert "credits" not in only and only["release_dates"] == both["release_dates"]
    assert "release_dates" not in get(sandbox, "/movie/595",
                                      append_to_response="credits").json()


def test_injected_429_carries_retry_after(sandbox: Sandbox) -> None:
    sandbox.faults(next_429=1, retry_after=3)
    limited = get(sandbox, "/genre/movie/list")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["status_code"] == 25
    assert get(sandbox, "/genre/movie/list").status_code == 200


def test_server_side_rate_limit_refuses_bursts(sandbox: Sandbox) -> None:
    sandbox.faults(rate_limit=5)
    codes = [get(sandbox, "/genre/movie/list").status_code for _ in range(12)]
    assert codes.count(429) >= 1 and codes.count(200) >= 5
    assert sandbox.stats()["rate_limited"] == codes.count(429)


def test_faults_can_target_details_only_and_bad_patches_are_refused(sandbox: Sandbox) -> None:
    sandbox.faults(fail_5xx_rate=1.0, target="details")
    assert get(sandbox, "/genre/movie/list").status_code == 200
    assert get(sandbox, "/movie/595").status_code == 503
    bad = requests.put(f"{sandbox.url}/admin/faults", json={"fail_5xx_rate": 3}, timeout=5)
    assert bad.status_code == 422


def test_malformed_fault_truncates_the_json(sandbox: Sandbox) -> None:
    sandbox.faults(next_malformed=1)
    response = get(sandbox, "/genre/movie/list")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_the_command_fails_with_one_line_on_a_busy_port_or_a_bad_dataset(
    sandbox: Sandbox, tmp_path
) -> None:
    busy = run_cli("sandbox", "--port", sandbox.url.rsplit(":", 1)[1], env=dict(os.environ))
    assert busy.returncode == 1 and busy.stderr.strip().startswith("error: cannot listen")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    broken = run_cli("sandbox", "--port", str(free_port()), "--dataset", str(bad),
                     env=dict(os.environ), timeout=60)
    assert broken.returncode == 1
    assert broken.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "bad.jsonl:1: not JSON" in broken.stderr and "Traceback" not in broken.stderr
