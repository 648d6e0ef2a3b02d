"""``tmdb-mlops demo`` (``make demo``): the whole pipeline on one machine, no Docker, no TMDB key.

It drives the same commands a user or Airflow runs, as child processes, so the
demo exercises exactly the production path: start the sandbox, collect a
backfill of logical dates (skipping partitions that already exist), train and
promote, move on in sandbox time until the first predictions mature and
monitor them (``tmdb_demo.monitoring``), then serve and print the URLs. What it reports comes from what the
stages write for the next stage (the partitions' manifests, the training
report JSON), never from their log lines.

Ctrl-C, SIGTERM and SIGHUP (a ``kill``, a closed terminal, a supervisor,
``timeout``) all stop every process it started and free the ports. It lives in
its own development-only distribution because it drives every part: no image
holds it, and no part imports it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import typer

from tmdb_mlops.errors import PlatformError

log = logging.getLogger(__name__)

DEMO_END = date(2014, 3, 1)
SANDBOX_KEY = "demo-key"


class DemoError(PlatformError):
    """A step of the demo failed; the message names the step."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, *, timeout: float, proc: subprocess.Popen, what: str) -> None:
    """Poll a URL until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"{what} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise DemoError(f"{what} did not answer {url} within {timeout:.0f}s")


class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C, so every ``finally`` runs.

    A BaseException, like KeyboardInterrupt, so no ``except Exception`` swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, frame: object) -> None:
    raise Stopped(signum)


def stop_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into :class:`Stopped` in this process (the main thread)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stopped)


class Children:
    """The processes the demo started, stopped by PID in reverse order."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, args: list[str], *, env: dict[str, str], log_file: Path) -> subprocess.Popen:
        handle = log_file.open("ab")
        proc = subprocess.Popen(args, env=env, stdout=handle, stderr=handle, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        """SIGTERM each child's process group, then SIGKILL what is left after 10 s.

        Signals are ignored meanwhile: a second SIGTERM (a supervisor insisting)
        must not interrupt the clean-up half way and leave a child behind.
        """
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGTERM, signal.SIGHUP)}
        try:
            for proc in reversed(self.procs):
                if proc.poll() is None:
                    _killpg(proc.pid, signal.SIGTERM)
            for proc in reversed(self.procs):
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    _killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            self.procs.clear()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _killpg(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pid, signum)


def _run(args: list[str], *, env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    """One stage command to completion; its last stderr line is the error when it fails."""
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DemoError(f"{what} failed: {tail}")
    return result


def demo_dates(*, end: date, days: int) -> list[date]:
    """The backfill: ``days`` consecutive logical dates ending at ``end``."""
    return [end - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _step(message: str, started: float) -> None:
    typer.secho(f"[{time.monotonic() - started:6.1f}s] {message}", fg=typer.colors.CYAN)


def run_demo(
    *,
    end: date,
    days: int,
    port: int,
    logs: Path,
    serve: bool,
    echo: Callable[[str, float], None] = _step,
) -> dict[str, str]:
    """Run sandbox -> collect -> train -> serve; returns the URLs (and blocks when serving)."""
    from tmdb_mlops.config import load_settings
    from tmdb_mlops.layout import SPLITS
    from tmdb_mlops.partitions import list_partitions, read_manifest
    from tmdb_mlops.registry import Registry
    from tmdb_mlops.storage import storage_from_settings

    started = time.monotonic()
    cli = str(Path(sys.executable).parent / "tmdb-mlops")
    logs.mkdir(parents=True, exist_ok=True)
    children = Children()
    sandbox_port = _free_port()
    env = {
        **os.environ,
        "TMDB_BASE_URL": f"http://127.0.0.1:{sandbox_port}/3",
        "TMDB_API_KEY": SANDBOX_KEY,
        "TMDB_RATE_LIMIT": os.environ.get("TMDB_RATE_LIMIT", "1000"),
        "TMDB_CONCURRENCY": os.environ.get("TMDB_CONCURRENCY", "16"),
        "COLLECT_SLICES": os.environ.get("COLLECT_SLICES", str(days)),
    }
    env.pop("TMDB_READ_ACCESS_TOKEN", None)
    store = storage_from_settings(load_settings())
    store.check()
    try:
        echo(f"store: {store.url}; logs: {logs}", started)
        sandbox = children.start(
            [cli, "sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port)],
            env=env, log_file=logs / "sandbox.log",
        )
        _wait_http(f"http://127.0.0.1:{sandbox_port}/3/genre/movie/list?api_key={SANDBOX_KEY}",
                   timeout=120, proc=sandbox, what="the TMDB sandbox")
        echo(f"sandbox up on 127.0.0.1:{sandbox_port} (bokeh-sampledata films)", started)

        dates = demo_dates(end=end, days=days)
        done = {split: set(list_partitions(store, split=split)) for split in SPLITS}
        todo = [d for d in dates if any(d not in done[split] for split in SPLITS)]
        echo(f"collect: {len(dates)} logical dates {dates[0]}..{dates[-1]}, "
             f"{len(dates) - len(todo)} already collected", started)
        total_train = 0
        for index, logical_date in enumerate(todo, 1):
            _run([cli, "collect", "--logical-date", logical_date.isoformat(), "--split", "all"],
                 env=env, what=f"collect {logical_date}")
            counts = {}
            for split in SPLITS:
                manifest = read_manifest(store, split=split, dt=logical_date)
                if manifest is None:  # exit 0 without a partition would be a collector bug
                    raise DemoError(f"collect {logical_date} wrote no {split} manifest")
                counts[split] = int(manifest["rows"])
            total_train += counts["train"]
            echo(f"collect {logical_date} ({index}/{len(todo)}): {counts['train']} train, "
                 f"{counts['inference']} inference films; {total_train} train films so far",
                 started)

        echo(f"train --as-of {end}", started)
        report_path = logs / "train-report.json"
        _run([cli, "train", "--as-of", end.isoformat(), "--report", str(report_path)], env=env,
             what="train")
        report = json.loads(report_path.read_text())
        model, baselines = report["metrics"]["model"], report["metrics"]["baselines"]
        decision = report["decision"]
        echo(f"  trained {report['version']}: holdout RMSE {model['rmse']:.3f} "
             f"(mean baseline {baselines['global_mean']['rmse']:.3f}, "
             f"ridge {baselines['ridge']['rmse']:.3f})", started)
        interval = report["metrics"].get("interval") or {}
        if interval.get("available"):
            echo(f"  {interval['nominal_coverage']:.0%} interval: covers "
                 f"{interval['empirical_coverage']:.1%} of {interval['evaluation_rows']} later "
                 f"holdout films it was not calibrated on, mean width {interval['mean_width']:.2f} "
                 f"(constant width {interval['baseline']['mean_width']:.2f} covers "
                 f"{interval['baseline']['empirical_coverage']:.1%})", started)
        echo(f"  {'promoted to champion' if decision['promoted'] else 'NOT promoted'}: "
             f"{decision['reason']}", started)

        from tmdb_demo.monitoring import describe, run_monitoring

        champion = Registry(store, signing_key=None).champion()
        if champion is None:
            raise DemoError("no champion after training")
        monitoring = run_monitoring(cli=cli, env=env, store=store, end=end, champion=champion,
                                    run=_run, say=lambda line: echo(line, started))
        for line in describe(monitoring):
            echo(line, started)

        urls = {
            "results": f"http://127.0.0.1:{port}/results",
            "monitoring": f"http://127.0.0.1:{port}/monitoring",
            "docs": f"http://127.0.0.1:{port}/docs",
        }
        if not serve:
            return urls
        server = children.start(
            [cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, log_file=logs / "serve.log",
        )
        _wait_http(f"http://127.0.0.1:{port}/ready", timeout=120, proc=server, what="the server")
        echo("ready", started)
        typer.secho(f"\n  Results: {urls['results']}\n  Monitoring: {urls['monitoring']}\n"
                    f"  API docs: {urls['docs']}\n", bold=True)
        typer.echo("Press Ctrl-C to stop.")
        while server.poll() is None:
            time.sleep(1)
        raise DemoError(f"the server exited with code {server.returncode}; see {logs / 'serve.log'}")
    finally:
        children.stop_all()


def demo(
    end: str = typer.Option(DEMO_END.isoformat(), help="Last logical date of the backfill."),
    days: int = typer.Option(30, min=1, help="Logical dates to backfill (one history slice each)."),
    port: int = typer.Option(8000, help="Port of the prediction server."),
    serve: bool = typer.Option(True, help="Start the server and wait for Ctrl-C."),
    logs: Path = typer.Option(Path("demo-logs"), help="Where the child processes' logs go."),
) -> None:
    """Collect from the sandbox, train, promote and serve, all on this machine."""
    from tmdb_mlops.logs import configure_logging

    configure_logging("WARNING")
    stop_on_signals()
    try:
        run_demo(end=date.fromisoformat(end), days=days, port=port, logs=logs.resolve(),
                 serve=serve)
    except Stopped as stopped:
        typer.secho(f"stopped by {stopped}; every process the demo started is stopped", err=True)
        raise SystemExit(128 + stopped.signum) from None
