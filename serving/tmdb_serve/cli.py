"""``tmdb-mlops serve``: the prediction service under uvicorn (entry point in pyproject.toml).

Heavy imports stay inside the command so ``tmdb-mlops --help`` stays fast.
"""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (0.0.0.0 in a container)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
    access_log: bool = typer.Option(False, help="Log every request (slows the hot path)."),
) -> None:
    """Serve the champion model: /predict, /results, /docs, /metrics."""
    import importlib.util

    import uvicorn

    from tmdb_mlops.config import get_settings
    from tmdb_mlops.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    # uvloop and httptools are the fast event loop and HTTP parser; fall back when absent.
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    uvicorn.run(
        "tmdb_serve.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop=loop,
        http=http,
        access_log=access_log,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
