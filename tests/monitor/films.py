"""Synthetic films as TMDB movie-details objects, for a ``tmdb-mlops sandbox --dataset``.

The collector then meets them exactly as it meets TMDB's (Discover, details
with credits and release dates), so the drift tests run the real collector,
trainer, predictor and monitor over films whose distribution the test controls.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from tmdb_mlops.genres import TMDB_GENRES

GENRE_IDS = {name: gid for gid, name in TMDB_GENRES.items()}


def _names(cell: Any) -> list[str]:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell is pd.NA:
        return []
    return [part for part in str(cell).split("|") if part]


def _number(cell: Any) -> float:
    return 0 if cell is None or cell is pd.NA or (isinstance(cell, float) and math.isnan(cell)) else cell


def tmdb_object(row: dict[str, Any]) -> dict[str, Any]:
    """One processed-like row (``tests.train.synthetic``) as a TMDB details object."""
    director = _names(row.get("director"))
    certification = _names(row.get("certification"))
    return {
        "id": int(row["id"]),
        "title": str(row["title"]),
        "original_title": str(row["original_title"]),
        "original_language": str(row["original_language"]),
        "overview": "" if not _names(row.get("overview")) else str(row["overview"]),
        "release_date": str(row["release_date"]),
        "genres": [{"id": GENRE_IDS[g], "name": g} for g in _names(row["genres"])],
        "runtime": int(round(_number(row["runtime"]))),
        "budget": int(round(_number(row["budget"]))),
        "revenue": int(round(_number(row["revenue"]))),
        "production_countries": [{"iso_3166_1": c, "name": c} for c in _names(row["production_countries"])],
        "production_companies": [{"id": i, "name": c}
                                 for i, c in enumerate(_names(row.get("production_companies")), 1)],
        "credits": {
            "cast": [{"name": n, "order": i} for i, n in enumerate(_names(row["cast"]))],
            "crew": [{"name": n, "job": "Director", "department": "Directing"} for n in director]
            + [{"name": n, "job": "Screenplay", "department": "Writing"}
               for n in _names(row.get("writers"))],
        },
        "release_dates": {"results": [{"iso_3166_1": "US", "release_dates": [
            {"certification": certification[0], "type": 3}]}] if certification else []},
        "vote_average": float(row["vote_average"]),
        "vote_count": int(row["vote_count"]),
        "popularity": float(row["popularity"]),
        "poster_path": row.get("poster_path") if isinstance(row.get("poster_path"), str) else None,
        "adult": False,
        "video": False,
        "status": "Released",
    }


def write_dataset(path: Path, *frames: pd.DataFrame) -> Path:
    lines = []
    for frame in frames:
        for row in frame.astype(object).to_dict("records"):
            lines.append(json.dumps(tmdb_object(row)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
