"""Films for the sandbox as TMDB movie-details objects (with ``credits``).

The default source is the SQLite database that the PyPI package
``bokeh-sampledata`` ships (``bokeh_sampledata/_data/movies.db``, CC0): about
17,000 films from 1940 to 2014 in two tables, ``omdb`` and ``tomatoes``,
joined on ``ID``. The mapping to TMDB fields is documented in
``docs/collection.md``; fields the source lacks are left empty exactly as TMDB
leaves them (0, "", null, []), so the collector meets the same gaps it meets
in production.

A user can replay their own TMDB snapshot instead: ``--dataset FILE`` takes a
JSON-lines file of movie-details objects, one film per line.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from tmdb_mlops.errors import ConfigError
from tmdb_mlops.genres import TMDB_GENRES

log = logging.getLogger(__name__)

_GENRE_IDS = {name: gid for gid, name in TMDB_GENRES.items()}
# OMDb genre names that differ from TMDB's. TMDB has no Biography or Sport genre:
# biographies are filed under History there, sport films under their other genres.
_OMDB_GENRE = {"Sci-Fi": "Science Fiction", "Musical": "Music", "Biography": "History"}

# Language names OMDb uses that ISO 639 does not know by that name, mapped to the
# ISO 639-1 code TMDB uses (TMDB files Cantonese under "cn").
_LANGUAGE_OVERRIDES = {
    "Cantonese": "cn",
    "Yue Chinese": "cn",
    "Mandarin": "zh",
    "Standard Chinese": "zh",
    "Chinese": "zh",
    "Putonghua": "zh",
    "Standard Taiwanese Mandarin": "zh",
    "Modern Greek": "el",
    "Ancient Greek": "el",
    "American English": "en",
    "Australian English": "en",
    "Australian Aboriginal English": "en",
    "Brazilian Portuguese": "pt",
    "Flemish Dutch": "nl",
    "Quebec French": "fr",
    "Swiss German": "de",
    "Slovene": "sl",
    "Sesotho": "st",
    "Māori": "mi",
    "Kurdish language": "ku",
    "Filipino": "tl",
    "Bangla": "bn",
    "Egyptian Arabic": "ar",
    "Moroccan Arabic": "ar",
    "Classical Arabic": "ar",
    "Dari": "fa",
    "Serbo-Croatian": "sh",
}
NO_LANGUAGE = "xx"  # TMDB's code for "no language"

# Country names OMDb uses for historical or informal entities, mapped to the
# ISO 3166-1 (or ISO 3166-3 style) codes TMDB uses for them.
_COUNTRY_OVERRIDES = {
    "Soviet Union": ("SU", "Soviet Union"),
    "Georgian SSR": ("SU", "Soviet Union"),
    "West Germany": ("DE", "Germany"),
    "Czechoslovakia": ("XC", "Czechoslovakia"),
    "Yugoslavia": ("YU", "Yugoslavia"),
    "Federal Republic of Yugoslavia": ("YU", "Yugoslavia"),
    "Socialist Federal Republic of Yugoslavia": ("YU", "Yugoslavia"),
    "Serbia and Montenegro": ("CS", "Serbia and Montenegro"),
    "Ivory Coast": ("CI", "Cote D'Ivoire"),
    "Democratic Republic of the Congo": ("CD", "Congo"),
    "Kosovo": ("XK", "Kosovo"),
    "British Hong Kong": ("HK", "Hong Kong"),
    "Kingdom of the Netherlands": ("NL", "Netherlands"),
    "Occupied Palestinian territory": ("PS", "Palestinian Territory"),
    "Palestine": ("PS", "Palestinian Territory"),
    "Kingdom of Great Britain": ("GB", "United Kingdom"),
    "Wales": ("GB", "United Kingdom"),
    "Taiwan Island": ("TW", "Taiwan"),
    "Republic of China": ("TW", "Taiwan"),
    "Kingdom of Italy": ("IT", "Italy"),
    "Russia": ("RU", "Russia"),
    "The Bahamas": ("BS", "Bahamas"),
    "South Korea": ("KR", "South Korea"),
    "United States": ("US", "United States of America"),
}


def default_db_path() -> Path:
    """Where bokeh-sampledata installed its movies database."""
    try:
        import bokeh_sampledata
    except ModuleNotFoundError:
        raise ConfigError(
            "the sandbox's default films need the 'bokeh-sampledata' package "
            "(install the 'sandbox' extra) or pass --dataset FILE"
        ) from None
    path = Path(bokeh_sampledata.__file__).parent / "_data" / "movies.db"
    if not path.is_file():
        raise ConfigError(f"{path}: bokeh-sampledata's movies.db is missing")
    return path


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@cache
def language_code(name: str) -> str | None:
    """ISO 639-1 code of an English language name, or None when it has none."""
    if name in _LANGUAGE_OVERRIDES:
        return _LANGUAGE_OVERRIDES[name]
    import pycountry

    try:
        return getattr(pycountry.languages.lookup(name), "alpha_2", None)
    except LookupError:
        return None


@cache
def country(name: str) -> tuple[str, str] | None:
    """(ISO 3166-1 code, name) of an English country name, or None when unknown."""
    if name in _COUNTRY_OVERRIDES:
        return _COUNTRY_OVERRIDES[name]
    import pycountry

    try:
        found = pycountry.countries.lookup(name)
    except LookupError:
        return None
    return found.alpha_2, found.name


def genres_of(omdb_genre: str | None) -> list[dict[str, Any]]:
    """TMDB genre objects for OMDb's comma-separated genre names (unknown ones dropped)."""
    seen: list[int] = []
    for name in _split(omdb_genre):
        gid = _GENRE_IDS.get(_OMDB_GENRE.get(name, name))
        if gid is not None and gid not in seen:
            seen.append(gid)
    return [{"id": gid, "name": TMDB_GENRES[gid]} for gid in seen]


def person_id(name: str) -> int:
    """A stable id for a person's name: the source has no person ids."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def popularity_of(vote_count: int) -> float:
    """The sandbox's popularity: a deterministic function of the vote count.

    The source has no popularity; TMDB's grows with attention, and the vote
    count is the source's best proxy for it.
    """
    return round(vote_count / 10.0, 3)


def movie_from_row(row: sqlite3.Row) -> dict[str, Any]:
    """One joined omdb/tomatoes row as a TMDB movie-details object with credits."""
    rating = row["t_rating"]
    reviews = row["t_reviews"]
    # TMDB shows vote_average 0 when a film has no votes; a film without a critics'
    # rating has no votes here either.
    vote_count = int(reviews) if rating is not None and reviews is not None else 0
    vote_average = round(float(rating), 3) if vote_count else 0.0
    languages = [(name, language_code(name)) for name in _split(row["Language"])]
    spoken = [
        {"english_name": name, "iso_639_1": code, "name": name}
        for name, code in languages
        if code is not None
    ]
    countries = [c for c in (country(name) for name in _split(row["Country"])) if c is not None]
    directors = _split(row["Director"])
    cast = _split(row["Cast"])
    runtime = row["Runtime"]
    box_office = row["t_box_office"]
    return {
        "adult": False,
        "backdrop_path": None,
        "belongs_to_collection": None,
        "budget": 0,
        "genres": genres_of(row["Genre"]),
        "homepage": "",
        "id": int(row["ID"]),
        "imdb_id": row["imdbID"],
        "origin_country": [code for code, _ in countries[:1]],
        "original_language": (languages[0][1] if languages and languages[0][1] else NO_LANGUAGE),
        "original_title": row["Title"],
        "overview": "",
        "popularity": popularity_of(vote_count),
        "poster_path": None,
        "production_companies": [],
        "production_countries": [
            {"iso_3166_1": code, "name": name} for code, name in dict(countries).items()
        ],
        "release_date": row["Released"] or "",
        "revenue": int(box_office) if box_office else 0,
        "runtime": int(runtime) if runtime else 0,
        "spoken_languages": spoken,
        "status": "Released",
        "tagline": "",
        "title": row["Title"],
        "video": False,
        "vote_average": vote_average,
        "vote_count": vote_count,
        "credits": {
            "cast": [
                {
                    "adult": False,
                    "gender": 0,
                    "id": person_id(name),
                    "known_for_department": "Acting",
                    "name": name,
                    "original_name": name,
                    "popularity": 0.0,
                    "profile_path": None,
                    "cast_id": order,
                    "character": "",
                    "credit_id": f"{int(row['ID']):x}c{order:x}",
                    "order": order,
                }
                for order, name in enumerate(cast)
            ],
            "crew": [
                {
                    "adult": False,
                    "gender": 0,
                    "id": person_id(name),
                    "known_for_department": "Directing",
                    "name": name,
                    "original_name": name,
                    "popularity": 0.0,
                    "profile_path": None,
                    "credit_id": f"{int(row['ID']):x}d{index:x}",
                    "department": "Directing",
                    "job": "Director",
                }
                for index, name in enumerate(directors)
            ],
        },
    }


def load_bokeh_movies(path: Path | None = None) -> list[dict[str, Any]]:
    """Every film of bokeh-sampledata's movies.db as a TMDB details object, by id."""
    path = path or default_db_path()
    query = """
        SELECT o.ID, o.imdbID, o.Title, o.Runtime, o.Genre, o.Released, o.Director,
               o.Cast, o.Language, o.Country,
               t.Rating AS t_rating, t.Reviews AS t_reviews, t.BoxOffice AS t_box_office
        FROM omdb o LEFT JOIN tomatoes t ON o.ID = t.ID
        ORDER BY o.ID
    """
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(query).fetchall()
    except sqlite3.Error as exc:
        raise ConfigError(f"{path}: cannot read the films database ({exc})") from None
    return [movie_from_row(row) for row in rows]


def load_jsonl_movies(path: Path) -> list[dict[str, Any]]:
    """TMDB movie-details objects from a JSON-lines file (a user's own snapshot)."""
    movies: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the dataset ({exc.strerror})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            movie = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(movie, dict) or not isinstance(movie.get("id"), int):
            raise ConfigError(f"{path}:{number}: a movie object with an integer 'id' is required")
        movies.append(movie)
    return movies


def load_movies(dataset: Path | None = None) -> list[dict[str, Any]]:
    """The sandbox's films: a JSON-lines snapshot when given, else bokeh's database."""
    movies = load_jsonl_movies(dataset) if dataset else load_bokeh_movies()
    log.info("sandbox dataset: %d films from %s", len(movies), dataset or "bokeh-sampledata")
    return movies
