"""The sandbox's in-memory index: Discover filtering and sorting over numpy arrays.

Loaded once at start-up. A Discover query is a few vectorised comparisons and
one lexsort over at most tens of thousands of rows, and each result's JSON is
serialised once in advance, so a page costs well under a millisecond and the
sandbox keeps up with a collector running hundreds of requests per second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from tmdb_mlops.genres import TMDB_GENRES

PAGE_SIZE = 20
NO_DATE = -1  # ordinal used for films without a release date

# Fields of a Discover result, in TMDB's order.
RESULT_FIELDS = (
    "adult",
    "backdrop_path",
    "genre_ids",
    "id",
    "original_language",
    "original_title",
    "overview",
    "popularity",
    "poster_path",
    "release_date",
    "title",
    "video",
    "vote_average",
    "vote_count",
)

SORT_KEYS = {
    "popularity": "popularity",
    "primary_release_date": "release",
    "release_date": "release",
    "vote_average": "vote_average",
    "vote_count": "vote_count",
    "revenue": "revenue",
    "title": "title_rank",
    "original_title": "original_title_rank",
}


class QueryError(ValueError):
    """A Discover parameter TMDB would refuse (HTTP 422 with an ``errors`` list)."""


def _ordinal(text: str | None) -> int:
    try:
        return date.fromisoformat(text).toordinal() if text else NO_DATE
    except ValueError:
        return NO_DATE


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def discover_result(movie: dict[str, Any]) -> dict[str, Any]:
    """The Discover-list view of a details object, as TMDB returns it."""
    result = {name: movie.get(name) for name in RESULT_FIELDS}
    result["genre_ids"] = [g["id"] for g in movie.get("genres") or []]
    result["release_date"] = movie.get("release_date") or ""
    for name, empty in (("overview", ""), ("adult", False), ("video", False)):
        if result[name] is None:
            result[name] = empty
    for name in ("popularity", "vote_average"):
        result[name] = float(result[name] or 0)
    result["vote_count"] = int(result["vote_count"] or 0)
    return result


@dataclass(frozen=True)
class DiscoverQuery:
    """Parsed Discover filters; ``None`` means "no bound"."""

    date_gte: int | None = None
    date_lte: int | None = None
    vote_count_gte: int | None = None
    vote_count_lte: int | None = None
    vote_average_gte: float | None = None
    vote_average_lte: float | None = None
    with_genres: str | None = None
    without_genres: str | None = None
    with_original_language: str | None = None
    include_adult: bool = False
    sort_by: str = "popularity.desc"


def _date_param(params: dict[str, str], *names: str) -> int | None:
    for name in names:
        value = params.get(name)
        if value:
            try:
                return date.fromisoformat(value).toordinal()
            except ValueError:
                raise QueryError(f"{name} must be a date formatted YYYY-MM-DD") from None
    return None


def _number(params: dict[str, str], name: str, kind: type) -> Any:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return kind(value)
    except ValueError:
        raise QueryError(f"{name} must be a number") from None


def parse_query(params: dict[str, str]) -> DiscoverQuery:
    """Discover's query string -> DiscoverQuery, refusing malformed values like TMDB."""
    sort_by = params.get("sort_by") or "popularity.desc"
    field, _, direction = sort_by.rpartition(".")
    if field not in SORT_KEYS or direction not in ("asc", "desc"):
        raise QueryError(f"sort_by {sort_by!r} is not a supported sort")
    year = _number(params, "primary_release_year", int) or _number(params, "year", int)
    date_gte = _date_param(params, "primary_release_date.gte", "release_date.gte")
    date_lte = _date_param(params, "primary_release_date.lte", "release_date.lte")
    if year is not None:
        date_gte = max(date_gte or 0, date(year, 1, 1).toordinal())
        date_lte = min(date_lte or 10**9, date(year, 12, 31).toordinal())
    for name in ("with_genres", "without_genres"):
        spec = params.get(name) or ""
        if spec and not all(p.strip().isdigit() for p in spec.replace("|", ",").split(",")):
            raise QueryError(f"{name} must be genre ids separated by , or |")
    return DiscoverQuery(
        date_gte=date_gte,
        date_lte=date_lte,
        vote_count_gte=_number(params, "vote_count.gte", int),
        vote_count_lte=_number(params, "vote_count.lte", int),
        vote_average_gte=_number(params, "vote_average.gte", float),
        vote_average_lte=_number(params, "vote_average.lte", float),
        with_genres=params.get("with_genres") or None,
        without_genres=params.get("without_genres") or None,
        with_original_language=params.get("with_original_language") or None,
        include_adult=str(params.get("include_adult", "false")).lower() == "true",
        sort_by=sort_by,
    )


class Catalogue:
    """Every film of the dataset, indexed for Discover and details look-ups."""

    def __init__(self, movies: list[dict[str, Any]]) -> None:
        by_id: dict[int, dict[str, Any]] = {}
        for movie in movies:
            by_id[int(movie["id"])] = movie
        self.movies = by_id
        ordered = [by_id[i] for i in sorted(by_id)]
        results = [discover_result(m) for m in ordered]
        self._result_json = [_dumps(r) for r in results]
        self.ids = np.array([r["id"] for r in results], dtype=np.int64)
        self.release = np.array([_ordinal(r["release_date"]) for r in results], dtype=np.int64)
        self.vote_count = np.array([r["vote_count"] for r in results], dtype=np.int64)
        self.vote_average = np.array([r["vote_average"] for r in results], dtype=np.float64)
        self.popularity = np.array([r["popularity"] for r in results], dtype=np.float64)
        self.revenue = np.array([float(m.get("revenue") or 0) for m in ordered], dtype=np.float64)
        self.adult = np.array([bool(r["adult"]) for r in results], dtype=bool)
        self.language = np.array([r["original_language"] or "" for r in results], dtype=object)
        genre_index = {gid: i for i, gid in enumerate(sorted(TMDB_GENRES))}
        for r in results:
            for gid in r["genre_ids"]:
                genre_index.setdefault(gid, len(genre_index))
        self._genre_bit = {gid: np.int64(1) << np.int64(i) for i, gid in enumerate(genre_index)}
        self.genre_mask = np.array(
            [sum(int(self._genre_bit[g]) for g in set(r["genre_ids"])) for r in results],
            dtype=np.int64,
        )
        for key, attr in (("title", "title_rank"), ("original_title", "original_title_rank")):
            names = [str(r[key] or "").casefold() for r in results]
            rank = np.empty(len(names), dtype=np.int64)
            rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))
            setattr(self, attr, rank)
        self._details_cache: dict[tuple[int, bool, bool], bytes] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def _genre_filter(self, spec: str, *, exclude: bool) -> np.ndarray:
        """TMDB's genre syntax: "a,b" means all of them, "a|b" any of them."""
        any_of = "|" in spec
        parts = [p for p in spec.replace("|", ",").split(",") if p.strip()]
        bits = [self._genre_bit.get(int(p), np.int64(0)) for p in parts]
        combined = np.int64(0)
        for bit in bits:
            combined |= bit
        if exclude:
            return (self.genre_mask & combined) == 0
        if any_of:
            return (self.genre_mask & combined) != 0
        return (self.genre_mask & combined) == combined if combined else np.zeros_like(self.adult)

    def discover(self, query: DiscoverQuery) -> np.ndarray:
        """Positions of the matching films, in the requested order (ties broken by id)."""
        mask = np.ones(len(self.ids), dtype=bool)
        if not query.include_adult:
            mask &= ~self.adult
        if query.date_gte is not None:
            mask &= (self.release != NO_DATE) & (self.release >= query.date_gte)
        if query.date_lte is not None:
            mask &= (self.release != NO_DATE) & (self.release <= query.date_lte)
        if query.vote_count_gte is not None:
            mask &= self.vote_count >= query.vote_count_gte
        if query.vote_count_lte is not None:
            mask &= self.vote_count <= query.vote_count_lte
        if query.vote_average_gte is not None:
            mask &= self.vote_average >= query.vote_average_gte
        if query.vote_average_lte is not None:
            mask &= self.vote_average <= query.vote_average_lte
        if query.with_genres:
            mask &= self._genre_filter(query.with_genres, exclude=False)
        if query.without_genres:
            mask &= self._genre_filter(query.without_genres, exclude=True)
        if query.with_original_language:
            mask &= self.language == query.with_original_language
        positions = np.flatnonzero(mask)
        field, _, direction = query.sort_by.rpartition(".")
        key = getattr(self, SORT_KEYS[field])[positions]
        if direction == "desc":
            key = -key
        order = np.lexsort((self.ids[positions], key))
        return positions[order]

    def page_json(self, positions: np.ndarray, *, page: int) -> bytes:
        """One Discover page as TMDB's JSON bytes, built from pre-serialised results."""
        total = len(positions)
        chunk = positions[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        results = b",".join(self._result_json[i] for i in chunk)
        total_pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
        return (
            b'{"page":%d,"results":[%s],"total_pages":%d,"total_results":%d}'
            % (page, results, total_pages, total)
        )

    def details_json(
        self, movie_id: int, *, credits: bool, release_dates: bool = False
    ) -> bytes | None:
        """The details object of one film, or None; appended objects nested as TMDB does.

        ``append_to_response=credits`` adds ``credits`` (cast and crew),
        ``release_dates`` adds ``release_dates`` (``results`` per country, each
        with its dated, certified releases). A film whose dataset object lacks
        one gets TMDB's empty form of it.
        """
        key = (movie_id, credits, release_dates)
        cached = self._details_cache.get(key)
        if cached is not None:
            return cached
        movie = self.movies.get(movie_id)
        if movie is None:
            return None
        body = dict(movie)
        credits_obj = body.pop("credits", None) or {"cast": [], "crew": []}
        release_dates_obj = body.pop("release_dates", None) or {"results": []}
        if credits:
            body["credits"] = {"id": movie_id, **credits_obj}
        if release_dates:
            body["release_dates"] = release_dates_obj
        data = _dumps(body)
        self._details_cache[key] = data
        return data

    @staticmethod
    def genres_json() -> bytes:
        """GET /genre/movie/list: TMDB's 19 movie genres."""
        return _dumps({"genres": [{"id": g, "name": n} for g, n in TMDB_GENRES.items()]})
