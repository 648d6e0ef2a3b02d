"""Settings: environment and .env are read, and mistakes give one readable line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tmdb_mlops.config import load_settings
from tmdb_mlops.errors import ConfigError

pytestmark = pytest.mark.unit


def test_defaults_are_the_embedded_setup() -> None:
    settings = load_settings()
    assert settings.storage_url == "./data"
    assert settings.tmdb_base_url == "https://api.themoviedb.org/3"
    assert settings.tmdb_rate_limit == 40
    assert settings.model_poll_seconds == 30


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_URL", "s3://bucket/prefix")
    monkeypatch.setenv("TMDB_RATE_LIMIT", "12.5")
    settings = load_settings()
    assert settings.storage_url == "s3://bucket/prefix"
    assert settings.tmdb_rate_limit == 12.5


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COLLECT_SLICES=7\n")
    assert load_settings().collect_slices == 7


def test_invalid_value_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMDB_RATE_LIMIT", "-3")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "TMDB_RATE_LIMIT" in str(info.value)
    assert "\n" not in str(info.value)


def test_unsupported_storage_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_URL", "gs://bucket")
    with pytest.raises(ConfigError, match="STORAGE_URL"):
        load_settings()


def test_placeholder_secret_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("TMDB_API_KEY", "changeme")
    with pytest.raises(ConfigError, match="TMDB_API_KEY"):
        load_settings()


def test_secrets_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMDB_API_KEY", "super-secret-value")
    settings = load_settings()
    assert "super-secret-value" not in repr(settings)
    assert "super-secret-value" not in str(settings.model_dump())


def test_env_template_documents_every_setting() -> None:
    """.env.template and Settings must not drift apart (one source of truth, checked)."""
    from tmdb_mlops.config import Settings

    template = (Path(__file__).resolve().parents[2] / ".env.template").read_text()
    documented = {line.split("=", 1)[0] for line in template.splitlines()
                  if "=" in line and not line.startswith("#")}
    expected = {name.upper() for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from .env.template"


def test_env_template_documents_every_deployment_variable() -> None:
    """Variables read by compose and the DAG configuration are documented too."""
    import re

    root = Path(__file__).resolve().parents[2]
    template = (root / ".env.template").read_text()
    documented = {line.split("=", 1)[0] for line in template.splitlines()
                  if "=" in line and not line.startswith("#")}
    compose_lines = [line.split("#", 1)[0] for line in
                     (root / "docker-compose.yml").read_text().splitlines()]
    compose = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", "\n".join(compose_lines)))
    dags = set(re.findall(r"""_env\(\s*f?["']([A-Z][A-Z0-9_]*)["']""",
                          (root / "airflow_pipeline/dag_helpers/tmdb_dags/__init__.py").read_text()))
    runtime_only = {"HOSTNAME", "DOCKER_HOST"}  # set by Docker itself, not by us
    assert (compose | dags) - runtime_only - documented == set()


def test_template_copied_as_is_gives_the_defaults(tmp_path: Path) -> None:
    """Empty values in a copied .env.template mean "unset", not "empty string"."""
    template = Path(__file__).resolve().parents[2] / ".env.template"
    (tmp_path / ".env").write_text(template.read_text())
    settings = load_settings()
    assert settings.s3_endpoint_url is None
    assert settings.tmdb_api_key is None
    assert settings.local_model_dir is None
    assert settings.storage_url == "./data"
