# The README's commands. Everything runs from a virtual environment in .venv,
# installed with the pinned versions in constraints.txt.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv demo test test-fast lint airflow bench lock images compose-demo clean

help:
	@echo "make demo   - collect, train and serve on this machine (no Docker, no TMDB key)"
	@echo "make test   - the whole test suite, starting the servers it needs"
	@echo "make lint   - ruff"
	@echo "make airflow- standalone Airflow with the DockerOperator DAGs"
	@echo "make images - build the stage images (immutable tags recorded in .env)"
	@echo "make compose-demo - the compose stack on the TMDB sandbox, to served predictions (OFFLINE=1: no registry)"
	@echo "make bench  - the benchmark scripts under benchmarks/"

# Every part's pyproject.toml: a change to any of them reinstalls.
PROJECTS := common/pyproject.toml data-prepare/pyproject.toml airflow_pipeline/train/pyproject.toml \
            serving/pyproject.toml monitoring/pyproject.toml airflow_pipeline/dag_helpers/pyproject.toml \
            demo/pyproject.toml

$(STAMP): $(PROJECTS) requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==24.3.1"
	$(BIN)/pip install --quiet -c constraints.txt -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/tmdb-mlops demo $(DEMO_ARGS)

test: $(STAMP)
	scripts/run-tests.sh $(TEST_ARGS)

test-fast: $(STAMP)
	scripts/run-tests.sh -m "unit or integration" $(TEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

airflow: $(STAMP) images
	scripts/airflow-standalone.sh

images:
	scripts/build-images.sh collect train serve monitor

compose-demo:
	scripts/compose-demo.sh

bench: $(STAMP)
	scripts/run-benchmarks.sh

lock: $(STAMP)
	( echo "# Pinned versions of every dependency (the tested set). Regenerate with: make lock"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^tmdb-' ) > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
