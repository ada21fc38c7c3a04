# craftbot: the two commands a newcomer needs are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench soak pg-test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/craftbot chat

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pg-test: $(STAMP)
	bash .ci/postgres.sh
	CRAFTBOT_TEST_PG_URL=$$(cat .ci/.pg_url) $(BIN)/pytest -q -m postgres

# The benchmarks start the PostgreSQL they need, as pg-test does (unless ARGS has --skip-pg).
bench: $(STAMP)
	@case " $(ARGS) " in *" --skip-pg "*) ;; *) bash .ci/postgres.sh >/dev/null ;; esac
	$(BIN)/python -m bench $(ARGS)

# Faults, kills and several virtual days on PostgreSQL: SOAK_MINUTES=10 by default (docs/performance.md).
soak: $(STAMP)
	bash .ci/postgres.sh >/dev/null
	$(BIN)/python -m bench.soak $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
