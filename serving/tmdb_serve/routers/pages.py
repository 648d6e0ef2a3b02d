"""GET /results: the human view of the upcoming films and the model serving them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tmdb_mlops.inputs import EXAMPLES, Genre
from tmdb_serve.deps import ResultsDep, StoreDep
from tmdb_serve.results import SortKey

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
GENRES: tuple[str, ...] = Genre.__args__  # type: ignore[attr-defined]


@router.get("/results", response_class=HTMLResponse)
def results_page(
    request: Request,
    results: ResultsDep,
    store: StoreDep,
    sort: SortKey = "prediction",
    order: Literal["asc", "desc"] = "desc",
    genre: Annotated[str, Query(max_length=40)] = "",
    month: Annotated[str, Query(pattern=r"^(\d{4}-\d{2})?$")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 25,
) -> HTMLResponse:
    """Upcoming films with their predicted ratings, the model card and charts."""
    data = results.page(
        store.current, sort=sort, order=order, genre=genre or None, month=month or None,
        page=page, per_page=per_page,
    )

    def link(**changes: object) -> str:
        params = {**data.query, "page": data.page, **changes}
        return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    return templates.TemplateResponse(
        request=request,
        name="results.html",
        context={"data": data, "link": link, "all_genres": GENRES, "example": EXAMPLES[0]},
    )


@router.get(
    "/results/films/{film_id}",
    response_class=HTMLResponse,
    responses={404: {"description": "No such film in the partition the served model scored",
                     "content": {"text/html": {}}}},
)
def film_page(
    request: Request,
    results: ResultsDep,
    store: StoreDep,
    film_id: Annotated[int, PathParam(ge=1, le=2**62)],
) -> HTMLResponse:
    """One upcoming film: its interval, the contribution of each input, its raw inputs."""
    detail = results.film(store.current, film_id)
    return templates.TemplateResponse(
        request=request,
        name="film.html",
        context={"detail": detail, "film_id": film_id},
        status_code=200 if detail is not None else 404,
    )
