# xlt: `make demo` sets up and runs the study at micro scale; `make test` sets up and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEEPSPEED := deepspeed==0.19.8
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup toolchains demo rehearsal sweep report test test-fast test-slow test-gpu smoke-gpu lint format bench doctor setup-gpu clean mutate

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# DeepSpeed without build isolation (it must see the installed torch), prebuilding the
	# CPU shared-memory comm op once instead of JIT-compiling it at every first start.
	DS_ACCELERATOR=cpu DS_BUILD_SHM_COMM=1 $(PY) -m pip install -q --no-build-isolation --no-deps $(DEEPSPEED)
	touch $@

toolchains: ## Install the CI-tier language toolchains (apt, npm); idempotent
	bash scripts/install_toolchains.sh

setup: $(INSTALLED) toolchains ## Virtualenv with the pinned CPU set, DeepSpeed, toolchains (idempotent)

demo: setup ## Set up, then run the whole study at micro scale (CPU, minutes)
	$(PY) -m xlt.run +experiment=parallel_sft

rehearsal: setup ## Paper scale's code path at toy size on 2 CPU ranks (README, "Rehearsal on CPU")
	$(VENV)/bin/torchrun --nproc_per_node 2 -m xlt.run +experiment=parallel_sft scale=rehearsal

sweep: setup ## The study's table at micro scale: mixtures x source languages x seeds
	$(PY) -m xlt.run --multirun +experiment=transfer_sweep

test: setup ## Set up, then run the test suite CI runs (everything but gpu/network)
	$(PY) -m pytest -m "not gpu and not network" $(PYTEST_ARGS)

test-fast: setup ## The default suite without slow cases (quick local loop)
	$(PY) -m pytest -m "not gpu and not network and not slow" $(PYTEST_ARGS)

test-slow: setup ## Only the slow cases (end to end, multi-process, full benchmark sweeps)
	$(PY) -m pytest -m "slow and not gpu and not network" $(PYTEST_ARGS)

test-gpu: ## GPU-marked tests (on a GPU machine, after `make setup-gpu`)
	$(VENV)-gpu/bin/python -m pytest -m gpu $(PYTEST_ARGS)

# Mutation testing of the core modules ([tool.mutmut] in pyproject.toml; docs/testing.md).
# MUTATE selects mutants by name, e.g. MUTATE='xlt.eval.passk*' for one module.
MUTATE ?=
MUTATION_MIN ?= 85
mutate: $(INSTALLED) ## Mutation testing of pass@k, matrix, judge, cache, keys, RL math (~15 min, 2 cores)
	rm -rf mutants
	nice -n 10 $(VENV)/bin/mutmut run $(MUTATE) > mutants.log 2>&1 || (tail -40 mutants.log; exit 1)
	$(VENV)/bin/mutmut results
	$(PY) scripts/mutation_score.py --min $(MUTATION_MIN)

smoke-gpu: ## One-GPU smoke run with the wheels in .whl/ (scripts/smoke_gpu.sh; docs/training.md)
	bash scripts/smoke_gpu.sh

lint: $(INSTALLED) ## ruff check and format check
	$(VENV)/bin/ruff check xlt tests
	$(VENV)/bin/ruff format --check xlt tests

format: $(INSTALLED) ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix xlt tests
	$(VENV)/bin/ruff format xlt tests

doctor: $(INSTALLED) ## Which language toolchains are present, with versions
	$(PY) -m xlt.doctor

setup-gpu: ## GPU machines: a separate venv (.venv-gpu) with CUDA torch, vLLM, SLURM launcher
	test -x $(VENV)-gpu/bin/python || $(PYTHON) -m venv $(VENV)-gpu
	$(VENV)-gpu/bin/pip install -q -r requirements-gpu.txt
	$(VENV)-gpu/bin/pip install -q --no-deps -e .

clean: ## Remove run outputs (not the stage cache in artifacts/)
	rm -rf outputs multirun wandb
