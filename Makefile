# Set-up is part of every target: a fresh clone needs only Python 3.10+, pip and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# numba checks a cached kernel against its own file only: a kernel that inlines code from another
# file (simd's intrinsics, the tile loops of codec/common) would keep running the old code after
# an edit there. So any codec source newer than this stamp drops every cached kernel first.
KERNELS := codec/.numba-sources

.PHONY: run test bench soak fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	# numba's cached kernels name the module they were compiled in: drop them on a reinstall
	find codec -name '*.nbi' -delete -o -name '*.nbc' -delete
	touch $(STAMP)

$(KERNELS): $(shell find codec -name '*.py')
	find codec -name '*.nbi' -delete -o -name '*.nbc' -delete
	touch $(KERNELS)

run: $(STAMP) $(KERNELS)
	$(VENV)/bin/livecodec gui

test: $(STAMP) $(KERNELS)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: $(STAMP) $(KERNELS)
	$(PY) -m bench.run_all

# 10^5 mutated streams through every decoding path (about 15 minutes here).
fuzz: $(STAMP) $(KERNELS)
	FUZZ_EXAMPLES=100000 $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz.py

# The live pipeline for SOAK_MINUTES (default 10) with parameters changing every 3 s.
SOAK_MINUTES ?= 10
soak: $(STAMP) $(KERNELS)
	$(PY) -m bench.soak --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache $(KERNELS)
