# Set-up is part of every target: a fresh clone needs only Python 3.10+, pip and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench soak fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	# numba's cached kernels name the module they were compiled in: drop them on a reinstall
	find codec -name '*.nbi' -delete -o -name '*.nbc' -delete
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/livecodec gui

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench.run_all

# 10^5 mutated streams through every decoding path (about 15 minutes here).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=100000 $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz.py

# The live pipeline for SOAK_MINUTES (default 10) with parameters changing every 3 s.
SOAK_MINUTES ?= 10
soak: $(STAMP)
	$(PY) -m bench.soak --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
