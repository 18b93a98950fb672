# Two commands do all the set-up: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# Two pytest-xdist workers, a test module a unit of work: most tests use one core of two and the browser tests
# mostly wait (tests/conftest.py groups the Ray modules).
TEST_WORKERS ?= 2

.PHONY: run test test-fast bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not browser and not slow"

bench: $(VENV)/.installed
	$(BIN)/python bench/diagnosis.py

clean:
	rm -rf $(VENV) .pytest_cache artifacts
