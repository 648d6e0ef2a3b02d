"""The console script: lists its commands and fails in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "tmdb-mlops")


def test_help_lists_every_command() -> None:
    result = subprocess.run([CLI, "--help"], capture_output=True, text=True, check=True)
    for command in ("collect", "sandbox", "train", "models", "serve", "demo"):
        assert command in result.stdout


def test_storage_failure_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """An unreachable S3 endpoint ends `models list` with one line naming the URL."""
    from tests.servers import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    env = {"PATH": "/usr/bin:/bin", "STORAGE_URL": "s3://bucket/x", "S3_ENDPOINT_URL": endpoint,
           "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "HOME": str(tmp_path)}
    result = subprocess.run([CLI, "models", "list"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and endpoint in lines[-1]
    assert "Traceback" not in result.stderr


def test_invalid_configuration_is_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TMDB_RATE_LIMIT": "fast", "HOME": str(tmp_path)}
    result = subprocess.run([CLI, "models", "list"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert "TMDB_RATE_LIMIT" in result.stderr and "Traceback" not in result.stderr


def test_models_export_fills_a_local_model_dir(tmp_path: Path) -> None:
    """`models export` writes the three files, unchanged and loadable (serving's LOCAL_MODEL_DIR)."""
    from tests.train.synthetic import synthetic_movies
    from tmdb_mlops import layout
    from tmdb_mlops.registry import Registry, load_local
    from tmdb_mlops.schema import TARGET
    from tmdb_mlops.storage import open_storage
    from tmdb_train.pipeline import build_pipeline

    store = open_storage(str(tmp_path / "store"))
    registry = Registry(store, signing_key=None)
    movies = synthetic_movies(150, seed=2)
    pipeline = build_pipeline(params={"n_estimators": 10}).fit(movies, movies[TARGET])
    version = registry.register(pipeline=pipeline, input_schema={"columns": {}},
                                metrics={"model": {"rmse": 1.0}}, as_of="2014-03-01",
                                partitions=[], training_params={})
    registry.promote(version, reason="test")
    env = {"PATH": "/usr/bin:/bin", "STORAGE_URL": store.url, "HOME": str(tmp_path)}
    target = tmp_path / "model"
    result = subprocess.run([CLI, "models", "export", "champion", "--dir", str(target)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert version in result.stdout and f"LOCAL_MODEL_DIR={target}" in result.stdout
    for name in (layout.BUNDLE_FILE, layout.METADATA_FILE, layout.METRICS_FILE):
        assert (target / name).read_bytes() == store.read_bytes(f"{layout.version_prefix(version)}/{name}")
    assert load_local(target, signing_key=None).version == version

    missing = subprocess.run([CLI, "models", "export", "nope", "--dir", str(tmp_path / "x")],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("error: model version 'nope'")


def test_a_command_whose_part_is_missing_is_unavailable_in_one_line(monkeypatch, capsys) -> None:
    """A platform command with no entry point, or one that cannot import, is a stub, not a crash."""
    from importlib.metadata import EntryPoint

    import typer

    from tmdb_mlops import cli

    broken = EntryPoint(name="train", value="tmdb_no_such_part.cli:train",
                        group=cli.ENTRY_POINT_GROUP)
    monkeypatch.setattr(cli, "entry_points", lambda group: [broken])
    monkeypatch.setattr(cli, "app", typer.Typer(pretty_exceptions_enable=False))
    cli.register_commands()
    monkeypatch.setattr(sys, "argv", ["tmdb-mlops", "train"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    message = capsys.readouterr().err.strip()
    assert message.startswith("error: 'train' is not available in this environment")
    assert "tmdb_no_such_part" in message
    monkeypatch.setattr(sys, "argv", ["tmdb-mlops", "serve"])
    with pytest.raises(SystemExit):
        cli.main()
    assert "the part that provides it is not installed" in capsys.readouterr().err
