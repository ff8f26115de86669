# Every target sets itself up: a fresh clone needs only `make boot` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXT_SOURCES := $(wildcard ext/*.pyx ext/*.pxd)

.PHONY: boot test fuzz bench clean ext

$(STAMP): setup.py pyproject.toml $(EXT_SOURCES)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools>=68" wheel "cython>=3.0" "pyzmq>=26"
	$(PY) -m pip install --quiet --no-build-isolation --editable '.[test]'
	@touch $(STAMP)

ext: $(STAMP)
	$(PY) setup.py --quiet build_ext --inplace

boot: $(STAMP)
	$(VENV)/bin/carnel boot

test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -x -q

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -m "not system" tests

bench: $(STAMP)
	$(PY) bench/bus.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
	rm -f ext/*.c ext/*.so
