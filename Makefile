# Two commands for everything: `make run` (the curriculum, headless, with a report) and `make test`.
# Each creates the virtual environment .venv on first use and reuses it afterwards.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NPROC  := $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
JOBS   ?= $(NPROC)
RUN_JOBS ?= 1

# JupyterLab refuses to start as root unless told: add --allow-root only then (containers, lab machines).
LAB_ROOT := $(shell [ "$$(id -u 2>/dev/null)" = 0 ] && echo --allow-root)

.PHONY: setup run quick test unit seeds lab student site bench clean help
help:
	@echo "make run       execute every notebook (full mode), write build/report.html and build/report.json"
	@echo "make quick     the same in quick mode, $(JOBS) notebooks at a time"
	@echo "make test      unit tests + every notebook once in quick mode, its checked outputs compared (nbval),"
	@echo "               its exercises graded, the student editions run, JupyterLab tested in Chromium;"
	@echo "               on a CPU with AVX-512 the CPU-sensitive notebooks once more as an AVX2-only CPU"
	@echo "make unit      the unit tests only (no notebook executed), about a minute and a half"
	@echo "make seeds     every notebook's quick mode for seeds 0-4, checked as the suite checks it, a table"
	@echo "               of notebook x seed (SEEDS=\"1 2\" for others, AVX2=1 as an AVX2-only CPU)"
	@echo "make lab       JupyterLab on http://127.0.0.1:8888 in notebooks/, kernel = this venv's Python"
	@echo "make student   student editions (nbgrader stubs in place of solutions) in build/student/"
	@echo "make site      the course website in build/site/ from make run's notebooks (else make quick's), offline"
	@echo "make bench     benchmarks in bench/ (long; numbers, not tests)"
	@echo "make setup     only create/refresh the virtual environment"

setup: $(STAMP)

# Reinstalls only when pyproject.toml changes: a second `make` installs nothing.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# The notebooks name the kernel "python3": run from this venv (make lab, papermill, nbgrader) that is
	@# ipykernel's own kernel of $(BIN)/python. The old separate "dlc" kernel is no longer needed.
	@$(BIN)/jupyter kernelspec remove -y dlc >/dev/null 2>&1 || true
	@touch $(STAMP)
	@echo "environment ready in $(VENV)"

run: $(STAMP)
	$(BIN)/python -m helpers.course.run -j $(RUN_JOBS)

quick: $(STAMP)
	$(BIN)/python -m helpers.course.run --quick -j $(JOBS)

# Each notebook executes once (papermill, QUICK=True); its recorded results and its
# NBVAL_CHECK_OUTPUT cells are both checked on that run, on one worker (--dist loadgroup).
test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -p no:cacheprovider tests

unit: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -p no:cacheprovider -m "not notebook" tests

# Every quick-mode assert must hold for other seeds: the notebooks' own asserts and tests/expect/ per seed.
SEEDS ?= 0 1 2 3 4
seeds: $(STAMP)
	$(BIN)/python -m helpers.course.seeds --seeds $(SEEDS) -j $(JOBS) $(if $(AVX2),--avx2)

# The venv's bin/ first on PATH: the kernel, nbgrader's formgrader (alembic) and terminals use this venv.
lab: $(STAMP)
	@echo "kernel \"Python 3 (ipykernel)\" runs $(abspath $(BIN))/python; open the URL with the token printed below"
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab --ip=127.0.0.1 --no-browser $(LAB_ROOT) --notebook-dir=notebooks

student: $(STAMP)
	$(BIN)/python -m helpers.course.classroom student build/student

# The website from the notebooks `make run` (or `make quick`) executed; nothing is executed again.
site: $(STAMP)
	$(BIN)/python -m helpers.course.site

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build .pytest_cache
