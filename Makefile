# Two entry points for a fresh machine (see README): `make demo` and `make test`.
# Everything is installed into .venv/ from pinned requirements; nothing else is assumed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
# Marts pseudonymise user ids with an HMAC keyed by this; tests use a throw-away key.
export CD2_PSEUDONYM_SECRET ?= cd2-tests-only-not-a-secret
# dbt and the tests get their own scratch database unless the caller chose one.
TEST_DB ?= .cache/test/cd2_test.duckdb

.PHONY: help setup demo test lint pytest dbt-check services clean

help:
	@echo "make demo   - install everything into .venv and run the end-to-end demo"
	@echo "make test   - install everything and run the whole test suite (what CI runs)"
	@echo "make lint   - ruff, codegen --check, sqlfluff"

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/cd2 demo

# Services the conformance tests use: Instructure's dap CLI in its own venv (its pins clash
# with ours) and a local PostgreSQL for `dap initdb/syncdb` (skipped, with the reason, where
# PostgreSQL cannot be installed or started).
services: setup
	bash scripts/dap_client_env.sh >/dev/null
	bash scripts/postgres_service.sh install || echo "warning: PostgreSQL could not be installed; its conformance test will report itself skipped"
	bash scripts/chromium.sh >/dev/null

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cd2 codegen --check
	$(BIN)/sqlfluff lint --processes 2 models analyses
	$(BIN)/actionlint -shellcheck= -pyflakes=

# Its own target and log folders: `make test` runs it beside sqlfluff, whose dbt templater uses target/.
dbt-check: setup
	mkdir -p $(dir $(TEST_DB))
	rm -f $(TEST_DB)
	CD2_DB=$(TEST_DB) DBT_TARGET_PATH=$(abspath .cache/dbt-check/target) DBT_LOG_PATH=$(abspath .cache/dbt-check/logs) \
		$(BIN)/dbt build

pytest: setup
	CD2_DOCS_DB=$(TEST_DB) $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=20 --basetemp=.cache/pytest-tmp -m "not spark"

# lint, services and dbt-check share no files and leave each other idle time (downloads, dbt's
# single-threaded parse): side by side, each one's output printed whole when it ends.
test: setup
	$(MAKE) --no-print-directory -j3 --output-sync=target lint services dbt-check
	$(MAKE) --no-print-directory pytest

# The long part of the crash suite (bench/README.md, "soak.py"): 20 trials of every fault class and
# 100 rounds of `cd2 run` in a row on the tiny institution, about an hour on 2 cores; results in
# bench/results/soak_tiny.json. Resize with e.g. SOAK_ARGS="--trials 2 --rounds 5".
.PHONY: soak
soak: setup
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# The engines' differential test (extract/tests/test_engines_differential.py) on the demo
# institution: dap initdb + 2 x syncdb into PostgreSQL vs cd2 sync into DuckDB, every mart equal.
# make test runs it on tiny; the scheduled workflow runs this weekly, beside the soak suite.
.PHONY: engines-demo
engines-demo: setup
	bash scripts/postgres_service.sh install
	CD2_ENGINES_PROFILE=demo $(BIN)/pytest -p no:cacheprovider -q -s extract/tests/test_engines_differential.py

# The marts' differential test on more tiny institutions than make test's two (seeds 3 to 6, 2.7
# minutes on 2 cores on 2026-12-07); the scheduled workflow runs it weekly.
.PHONY: marts-seeds
marts-seeds: setup
	CD2_TINY_SEEDS=3,4,5,6 $(BIN)/pytest -p no:cacheprovider -q -n 2 extract/tests/test_marts_differential_tiny.py

# A round equals a full rebuild (extract/tests/test_round_equality.py) on the demo institution: seven
# cd2 run rounds, each compared with a full refresh of a copy; make test runs it on tiny. The
# scheduled workflow runs it weekly.
.PHONY: rounds-demo
rounds-demo: setup
	CD2_ROUNDS_PROFILE=demo $(BIN)/pytest -p no:cacheprovider -q extract/tests/test_round_equality.py

# Spark over the Parquet lake (issue 24, docs/spark.md): its own venv (.venv-spark: dbt-spark,
# pyspark; Java 17), then the equality test: the institution synced into DuckDB and into a lake,
# built on both engines, every mart equal. CD2_SPARK_PROFILE=demo for the demo institution;
# CD2_SPARK_MASTER=$$(bash scripts/spark_cluster.sh start) for the standalone cluster.
.PHONY: spark-setup spark-test spark-demo
spark-setup: setup
	bash scripts/spark_env.sh
spark-test: spark-setup
	$(BIN)/pytest -p no:cacheprovider -q -s -m spark extract/tests/test_spark_lake.py
spark-demo: spark-setup
	CD2_SPARK_PROFILE=demo $(BIN)/pytest -p no:cacheprovider -q -s -m spark extract/tests/test_spark_lake.py

clean:
	rm -rf .cache/test .cache/dbt-check target logs
