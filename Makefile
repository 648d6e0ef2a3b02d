# The README's commands. Everything runs from a virtual environment in .venv,
# installed with the pinned versions in constraints.txt.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv demo test test-fast lint airflow bench lock images clean

help:
	@echo "make demo   - collect, train and serve on this machine (no Docker, no TMDB key)"
	@echo "make test   - the whole test suite, starting the servers it needs"
	@echo "make lint   - ruff"
	@echo "make airflow- standalone Airflow with the DockerOperator DAGs"
	@echo "make images - build the stage images (immutable tags recorded in .env)"
	@echo "make bench  - the benchmark scripts under benchmarks/"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==24.3.1"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
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
	scripts/build-images.sh collect train serve

bench: $(STAMP)
	scripts/run-benchmarks.sh

lock: $(STAMP)
	( echo "# Pinned versions of every dependency (the tested set). Regenerate with: make lock"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^tmdb-mlops' ) > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
