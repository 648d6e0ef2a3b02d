"""Films for the sandbox as TMDB movie-details objects (with ``credits`` and ``release_dates``).

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
import re
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


# OMDb's writer roles, "Name (screenplay)", as TMDB's Writing jobs. A name without a
# role, or with "written by", is a "Writer"; parentheses that name no role are part
# of the name ("Sergeĭ (Sergeĭ Vasilʹevich) Kostin").
_WRITER_JOBS = {
    "screenplay": "Screenplay",
    "screenplay by": "Screenplay",
    "written by": "Writer",
    "writer": "Writer",
    "story": "Story",
    "story by": "Story",
    "original story": "Original Story",
    "screen story": "Screenstory",
    "novel": "Novel",
    "book": "Book",
    "characters": "Characters",
    "play": "Theatre Play",
    "adaptation": "Adaptation",
    "dialogue": "Dialogue",
}
_ROLE = re.compile(r"^(?P<name>.*?)\s*\((?P<roles>[^()]*)\)$")
_SUFFIXES = {"Jr.", "Jr", "Sr.", "Sr", "II", "III", "IV"}

# OMDb's MPAA ratings as TMDB's US certifications. M (1968), M/PG and GP (1970) were
# renamed PG in 1972, X became NC-17 in 1990; "N/A", "UNRATED", "NOT RATED" give none.
_CERTIFICATIONS = {"G": "G", "PG": "PG", "PG-13": "PG-13", "R": "R", "NC-17": "NC-17",
                   "GP": "PG", "M": "PG", "M/PG": "PG", "X": "NC-17"}
THEATRICAL = 3  # TMDB's release type for a theatrical release


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


def _split_names(text: str | None) -> list[str]:
    """Comma-separated names, commas inside parentheses kept, "Name, Jr." rejoined."""
    parts: list[str] = []
    depth, current = 0, []
    for char in text or "":
        depth += (char == "(") - (char == ")")
        if char == "," and depth <= 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    names: list[str] = []
    for part in filter(None, parts):
        if part in _SUFFIXES and names:
            names[-1] = f"{names[-1]} {part}"
        else:
            names.append(part)
    return names


def writer_credits(omdb_writer: str | None) -> list[tuple[str, str]]:
    """OMDb's ``Writer`` as (name, TMDB job) pairs in order, each pair once.

    "Jonathan Nolan (screenplay), David S. Goyer (story)" gives
    [("Jonathan Nolan", "Screenplay"), ("David S. Goyer", "Story")].
    """
    credits: list[tuple[str, str]] = []
    for part in _split_names(omdb_writer):
        name, jobs = part, ["Writer"]
        match = _ROLE.match(part)
        if match:
            roles = [r.strip().lower() for r in re.split(r"\s*(?:&|/|\band\b|;)\s*",
                                                          match["roles"])]
            mapped = [_WRITER_JOBS.get(role) for role in roles if role]
            if mapped and all(mapped):
                name, jobs = match["name"].strip(), [job for job in mapped if job]
        for job in jobs:
            if name and (name, job) not in credits:
                credits.append((name, job))
    return credits


def company_ids(names: list[str]) -> dict[str, int]:
    """Stable ids for production companies: positions in the sorted list of names, from 1."""
    return {name: index for index, name in enumerate(sorted(set(names)), start=1)}


def release_dates_of(rating: str | None, released: str | None) -> dict[str, Any]:
    """TMDB's ``release_dates`` object: a US theatrical release carrying the certification.

    The source has one release date and one (US, MPAA) rating per film; a film
    without a rating gets no entry, as TMDB has none to show.
    """
    certification = _CERTIFICATIONS.get((rating or "").strip().upper())
    if certification is None:
        return {"results": []}
    entry = {
        "certification": certification,
        "descriptors": [],
        "iso_639_1": "",
        "note": "",
        "release_date": f"{released}T00:00:00.000Z" if released else "",
        "type": THEATRICAL,
    }
    return {"results": [{"iso_3166_1": "US", "release_dates": [entry]}]}


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


def _crew_member(name: str, *, department: str, job: str, credit_id: str) -> dict[str, Any]:
    return {
        "adult": False,
        "gender": 0,
        "id": person_id(name),
        "known_for_department": department,
        "name": name,
        "original_name": name,
        "popularity": 0.0,
        "profile_path": None,
        "credit_id": credit_id,
        "department": department,
        "job": job,
    }


def movie_from_row(row: sqlite3.Row, *, companies: dict[str, int]) -> dict[str, Any]:
    """One joined omdb/tomatoes row as a TMDB movie-details object with credits.

    Args:
        companies: production company name -> id (:func:`company_ids` over the source).
    """
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
    writers = writer_credits(row["Writer"])
    cast = _split(row["Cast"])
    movie_id = int(row["ID"])
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
        "production_companies": [
            {"id": companies[name], "logo_path": None, "name": name, "origin_country": ""}
            for name in _split(row["t_production"])
        ],
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
                _crew_member(name, department="Directing", job="Director",
                             credit_id=f"{movie_id:x}d{index:x}")
                for index, name in enumerate(directors)
            ] + [
                _crew_member(name, department="Writing", job=job,
                             credit_id=f"{movie_id:x}w{index:x}")
                for index, (name, job) in enumerate(writers)
            ],
        },
        "release_dates": release_dates_of(row["Rating"], row["Released"]),
    }


def load_bokeh_movies(path: Path | None = None) -> list[dict[str, Any]]:
    """Every film of bokeh-sampledata's movies.db as a TMDB details object, by id."""
    path = path or default_db_path()
    query = """
        SELECT o.ID, o.imdbID, o.Title, o.Runtime, o.Genre, o.Released, o.Director,
               o.Writer, o.Cast, o.Language, o.Country, o.Rating,
               t.Rating AS t_rating, t.Reviews AS t_reviews, t.BoxOffice AS t_box_office,
               t.Production AS t_production
        FROM omdb o LEFT JOIN tomatoes t ON o.ID = t.ID
        ORDER BY o.ID
    """
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(query).fetchall()
    except sqlite3.Error as exc:
        raise ConfigError(f"{path}: cannot read the films database ({exc})") from None
    companies = company_ids([name for row in rows for name in _split(row["t_production"])])
    return [movie_from_row(row, companies=companies) for row in rows]


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
