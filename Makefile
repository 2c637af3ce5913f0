# inpaint-bench — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATASET ?= tiny

.DEFAULT_GOAL := help
.PHONY: help install test test-slow lint bench smoke perf masks doctor tiny-checkpoints clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv with pip and install the suite (torch pinned)

test: $(STAMP)  ## run the fast test suite
	$(BIN)/python -m pytest

test-slow: $(STAMP)  ## run the slow tests too
	$(BIN)/python -m pytest -m ''

lint: $(STAMP)  ## ruff over the package and tests
	$(BIN)/ruff check inpaint_bench tests benchmarks

masks: $(STAMP)  ## rebuild the frozen mask sets in mask_sets/ and verify them bit for bit
	$(BIN)/inpaint-bench masks build

tiny-checkpoints: $(STAMP)  ## retrain the shipped tiny checkpoints on the tiny dataset (CPU, ~60 min)
	$(BIN)/inpaint-bench train i2sb --dataset tiny --mask mixed --max-steps 1200 --seed 0 --out runs/tiny --export-tiny
	$(BIN)/inpaint-bench train asyncdsb --dataset tiny --mask mixed --max-steps 60 --seed 0 --out runs/tiny --export-tiny --init i2sb_tiny
	$(BIN)/inpaint-bench train ddpm --dataset tiny --max-steps 1200 --seed 0 --lr 2e-4 --out runs/tiny --export-tiny
	$(BIN)/inpaint-bench train irsde --dataset tiny --max-steps 1000 --seed 0 --lr 1e-3 --out runs/tiny2 --export-tiny
	$(BIN)/inpaint-bench train strdiffusion --dataset tiny --max-steps 400 --seed 0 --lr 1e-3 --out runs/tiny3 --export-tiny --method-config '{target: eq4}'

doctor: $(STAMP)  ## versions, devices, cache directory, datasets and weights found or missing
	$(BIN)/inpaint-bench doctor

bench: $(STAMP)  ## sweep benchmarks/$(DATASET).yaml (default: the tiny dataset that ships with the package)
	$(BIN)/inpaint-bench bench --dataset $(DATASET) --results results
	@echo "leaderboard: results/$(DATASET)/leaderboard.md (also .csv .tex .html)"

smoke: $(STAMP)  ## CI smoke sweep: tiny dataset, 4 images, every method path, no W&B
	$(BIN)/inpaint-bench sweep benchmarks/smoke.yaml --results results/smoke --no-wandb --no-progress

perf: $(STAMP)  ## measure harness overhead, cost, metric throughput, DDP scaling, masks → benchmarks/results/perf.md
	$(BIN)/python benchmarks/perf.py

clean:  ## remove the venv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
