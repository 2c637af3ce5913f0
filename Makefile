# inpaint-bench — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATASET ?= shapes

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

# Every run resumes from its runs/tiny32/<net>/checkpoints/last.ckpt (StrDiffusion's later stages from
# runs/tiny32_stage{2,3,4,5,6}/strdiffusion/checkpoints/last.ckpt): an interrupted `make tiny-checkpoints`
# continues where it stopped; a finished run only re-exports. Budgets: docs/tiny_checkpoints.md.
TRAIN := $(BIN)/inpaint-bench train --dataset shapes --size 32 --batch-size 16 --seed 0 --out runs/tiny32 --resume --export-tiny
IRNET_BODY := nf: 16, depth: 3, attn_heads: 2, attn_dim_head: 8
IRNET := {$(IRNET_BODY)}
TINY_NETS := shapes-features tiny-ddpm tiny-i2sb tiny-asyncdsb tiny-irsde tiny-strdiffusion
.PHONY: $(TINY_NETS)
tiny-checkpoints: $(TINY_NETS)  ## retrain the shipped tiny checkpoints and feature network on shapes (CPU, hours)
	$(BIN)/python benchmarks/training_curves.py --runs runs/tiny32 --out docs/curves32
	$(BIN)/python benchmarks/training_curves.py --runs runs/tiny32_stage2 --out docs/curves32/stage2
	$(BIN)/python benchmarks/training_curves.py --runs runs/tiny32_stage3 --out docs/curves32/stage3
	$(BIN)/python benchmarks/training_curves.py --runs runs/tiny32_stage4 --out docs/curves32/stage4
	$(BIN)/python benchmarks/training_curves.py --runs runs/tiny32_stage5 --out docs/curves32/stage5
	$(BIN)/python benchmarks/training_curves.py --runs runs/tiny32_stage6 --out docs/curves32/stage6
shapes-features: $(STAMP)  ## train the shapes feature network (FID/KID/distance of the default benchmark)
	$(BIN)/inpaint-bench train-features --out runs/tiny32 --max-steps 6000 --resume --export-tiny
tiny-ddpm: $(STAMP)
	@# 12,000 at 5e-4, 18,000 at a quarter, 6,000 at a sixteenth (RePaint's centre FID reached Telea's only at the end)
	$(TRAIN) ddpm --lr 5e-4 --max-steps 36000 --method-config '{lr_steps: [12000, 30000], lr_gamma: 0.25}'
tiny-i2sb: $(STAMP)
	@# one model over the default benchmark's two mask types (the official I²SB runs train one per mask type)
	$(TRAIN) i2sb --mask center,wide --lr 5e-4 --max-steps 16000
tiny-asyncdsb: tiny-i2sb
	$(TRAIN) asyncdsb --mask center,wide --lr 2e-4 --max-steps 6000 --init i2sb_tiny --method-config '{lr_steps: [4500], lr_gamma: 0.25}'
tiny-irsde: $(STAMP)
	@# nf 16 (2.2 M parameters): nf 8 (0.56 M) was still colour noise in the hole after 10,500 iterations
	@# 12,000 at lr 1e-3 left the steps t = 85 … 65 unlearned (reverse from the true state at 65: 14.4 dB, at 85: 11.2)
	$(TRAIN) irsde --mask center,wide --lr 1e-3 --max-steps 20000 --method-config '{net: $(IRNET), lr_steps: [12000], lr_gamma: 0.25}'
STRD := $(BIN)/inpaint-bench train strdiffusion --dataset shapes --size 32 --batch-size 16 --mask center,wide --resume
STRD_NETS := net: {guide_channels: 1, $(IRNET_BODY)}, structure_net: {in_nc: 1, out_nc: 1, $(IRNET_BODY)}
tiny-strdiffusion: $(STAMP)
	@# stage 1: 25,000 at lr 1e-3, a quarter from 8,000; its three files go to runs/tiny32/strdiffusion/ (not shipped)
	$(STRD) --seed 0 --out runs/tiny32 --lr 1e-3 --max-steps 25000 \
	  --method-config '{target: eq4, T: 50, lr_steps: [8000], lr_gamma: 0.25, $(STRD_NETS)}'
	@# stage 2: all three networks warm-started from stage 1's files, fresh Adam at a further quarter, seed 1;
	@# its files go to runs/tiny32_stage2/strdiffusion/ (not shipped)
	$(STRD) --seed 1 --out runs/tiny32_stage2 --init runs/tiny32/strdiffusion/strdiffusion.safetensors \
	  --lr 6.25e-5 --max-steps 6000 --method-config '{target: eq4, T: 50, lr_steps: [], $(STRD_NETS)}'
	@# stage 3: the texture network alone (structure net and discriminator kept as stage 2 left them), from stage
	@# 2's files, fresh Adam at 1.25e-4, a quarter from 7,500, seed 2; its files go to runs/tiny32_stage3/strdiffusion/
	$(STRD) --seed 2 --out runs/tiny32_stage3 --init runs/tiny32_stage2/strdiffusion/strdiffusion.safetensors \
	  --lr 1.25e-4 --max-steps 10000 \
	  --method-config '{target: eq4, T: 50, lr_steps: [7500], lr_gamma: 0.25, $(STRD_NETS), train_networks: [texture]}'
	@# stage 4: the texture network alone again, from stage 3's files, 1.25e-4, a quarter from 12,000, seed 3
	$(STRD) --seed 3 --out runs/tiny32_stage4 --init runs/tiny32_stage3/strdiffusion/strdiffusion.safetensors \
	  --lr 1.25e-4 --max-steps 15000 \
	  --method-config '{target: eq4, T: 50, lr_steps: [12000], lr_gamma: 0.25, $(STRD_NETS), train_networks: [texture]}'
	@# stage 5: the texture network alone, from stage 4's files, at stage 4's last lr (3.125e-5) held, seed 4
	$(STRD) --seed 4 --out runs/tiny32_stage5 --init runs/tiny32_stage4/strdiffusion/strdiffusion.safetensors \
	  --lr 3.125e-5 --max-steps 7500 \
	  --method-config '{target: eq4, T: 50, lr_steps: [], $(STRD_NETS), train_networks: [texture]}'
	@# stage 6: a new cycle from stage 5's files, 1.25e-4, a quarter from 10,500, seed 5, wide holes twice as often
	@# (its --mask, the last one given, replaces $(STRD)'s center,wide)
	$(STRD) --seed 5 --out runs/tiny32_stage6 --export-tiny --init runs/tiny32_stage5/strdiffusion/strdiffusion.safetensors \
	  --mask wide,wide,center --lr 1.25e-4 --max-steps 14000 \
	  --method-config '{target: eq4, T: 50, lr_steps: [10500], lr_gamma: 0.25, $(STRD_NETS), train_networks: [texture]}'

doctor: $(STAMP)  ## versions, devices, cache directory, datasets and weights found or missing
	$(BIN)/inpaint-bench doctor

bench: $(STAMP)  ## sweep benchmarks/$(DATASET).yaml (default: shapes, procedural; DATASET=tiny for the photos)
	$(BIN)/inpaint-bench bench --dataset $(DATASET) --results results
	@echo "leaderboard: results/$(DATASET)/leaderboard.md (also .csv .tex .html)"

smoke: $(STAMP)  ## CI smoke: every method path on 4 tiny images, then the shipped learned rows vs mean fill on shapes
	$(BIN)/inpaint-bench sweep benchmarks/smoke.yaml --results results/smoke --no-wandb --no-progress
	@# issue 25: every learned row is held to hole PSNR above mean fill, the generative ones (all but IR-SDE) also
	@# to FID below Telea's. The second run must see every learned method's untrained networks fail it.
	$(BIN)/python benchmarks/check_learned.py --images 64 \
	  --methods i2sb,asyncdsb,repaint,ddnm,irsde,isdiff_repaint,isdiff_ddnm,strdiffusion
	$(BIN)/python benchmarks/check_learned.py --images 8 --untrained

perf: $(STAMP)  ## measure harness overhead, cost, metric throughput, DDP scaling, masks → benchmarks/results/perf.md
	$(BIN)/python benchmarks/perf.py

clean:  ## remove the venv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
