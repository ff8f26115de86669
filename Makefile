# Every target sets itself up: a fresh clone needs only `make boot` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXT_SOURCES := $(wildcard ext/*.pyx ext/*.pxd)

.PHONY: boot test fuzz bench clean ext importcheck install uninstall pi-test

$(STAMP): setup.py pyproject.toml $(EXT_SOURCES)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# No --upgrade here: a new pyzmq would bring a libzmq the extension was not linked against.
	$(PY) -m pip install --quiet "setuptools>=68" wheel "cython>=3.0" "pyzmq>=26"
	$(PY) -m pip install --quiet --no-build-isolation --editable '.[test]'
	@touch $(STAMP)

ext: $(STAMP)
	$(PY) setup.py --quiet build_ext --inplace

boot: $(STAMP)
	$(VENV)/bin/carnel boot

# import-linter cannot follow the editable install's folder mapping, so it reads a symlinked tree.
IMPORTCHECK := build/importcheck/carnel
importcheck: $(STAMP)
	@mkdir -p $(IMPORTCHECK) && touch $(IMPORTCHECK)/__init__.py
	@for d in ipc kernel ext drivers services; do ln -sfn ../../../$$d $(IMPORTCHECK)/$$d; done
	cd build/importcheck && PYTHONPATH=. ../../$(VENV)/bin/lint-imports --config ../../pyproject.toml

test: importcheck
	$(PY) -m pytest -x -q

# FUZZ_SECONDS bounds the libFuzzer campaign; Hypothesis's fuzz profile bounds the rest.
FUZZ_SECONDS ?= 600

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -m "not system" tests
	@if $(PY) -m pip install -q atheris; then \
		$(PY) tests/fuzz/wire_and_payloads.py -max_total_time=$(FUZZ_SECONDS); \
	else \
		echo "fuzz: atheris does not install here: skipping the libFuzzer campaign"; \
	fi

bench: $(STAMP)
	$(PY) bench/bus.py $(BENCH_ARGS)
	$(PY) bench/subjects.py $(BENCH_ARGS)
	$(PY) bench/boot.py $(BENCH_ARGS)
	$(PY) bench/drivers.py $(BENCH_ARGS)

# On a head unit (Raspberry Pi OS bookworm), as root: carnel in /opt/carnel, the car image in
# /etc/carnel, a user per process, and the systemd unit. See kernel/install.py.
install:
	$(PYTHON) kernel/install.py install

uninstall:
	$(PYTHON) kernel/install.py uninstall

# carnel installed and booted by systemd on an emulated Raspberry Pi (root; skips, saying why,
# where emulation is not possible). See tests/pi/pi_test.py.
pi-test:
	$(PYTHON) tests/pi/pi_test.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
	rm -f ext/*.c ext/*.so
