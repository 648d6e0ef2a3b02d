"""docker-compose.yml as Debian's docker-compose resolves it: services, health
checks, start order, the Docker socket, profiles, and images from .env."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import require
from tmdb_dags import SECRET_ENV

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer")
ENV = {
    "IMAGE_TAG": "0.1.0-abc1234",
    "COLLECT_IMAGE": "tmdb-mlops/collect:0.1.0-abc1234",
    "TRAIN_IMAGE": "tmdb-mlops/train:0.1.0-abc1234",
    "SERVE_IMAGE": "tmdb-mlops/serve:0.1.0-abc1234",
    "AIRFLOW_IMAGE": "tmdb-mlops/airflow:0.1.0-abc1234",
    "AWS_ACCESS_KEY_ID": "compose-key",
    "AWS_SECRET_ACCESS_KEY": "compose-secret",
    "AIRFLOW_JWT_SECRET": "compose-jwt",
    "POSTGRES_PASSWORD": "compose-pg",
    "ADMIN_TOKEN": "compose-admin",
    "MODEL_SIGNING_KEY": "compose-signing",
    "TMDB_API_KEY": "compose-tmdb",
}
# Every secret the stack handles: the Settings secrets plus the stack's own.
SECRETS = (*SECRET_ENV, "ADMIN_TOKEN", "POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET",
           "AIRFLOW_FERNET_KEY")


def _config(tmp_path: Path, env: dict[str, str], *profiles: str) -> subprocess.CompletedProcess:
    compose = shutil.which("docker-compose")
    require(compose is not None, "Debian's docker-compose (apt-get install docker-compose)")
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    args = [compose, "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file)]
    for profile in profiles:
        args += ["--profile", profile]
    clean = {k: v for k, v in os.environ.items() if k not in ENV}
    return subprocess.run([*args, "config"], capture_output=True, text=True, env=clean,
                          cwd=tmp_path)


@pytest.fixture
def config(tmp_path: Path) -> dict:
    result = _config(tmp_path, ENV, "build", "celery")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_services_and_images_come_from_env(config: dict) -> None:
    services = config["services"]
    assert {"postgres", "airflow-init", "seaweedfs", "seaweedfs-init", "serving", "collector",
            "trainer", "redis", "airflow-worker", *AIRFLOW_SERVICES} <= set(services)
    assert services["serving"]["image"] == ENV["SERVE_IMAGE"]
    assert services["collector"]["image"] == ENV["COLLECT_IMAGE"]
    assert services["trainer"]["image"] == ENV["TRAIN_IMAGE"]
    for name in AIRFLOW_SERVICES:
        environment = services[name]["environment"]
        assert services[name]["image"] == ENV["AIRFLOW_IMAGE"]
        assert environment["COLLECT_IMAGE"] == ENV["COLLECT_IMAGE"]
        assert environment["TRAIN_IMAGE"] == ENV["TRAIN_IMAGE"]
        assert environment["PIPELINE_DOCKER_NETWORK"] == config["networks"]["default"]["name"]


def test_docker_socket_healthchecks_and_start_order(config: dict) -> None:
    services = config["services"]
    for name in AIRFLOW_SERVICES:
        service = services[name]
        mounts = [str(v) for v in service["volumes"]]
        assert any("/var/run/docker.sock" in m for m in mounts), name
        assert "healthcheck" in service, name
        depends = service["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "seaweedfs", "serving", "redis", "airflow-worker"):
        assert "healthcheck" in services[name], name
    assert services["serving"]["depends_on"]["seaweedfs-init"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["seaweedfs-init"]["depends_on"]["seaweedfs"]["condition"] == "service_healthy"


def test_every_service_is_health_checked_and_waits_for_health(config: dict) -> None:
    services = config["services"]
    for name, service in services.items():
        one_shot = service.get("restart") == "no"  # init jobs: waited on by completion
        build_only = service.get("profiles") == ["build"]
        if not (one_shot or build_only):
            assert "healthcheck" in service, name
        for dependency, spec in service.get("depends_on", {}).items():
            assert spec["condition"] in {"service_healthy", "service_completed_successfully"}, (
                name, dependency)
            expected = ("service_completed_successfully" if services[dependency].get("restart") == "no"
                        else "service_healthy")
            assert spec["condition"] == expected, (name, dependency)


def test_every_image_is_a_pinned_tag(config: dict) -> None:
    for name, service in config["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, (name, image)  # an explicit tag
        assert tag not in {"latest", "v1"}, (name, image)


def test_secrets_come_from_env_only(config: dict) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name in SECRETS:
        # Referenced as ${NAME}, ${NAME:?message} or ${NAME:-} (empty): never a default value.
        for match in re.finditer(rf"\$\{{{name}(:?[-?])?([^}}]*)\}}", text):
            operator, default = match.group(1), match.group(2)
            assert not (operator in {"-", ":-"} and default), (name, match.group(0))
    services = config["services"]
    for name in ("serving", *AIRFLOW_SERVICES):
        environment = services[name]["environment"]
        for secret in ("AWS_SECRET_ACCESS_KEY", "ADMIN_TOKEN", "MODEL_SIGNING_KEY"):
            assert environment[secret] == ENV[secret], (name, secret)
    for name in AIRFLOW_SERVICES:
        environment = services[name]["environment"]
        assert environment["AIRFLOW__API_AUTH__JWT_SECRET"] == ENV["AIRFLOW_JWT_SECRET"]
        assert f":{ENV['POSTGRES_PASSWORD']}@" in environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert environment["TMDB_API_KEY"] == ENV["TMDB_API_KEY"]


def test_docker_socket_mount_carries_its_security_note() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    header = text.split("\nx-stage-env:")[0]
    assert "SECURITY" in header and "docker.sock" in header.replace("Docker socket", "docker.sock")
    assert "root on the" in header
    mount = text.index("- /var/run/docker.sock:/var/run/docker.sock")
    assert "SECURITY" in text[mount - 120:mount]


def test_ports_are_published_on_loopback_only(config: dict) -> None:
    for name in ("airflow-apiserver", "serving"):
        for port in config["services"][name]["ports"]:
            host_ip = port["host_ip"] if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", (name, port)


def test_profiles(config: dict) -> None:
    services = config["services"]
    assert services["collector"]["profiles"] == ["build"]
    assert services["trainer"]["profiles"] == ["build"]
    assert services["redis"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["profiles"] == ["celery"]
    assert "profiles" not in services["airflow-scheduler"]


def test_no_secret_is_written_in_the_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for key, value in ENV.items():
        if key in SECRETS or key.startswith("AWS_"):
            assert value not in text
    # Secrets are substituted from the environment, never given a default.
    for name in ("AWS_SECRET_ACCESS_KEY", "AIRFLOW_JWT_SECRET", "POSTGRES_PASSWORD"):
        assert f"${{{name}:?" in text


def test_missing_required_setting_fails_with_its_name(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "AIRFLOW_JWT_SECRET"}
    result = _config(tmp_path, env)
    assert result.returncode != 0
    assert "AIRFLOW_JWT_SECRET" in result.stderr
