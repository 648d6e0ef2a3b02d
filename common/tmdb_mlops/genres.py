"""TMDB's movie genres: the one list the sandbox serves, the collector maps ids through,
and the request schema accepts.

The collector writes genre *names* into the processed ``genres`` column, taken
from TMDB's own ``GET /genre/movie/list`` at collection time; this list is what
that endpoint returns (en-US), so the sandbox can serve it and the API can
refuse a genre no collected film can have.
"""

from __future__ import annotations

from typing import Final

#: id -> name, in the order of ``GET /3/genre/movie/list``.
TMDB_GENRES: Final[dict[int, str]] = {
    28: "Action",
    12: "Adventure",
    16: "Animation",
    35: "Comedy",
    80: "Crime",
    99: "Documentary",
    18: "Drama",
    10751: "Family",
    14: "Fantasy",
    36: "History",
    27: "Horror",
    10402: "Music",
    9648: "Mystery",
    10749: "Romance",
    878: "Science Fiction",
    10770: "TV Movie",
    53: "Thriller",
    10752: "War",
    37: "Western",
}

#: The names, sorted (the request schema's enum).
GENRE_NAMES: Final[tuple[str, ...]] = tuple(sorted(TMDB_GENRES.values()))
