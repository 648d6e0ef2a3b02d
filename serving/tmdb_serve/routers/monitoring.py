"""GET /monitoring and /monitoring.json: the latest monitoring report, for people and programs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tmdb_serve.deps import MonitoringDep

router = APIRouter(tags=["monitoring"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


@router.get("/monitoring", response_class=HTMLResponse)
def monitoring_page(request: Request, monitoring: MonitoringDep) -> HTMLResponse:
    """Realized against holdout error per version, drift, and the error estimate of unreleased films."""
    return templates.TemplateResponse(
        request=request, name="monitoring.html", context={"data": monitoring.page()},
    )


@router.get(
    "/monitoring.json",
    responses={404: {"description": "No monitoring report has been written yet"}},
)
def monitoring_json(monitoring: MonitoringDep) -> dict[str, Any]:
    """The latest monitoring report (schema tmdb_mlops.monitor_report.MonitoringReport)."""
    page = monitoring.page()
    if page.report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=page.message)
    return page.report.model_dump(mode="json")
