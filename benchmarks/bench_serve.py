"""Serving benchmark: our /predict against MLflow's scoring server and a FastAPI floor.

Same machine, same trained pipeline, loopback, one worker each; every server
is pinned to CPU 0 (``taskset -c 0``) and the load generator (wrk, Debian's
``apt-get install -y wrk``) to CPU 1. Three servers:

1. ours: ``tmdb-mlops serve`` (the champion of a freshly trained registry);
2. MLflow: ``mlflow models serve --env-manager local --workers 1`` on the same
   fitted pipeline saved with ``mlflow.sklearn``, run from its own virtual
   environment ``.venv-mlflow`` (created here with a pinned mlflow);
3. floor: ``floor_app.py``, a FastAPI endpoint that validates the same request
   body (``MovieFeatures``) and returns a constant: the cost of HTTP + FastAPI +
   validation, which no model server can beat.

Single-row throughput and p50/p99 at 1 and 32 connections (our /predict returns
the film's calibrated interval, issue #13), our ``/predict?explain=true`` at 32
connections (throughput and p99: the cost of TreeSHAP made visible), then a batch of
1,000 rows: latency and rows/s against MLflow's ``/invocations`` on the same
rows (ratio within each round) and against the bare in-process
``pipeline.predict``, timed at the end of every round while no server runs (ratio
within each round too). MLflow serves the same pickled pipeline, so it runs the
same featurizer (``PYTHONPATH`` is this checkout's ``common/``): a faster
encoder speeds both up.

Fairness: every server gets the same body, a 2 s wrk warm-up before each
measured run, and the same pinning; this script pins itself to CPU 1 while it
times the batch over HTTP (its JSON encoding must not steal the server's core)
and to CPU 0 for the in-process baseline (the servers' core). The servers are
measured in ``--rounds`` interleaved rounds (ours, floor, MLflow, ours, ...) and
the tables report the median of each figure, since a shared machine drifts;
the load average is printed at the start and the end.

Usage::

    .venv/bin/python benchmarks/bench_serve.py [--duration 10] [--rounds 3] [--store DIR]
        [--skip-mlflow]

Without ``--store`` a sandbox history is collected and trained into a temporary
store first (about 20 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLI = str(BIN / "tmdb-mlops")
MLFLOW_VENV = ROOT / ".venv-mlflow"
MLFLOW_VERSION = "3.17.2"  # 3.18.0 needs an mlflow-skinny release the index does not have
AS_OF = "2014-03-01"
SERVER_CPU = "0"
CLIENT_CPU = "1"
#: Timed repeats of the 1,000-row batch, over HTTP and in process, of which the median is
#: taken (15 until session 8: too few to hold still on a noisy machine).
BATCH_REPEAT = 41
# Ratios only: an absolute time on a shared machine is not a goal (our p99 is printed
# beside the floor's, measured in the same rounds).
GOALS = {"vs_mlflow": 20.0, "vs_floor": 0.60, "batch_ratio": 1.5,
         "batch_vs_mlflow": 4.0, "p99_vs_floor": 1.2}


# --- processes -----------------------------------------------------------------------------

def session_cpu_seconds(sid: int) -> float:
    """User + system CPU of every live process in session ``sid`` (a server and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[3]) == sid:  # field 6 of stat: the session id
            total += int(fields[11]) + int(fields[12])
    return total / tick


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proc:
    """A child process in its own session, stopped by its PID (process group)."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log = log
        handle = log.open("ab")
        self.popen = subprocess.Popen(args, env=env, stdout=handle, stderr=handle,
                                      start_new_session=True)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


def wait_http(url: str, *, proc: Proc, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise SystemExit(f"server exited ({proc.popen.returncode}); see {proc.log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout:.0f}s; see {proc.log}")


def wait_compiled(url: str, *, proc: Proc, timeout: float = 300) -> str:
    """Wait until our server predicts through its compiled trees; the path it measured.

    The server answers at once on LightGBM's calls and switches after its background
    compile (docs/serving.md), so a measurement started earlier would mix the two.
    """
    import httpx

    deadline = time.monotonic() + timeout
    path = "lightgbm"
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise SystemExit(f"server exited ({proc.popen.returncode}); see {proc.log}")
        path = httpx.get(url, timeout=5).json().get("prediction_path", "lightgbm")
        if path == "compiled":
            break
        time.sleep(0.5)
    return path


def pinned(cpu: str, args: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *args] if shutil.which("taskset") else args


def pin_self(cpu: str) -> None:
    """Move this process (the batch client, the in-process baseline) to one CPU."""
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):  # fewer CPUs than expected: measure unpinned
            os.sched_setaffinity(0, {int(cpu)})


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- data and model ------------------------------------------------------------------------

def prepare_store(work: Path) -> Path:
    """Collect a sandbox history and train: the registry the servers will load."""
    store = work / "store"
    port = free_port()
    env = {**os.environ, "TMDB_BASE_URL": f"http://127.0.0.1:{port}/3", "TMDB_API_KEY": "bench",
           "STORAGE_URL": str(store), "COLLECT_HISTORY_START": "2005-01-01",
           "COLLECT_SLICES": "1", "TMDB_RATE_LIMIT": "1000", "TMDB_CONCURRENCY": "16"}
    sandbox = Proc([CLI, "sandbox", "--host", "127.0.0.1", "--port", str(port), "--api-key",
                    "bench"], env=env, log=work / "sandbox.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=sandbox)
        for args in (["collect", "--logical-date", AS_OF, "--split", "all"],
                     ["train", "--as-of", AS_OF]):
            result = subprocess.run([CLI, *args], env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"{' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    finally:
        sandbox.stop()
    return store


def load_model(store: Path):
    from tmdb_mlops.registry import Registry
    from tmdb_mlops.storage import open_storage

    return Registry(open_storage(str(store)), signing_key=None).load()


def mlflow_python() -> Path:
    """``.venv-mlflow`` with a pinned mlflow and our pinned ML libraries (so the pickle loads)."""
    python = MLFLOW_VENV / "bin" / "python"
    if not (MLFLOW_VENV / "bin" / "mlflow").exists():
        print(f"creating {MLFLOW_VENV} (mlflow=={MLFLOW_VERSION}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(MLFLOW_VENV)], check=True)
        pins = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()
                if re.match(r"(?i)^(scikit-learn|lightgbm|numpy|pandas|joblib|scipy)==", line)]
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"mlflow=={MLFLOW_VERSION}",
                        *pins], check=True)
    return python


def save_mlflow_model(model, work: Path) -> Path:
    """The same fitted pipeline as an MLflow sklearn model, saved from MLflow's own venv."""
    import joblib

    pickle_path = work / "pipeline.joblib"
    joblib.dump(model.pipeline, pickle_path)
    target = work / "mlflow-model"
    script = (
        "import sys, joblib, mlflow.sklearn\n"
        "pipeline = joblib.load(sys.argv[1])\n"
        "mlflow.sklearn.save_model(pipeline, sys.argv[2], serialization_format='cloudpickle')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "common")}
    subprocess.run([str(mlflow_python()), "-c", script, str(pickle_path), str(target)],
                   env=env, check=True)
    return target


# --- load generation -----------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, body: str, *, connections: int, duration: int, work: Path,
        server: Proc | None = None) -> dict[str, float]:
    """wrk on CPU 1: requests/s, p50 and p99 in ms, non-2xx responses and, given the
    server, its CPU microseconds per request (robust to other load on the machine:
    time the server spent waiting for the CPU is not counted)."""
    script = work / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
            url]
    subprocess.run(pinned(CLIENT_CPU, [*args[:3], "-d2s", *args[4:]]), capture_output=True)
    cpu_before = session_cpu_seconds(server.popen.pid) if server else 0.0
    out = subprocess.run(pinned(CLIENT_CPU, args), capture_output=True, text=True, check=True)
    cpu_after = session_cpu_seconds(server.popen.pid) if server else 0.0
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    cpu_us = (cpu_after - cpu_before) / max(requests, 1) * 1e6
    return {"rps": rps, "p50": p50, "p99": p99, "cpu_us": cpu_us,
            "errors": float(errors.group(1)) if errors else 0}


def time_posts(url: str, body: bytes, *, repeat: int) -> float:
    """Median seconds of one POST (sequential, keep-alive), after a warm-up."""
    import httpx

    with httpx.Client(timeout=120, headers={"content-type": "application/json"}) as client:
        for _ in range(3):
            client.post(url, content=body).raise_for_status()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.post(url, content=body).raise_for_status()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- main ----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--store", type=Path, help="a store with a champion (else trained here)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds per server; the report shows medians")
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is required: apt-get install -y wrk")

    import numpy as np
    import pandas as pd

    from tmdb_mlops.inputs import EXAMPLES, MovieFeatures, to_record

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    store = args.store or prepare_store(work)
    model = load_model(store)
    print(f"model {model.version} from {store}; logs in {work}", flush=True)

    single = EXAMPLES[0]
    record = to_record(MovieFeatures.model_validate(single))
    batch_items = [dict(EXAMPLES[i % len(EXAMPLES)], title=f"Film {i}") for i in range(1000)]
    batch_records = [to_record(MovieFeatures.model_validate(item)) for item in batch_items]
    frame = pd.DataFrame.from_records(batch_records)

    env = {**os.environ, "STORAGE_URL": str(store), "MODEL_POLL_SECONDS": "0",
           "LOG_LEVEL": "WARNING"}
    servers: dict[str, dict] = {}
    ours_port, floor_port, mlflow_port = free_port(), free_port(), free_port()
    servers["ours"] = {
        "cmd": [CLI, "serve", "--host", "127.0.0.1", "--port", str(ours_port)],
        "env": env, "health": f"http://127.0.0.1:{ours_port}/ready",
        "url": f"http://127.0.0.1:{ours_port}/predict", "body": json.dumps(single),
        # The explanation's cost (issue #13): TreeSHAP on the same request, c=32 only.
        "explain_url": f"http://127.0.0.1:{ours_port}/predict?explain=true",
        "batch_url": f"http://127.0.0.1:{ours_port}/predict/batch",
        "batch_body": json.dumps({"items": batch_items}),
    }
    # The same server with its trees left to LightGBM's own calls: what compiling them buys,
    # measured in the same rounds.
    servers["ours-lightgbm"] = {
        **{key: servers["ours"][key] for key in ("health", "url", "body", "batch_url",
                                                 "batch_body")},
        "cmd": servers["ours"]["cmd"], "env": {**env, "MODEL_COMPILE": "false"},
    }
    servers["ours"]["model_url"] = f"http://127.0.0.1:{ours_port}/model"
    servers["floor"] = {
        "cmd": [sys.executable, str(ROOT / "benchmarks" / "floor_app.py"), str(floor_port)],
        "env": env, "health": f"http://127.0.0.1:{floor_port}/health",
        "url": f"http://127.0.0.1:{floor_port}/predict", "body": json.dumps(single),
    }
    if not args.skip_mlflow:
        mlflow_model = save_mlflow_model(model, work)
        mlflow_bin = MLFLOW_VENV / "bin"
        servers["mlflow"] = {
            "cmd": [str(mlflow_bin / "mlflow"), "models", "serve", "-m", str(mlflow_model),
                    "--env-manager", "local", "--workers", "1", "-h", "127.0.0.1",
                    "-p", str(mlflow_port)],
            "env": {**os.environ, "PATH": f"{mlflow_bin}:{os.environ['PATH']}",
                    "PYTHONPATH": str(ROOT / "common")},
            "health": f"http://127.0.0.1:{mlflow_port}/ping",
            "url": f"http://127.0.0.1:{mlflow_port}/invocations",
            "body": json.dumps({"dataframe_records": [record]}),
            "batch_url": f"http://127.0.0.1:{mlflow_port}/invocations",
            "batch_body": json.dumps({"dataframe_records": batch_records}),
        }

    print(f"load average at start: {load_average()} ({os.cpu_count()} CPUs)", flush=True)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    model.pipeline.predict(frame)  # warm: the first call builds the featurizer's caches
    inproc_rounds: list[float] = []  # in-process pipeline.predict, ms, once per round
    for round_no in range(1, args.rounds + 1):
        for name, spec in servers.items():
            runs[name].append(measure(name, spec, duration=args.duration, work=work,
                                      label=f"[{round_no}/{args.rounds}] {name}"))
        inproc_rounds.append(in_process_ms(lambda: model.pipeline.predict(frame)))
        print(f"[{round_no}/{args.rounds}] in-process pipeline.predict (1000 rows): "
              f"{inproc_rounds[-1]:.1f} ms", flush=True)
    results = {name: {key: statistics.median(row[key] for row in rows) for key in rows[0]}
               for name, rows in runs.items()}
    # Ratios are taken within each round (same minutes of machine load) and then the median.
    paired = {
        "vs_floor": _paired(runs["ours"], runs["floor"], "rps_32"),
        "cpu_vs_floor": _paired(runs["floor"], runs["ours"], "cpu_us_32"),
        "p99_vs_floor": _paired(runs["ours"], runs["floor"], "p99_32"),
        "p99_lgbm_vs_floor": _paired(runs["ours-lightgbm"], runs["floor"], "p99_32"),
        "compiled_vs_lgbm_cpu": _paired(runs["ours-lightgbm"], runs["ours"], "cpu_us_32"),
        "compiled_vs_lgbm_batch": _paired(runs["ours-lightgbm"], runs["ours"], "batch_ms"),
        "batch_vs_inproc": statistics.median(
            row["batch_ms"] / ms for row, ms in zip(runs["ours"], inproc_rounds, strict=True)),
    }
    if "mlflow" in runs:
        paired["vs_mlflow"] = _paired(runs["ours"], runs["mlflow"], "rps_32")
        paired["vs_mlflow_1"] = _paired(runs["ours"], runs["mlflow"], "rps_1")
        # Throughput on the same 1,000-row batch: MLflow's time over ours, within a round.
        paired["batch_vs_mlflow"] = _paired(runs["mlflow"], runs["ours"], "batch_ms")

    from tmdb_serve.fast_predict import FastPredictor

    plain = FastPredictor(model.pipeline, interval=model.interval)  # before its compile
    fast = FastPredictor(model.pipeline, interval=model.interval)  # what /predict runs
    fast.compile(cache_dir=work / "compiled", records=[record])
    pin_self(SERVER_CPU)
    plain_row = statistics.median(_timed(lambda: plain.predict_row(record)) for _ in range(200))
    plain_batch = statistics.median(
        _timed(lambda: plain.predict_with_intervals(batch_records)) for _ in range(15))
    compiled_batch = statistics.median(
        _timed(lambda: fast.predict_with_intervals(batch_records)) for _ in range(15))
    single_inproc = statistics.median(
        _timed(lambda: fast.predict_row(record)) for _ in range(200)
    )
    point_inproc = statistics.median(
        _timed(lambda: fast.predict_record(record)) for _ in range(200)
    )
    with_intervals = statistics.median(
        _timed(lambda: model.predict_frame_with_intervals(frame)) for _ in range(15)
    )
    explain_inproc = statistics.median(
        _timed(lambda: fast.predict_row(record, explain=True)) for _ in range(200)
    )
    inproc = statistics.median(inproc_rounds)
    report(results, paired, inproc_batch_ms=inproc, inproc_single_us=single_inproc * 1e6,
           rounds=args.rounds)
    print(f"in-process, one record: point prediction {point_inproc * 1e6:.0f} us, with its "
          f"interval {single_inproc * 1e6:.0f} us (interval: {fast.has_interval}), with its "
          f"explanation too {explain_inproc * 1e6:.0f} us; 1000 rows with their intervals "
          f"in process (predict_frame_with_intervals) {with_intervals * 1e3:.1f} ms, what "
          f"/predict/batch now answers (the batch ratio above is against predictions alone)")
    print(f"in-process, compiled trees against LightGBM's calls: one record with its interval "
          f"{single_inproc * 1e6:.1f} us against {plain_row * 1e6:.1f} us; 1000 records with "
          f"their intervals (encode + model) {compiled_batch * 1e3:.1f} ms against "
          f"{plain_batch * 1e3:.1f} ms")
    print(f"\nload average at end: {load_average()}")
    assert np.isfinite(inproc)


def measure(name: str, spec: dict, *, duration: int, work: Path, label: str) -> dict[str, float]:
    """Start one server pinned to CPU 0, run wrk at 1 and 32 connections and the batch, stop it."""
    proc = Proc(pinned(SERVER_CPU, spec["cmd"]), env=spec["env"], log=work / f"{name}.log")
    try:
        wait_http(spec["health"], proc=proc)
        row: dict[str, float] = {}
        if "model_url" in spec:
            path = wait_compiled(spec["model_url"], proc=proc)
            row["compiled"] = float(path == "compiled")
            print(f"{label:16s} prediction path: {path}", flush=True)
        for connections in (1, 32):
            stats = wrk(spec["url"], spec["body"], connections=connections,
                        duration=duration, work=work, server=proc)
            if stats["errors"]:
                raise SystemExit(f"{name}: {stats['errors']:.0f} failed requests")
            row.update({f"{k}_{connections}": v for k, v in stats.items()})
            print(f"{label:16s} c={connections:2d}: {stats['rps']:9.0f} req/s  "
                  f"p50 {stats['p50']:7.2f} ms  p99 {stats['p99']:7.2f} ms  "
                  f"server CPU {stats['cpu_us']:6.0f} us/req", flush=True)
        if "explain_url" in spec:
            stats = wrk(spec["explain_url"], spec["body"], connections=32,
                        duration=duration, work=work, server=proc)
            if stats["errors"]:
                raise SystemExit(f"{name} explain: {stats['errors']:.0f} failed requests")
            row.update({f"{k}_explain_32": v for k, v in stats.items()})
            print(f"{label:16s} explain c=32: {stats['rps']:9.0f} req/s  "
                  f"p50 {stats['p50']:7.2f} ms  p99 {stats['p99']:7.2f} ms  "
                  f"server CPU {stats['cpu_us']:6.0f} us/req", flush=True)
        if "batch_url" in spec:
            pin_self(CLIENT_CPU)
            seconds = time_posts(spec["batch_url"], spec["batch_body"].encode(),
                                 repeat=BATCH_REPEAT)
            row["batch_ms"] = seconds * 1e3
            print(f"{label:16s} batch of 1000: {seconds * 1e3:7.1f} ms", flush=True)
        return row
    finally:
        proc.stop()


def _paired(top: list[dict[str, float]], bottom: list[dict[str, float]], key: str) -> float:
    return statistics.median(a[key] / b[key] for a, b in zip(top, bottom, strict=True))


def in_process_ms(predict, *, repeat: int = BATCH_REPEAT) -> float:
    """Median ms of ``predict()`` on the servers' CPU, between rounds (no server runs)."""
    pin_self(SERVER_CPU)
    try:
        return statistics.median(_timed(predict) for _ in range(repeat)) * 1e3
    finally:
        pin_self(CLIENT_CPU)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def report(results: dict[str, dict], paired: dict[str, float], *, inproc_batch_ms: float,
           inproc_single_us: float, rounds: int) -> None:
    ours, mlflow = results["ours"], results.get("mlflow")
    print(f"\nmedians of {rounds} round(s)")
    print("\n| server | req/s c=1 | p50 c=1 | p99 c=1 | req/s c=32 | p50 c=32 | p99 c=32 "
          "| server CPU/req c=32 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in results.items():
        print(f"| {name} | {row['rps_1']:.0f} | {row['p50_1']:.2f} ms | {row['p99_1']:.2f} ms | "
              f"{row['rps_32']:.0f} | {row['p50_32']:.2f} ms | {row['p99_32']:.2f} ms | "
              f"{row['cpu_us_32']:.0f} us |")
    if "rps_explain_32" in ours:
        print(f"\nour /predict?explain=true at c=32: {ours['rps_explain_32']:.0f} req/s, "
              f"p50 {ours['p50_explain_32']:.2f} ms, p99 {ours['p99_explain_32']:.2f} ms "
              f"(server CPU {ours['cpu_us_explain_32']:.0f} us/req; /predict: "
              f"{ours['rps_32']:.0f} req/s, p99 {ours['p99_32']:.2f} ms)")
    print(f"\nin-process: predict_row (1 row with its interval, the /predict path) "
          f"{inproc_single_us:.0f} us; "
          f"pipeline.predict (1000 rows) {inproc_batch_ms:.1f} ms "
          f"= {1000 / inproc_batch_ms * 1e3:.0f} rows/s")
    print(f"our /predict/batch (1000 rows): {ours['batch_ms']:.1f} ms "
          f"= {1000 / ours['batch_ms'] * 1e3:.0f} rows/s")
    if mlflow and "batch_ms" in mlflow:
        print(f"MLflow /invocations (1000 rows): {mlflow['batch_ms']:.1f} ms")
    checks = [
        ("ours / floor req/s at c=32", paired["vs_floor"], GOALS["vs_floor"], ">="),
        ("ours / floor by server CPU per request at c=32", paired["cpu_vs_floor"], None, ""),
        ("our p99 at c=32 (ms)", ours["p99_32"], None, ""),
        ("our p99 / floor p99 at c=32", paired["p99_vs_floor"], GOALS["p99_vs_floor"], "<="),
        ("the same with LightGBM's calls (MODEL_COMPILE=false): p99 / floor p99",
         paired["p99_lgbm_vs_floor"], None, ""),
        ("server CPU per request at c=32: LightGBM's calls / compiled",
         paired["compiled_vs_lgbm_cpu"], None, ""),
        ("/predict/batch time: LightGBM's calls / compiled", paired["compiled_vs_lgbm_batch"],
         None, ""),
        ("batch / in-process pipeline.predict", paired["batch_vs_inproc"],
         GOALS["batch_ratio"], "<="),
    ]
    if mlflow:
        checks.insert(0, ("ours / MLflow req/s at c=32", paired["vs_mlflow"],
                          GOALS["vs_mlflow"], ">="))
        checks.insert(1, ("ours / MLflow req/s at c=1", paired["vs_mlflow_1"], None, ""))
        checks.append(("batch of 1000 rows: ours / MLflow rows/s", paired["batch_vs_mlflow"],
                       GOALS["batch_vs_mlflow"], ">="))
    print("\nratios: median over rounds of the ratio within each round")
    print("\n| ratio | measured | goal | met |")
    print("|---|---:|---:|---|")
    for label, value, goal, op in checks:
        met = "" if goal is None else (
            "yes" if (value >= goal if op == ">=" else value <= goal if op == "<=" else value < goal)
            else "NO")
        goal_text = "" if goal is None else f"{op} {goal:g}"
        print(f"| {label} | {value:.2f} | {goal_text} | {met} |")


if __name__ == "__main__":
    main()
