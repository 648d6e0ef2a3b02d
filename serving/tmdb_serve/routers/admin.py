"""POST /admin/reload: an operator forces a champion check now.

Disabled (404) unless ADMIN_TOKEN is set; then a bearer token is required
(401 without one, 403 with a wrong one), compared in constant time.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tmdb_serve.deps import SettingsDep, StoreDep
from tmdb_serve.schemas import ErrorResponse, ReloadResult

router = APIRouter(prefix="/admin", tags=["admin"])
bearer = HTTPBearer(auto_error=False)


async def require_admin(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="admin endpoints are disabled")
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    expected = settings.admin_token.get_secret_value().encode()
    if not secrets.compare_digest(credentials.credentials.encode(), expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid admin token")


@router.post(
    "/reload",
    response_model=ReloadResult,
    dependencies=[Depends(require_admin)],
    responses={
        401: {"model": ErrorResponse, "description": "No bearer token"},
        403: {"model": ErrorResponse, "description": "Wrong bearer token"},
        404: {"model": ErrorResponse, "description": "ADMIN_TOKEN is not set"},
    },
)
async def reload_model(store: StoreDep) -> ReloadResult:
    """Check the champion pointer now and swap in a new, verified model if it moved."""
    return await run_in_threadpool(store.check, force=True)
