"""docker-compose.yml (and the offline override) as Debian's docker-compose resolves
them: services, health checks, start order, the Docker socket, profiles, images from
.env, the settings the DAGs forward, and only compose features v1.29 and v2 share."""

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
    "AIRFLOW_ADMIN_PASSWORD": "compose-admin-password",
    "ADMIN_TOKEN": "compose-admin",
    "MODEL_SIGNING_KEY": "compose-signing",
    "TMDB_API_KEY": "compose-tmdb",
}
# Every secret the stack handles: the Settings secrets plus the stack's own.
SECRETS = (*SECRET_ENV, "ADMIN_TOKEN", "POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET",
           "AIRFLOW_FERNET_KEY", "AIRFLOW_ADMIN_PASSWORD")
OFFLINE = {
    "postgres": "tmdb-mlops/offline-postgres:15-abc12345",
    "redis": "tmdb-mlops/offline-redis:7.0-abc12345",
    "seaweedfs": "tmdb-mlops/offline-seaweedfs:4.48-abc12345",
}
OFFLINE_ENV = {f"OFFLINE_{name.upper()}_IMAGE": image for name, image in OFFLINE.items()}
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.offline.yml")


def _config(tmp_path: Path, env: dict[str, str], *profiles: str,
            files: tuple[str, ...] = ("docker-compose.yml",)) -> subprocess.CompletedProcess:
    compose = shutil.which("docker-compose")
    require(compose is not None, "Debian's docker-compose (apt-get install docker-compose)")
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    args = [compose, "--env-file", str(env_file)]
    for file in files:
        args += ["-f", str(ROOT / file)]
    for profile in profiles:
        args += ["--profile", profile]
    clean = {k: v for k, v in os.environ.items()
             if k not in {*ENV, *OFFLINE_ENV} and not k.startswith("COMPOSE_")}
    return subprocess.run([*args, "config"], capture_output=True, text=True, env=clean,
                          cwd=tmp_path)


@pytest.fixture
def config(tmp_path: Path) -> dict:
    result = _config(tmp_path, ENV, "build", "celery", "sandbox")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture
def offline_config(tmp_path: Path) -> dict:
    result = _config(tmp_path, {**ENV, **OFFLINE_ENV}, "celery", "sandbox", files=COMPOSE_FILES)
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
    assert services["airflow-apiserver"]["environment"]["AIRFLOW_ADMIN_PASSWORD"] == (
        ENV["AIRFLOW_ADMIN_PASSWORD"])
    assert ENV["AIRFLOW_ADMIN_PASSWORD"] not in str(services["airflow-apiserver"]["command"])
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
    published = {name for name, service in config["services"].items() if service.get("ports")}
    assert published == {"airflow-apiserver", "serving", "seaweedfs"}
    for name in published:
        for port in config["services"][name]["ports"]:
            host_ip = port["host_ip"] if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", (name, port)


def test_profiles(config: dict) -> None:
    services = config["services"]
    assert services["collector"]["profiles"] == ["build"]
    assert services["trainer"]["profiles"] == ["build"]
    assert services["redis"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["profiles"] == ["celery"]
    assert services["tmdb-sandbox"]["profiles"] == ["sandbox"]
    assert "profiles" not in services["airflow-scheduler"]
    # No service outside a profile depends on one inside (compose v2 refuses that).
    for name, service in services.items():
        if "profiles" not in service:
            for dependency in service.get("depends_on", {}):
                assert "profiles" not in services[dependency], (name, dependency)


def test_only_features_both_compose_clients_understand() -> None:
    """docker compose (v2) and Debian's docker-compose 1.29 read the same files."""
    for file in COMPOSE_FILES:
        text = "\n".join(line.split("#", 1)[0] for line in (ROOT / file).read_text().splitlines())
        data = yaml.safe_load(text)
        assert "version" not in data, file  # obsolete in v2, optional in 1.29
        for feature in ("!reset", "!override", "include:", "extends:", "develop:"):
            assert feature not in text, (file, feature)
        for name, service in data["services"].items():
            # Scaling (--scale airflow-worker=N) and several projects on one host.
            assert "container_name" not in service, (file, name)
        # Variables with a nested default (${A:-${B}}) are v2-only.
        assert not re.search(r"\$\{[A-Z_]+:?[-?][^}]*\$\{", text), file


def test_celery_workers_scale_and_run_the_tasks(config: dict) -> None:
    services = config["services"]
    worker = services["airflow-worker"]
    assert worker["command"] == ["celery", "worker"]
    assert "ports" not in worker and "container_name" not in worker
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert any("/var/run/docker.sock" in str(v) for v in worker["volumes"])
    # The worker runs the DockerOperator tasks: the same DAG environment as the scheduler.
    assert worker["environment"] == services["airflow-scheduler"]["environment"]
    assert worker["environment"]["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"


def test_sandbox_profile_is_reached_by_name(config: dict) -> None:
    sandbox = config["services"]["tmdb-sandbox"]
    assert sandbox["command"][:1] == ["sandbox"] and "8700" in sandbox["command"]
    assert sandbox["build"]["target"] == "sandbox"
    assert "healthcheck" in sandbox and "ports" not in sandbox
    # The collector containers join the compose network, where the sandbox has its name.
    scheduler = config["services"]["airflow-scheduler"]["environment"]
    assert scheduler["PIPELINE_DOCKER_NETWORK"] == config["networks"]["default"]["name"]


def test_sandbox_url_reaches_the_dags(tmp_path: Path) -> None:
    result = _config(tmp_path, {**ENV, "TMDB_BASE_URL": "http://tmdb-sandbox:8700/3"}, "sandbox")
    assert result.returncode == 0, result.stderr
    environment = yaml.safe_load(result.stdout)["services"]["airflow-worker"]["environment"]
    assert environment["TMDB_BASE_URL"] == "http://tmdb-sandbox:8700/3"


def test_airflow_forwards_every_setting_the_stages_and_dags_read(config: dict) -> None:
    """A setting missing here would silently keep its default inside the stage containers."""
    from tmdb_mlops.config import Settings

    environment = config["services"]["airflow-scheduler"]["environment"]
    set_by_dags = {"TMDB_RATE_LIMIT_DIR"}  # tmdb_dags.tmdb_kwargs sets it per container
    serving_only = {"LOCAL_MODEL_DIR", "MODEL_POLL_SECONDS", "MAX_BATCH_SIZE", "POSTER_BASE_URL",
                    "MODEL_COMPILE", "MODEL_COMPILE_CACHE_DIR"}
    missing = set(Settings.plain_names()) - set_by_dags - serving_only - set(environment)
    assert missing == set(), f"add {sorted(missing)} to x-airflow-common's environment"
    assert set(SECRET_ENV) - set(environment) == set()
    helpers = (ROOT / "airflow_pipeline/dag_helpers/tmdb_dags/__init__.py").read_text()
    read = set(re.findall(r"""_env\(\s*f?["']([A-Z][A-Z0-9_]*)["']""", helpers)) - {"DOCKER_HOST"}
    assert read - set(environment) == set(), f"add {sorted(read - set(environment))} to the DAG environment"


def test_offline_override_swaps_only_images_and_volumes(config: dict, offline_config: dict) -> None:
    services, offline = config["services"], offline_config["services"]
    for name, image in OFFLINE.items():
        assert offline[name]["image"] == image
        assert offline[name]["build"]["target"] == f"offline-{name}"
        for key in ("command", "entrypoint", "healthcheck", "environment", "ports", "profiles"):
            assert offline[name].get(key) == services[name].get(key), (name, key)
    assert offline["postgres"]["volumes"] == ["postgres-db-offline:/var/lib/postgresql/data:rw"]
    assert offline["seaweedfs"]["volumes"] == ["seaweedfs-data-offline:/data:rw"]
    def same(service: dict) -> dict:  # the merge may reorder a service's volumes
        return {**service, "volumes": sorted(service.get("volumes", []))}

    for name in set(offline) - set(OFFLINE):
        assert same(offline[name]) == same(services[name]), name


def test_offline_override_names_its_missing_images(tmp_path: Path) -> None:
    result = _config(tmp_path, ENV, files=COMPOSE_FILES)
    assert result.returncode != 0
    assert "scripts/build-offline-images.sh" in result.stderr


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
