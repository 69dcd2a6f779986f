# Thin front for users: the real build is meson (build/). Every target that needs the build runs deps + setup.
BUILD ?= build
MESON_SETUP = meson setup --buildtype=release
TUNE_BUDGET ?=
MODEL ?=
THREADS ?=
FORCE ?=
FORCE_BAKE ?=

.PHONY: all deps build test tune bench baseline report e2e run clean help

all: build

help:
	@echo "make tune   - detect this CPU, verify and race every eligible kernel, write results/<cpu-id>/"
	@echo "make test   - build and run all tests (release, ASan+UBSan, ARM cross under qemu)"
	@echo "make build  - build into $(BUILD)/ (binary: $(BUILD)/tritune)"
	@echo "make e2e    - synthetic BitNet 2B4T (results/models/2b4t.gguf) end-to-end tokens/s, f16 and 8-bit LM head"
	@echo "make bench  - kernel comparison of the tuned winners and baselines vs ci/baseline/<cpu-id>.json"
	@echo "make baseline - record ci/baseline/<cpu-id>.json from this machine (on a quiet machine; commit it)"
	@echo "make report - Markdown + charts for results/<cpu-id>/ and the per-CPU index reports/cpus/README.md"
	@echo "make deps   - install missing Debian packages (root) or print the command"
	@echo "make clean  - remove build folders"

deps:
	@sh ci/deps.sh

$(BUILD)/build.ninja:
	@sh ci/deps.sh
	$(MESON_SETUP) $(BUILD)

build: deps $(BUILD)/build.ninja
	@b=$$(meson introspect --buildoptions $(BUILD) 2>/dev/null | python3 -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == "baked"), ""))' 2>/dev/null); \
	if [ -n "$$b" ] && [ ! -f "$$b" ]; then \
		echo "tritune: the baked table $$b is gone (results removed?): building without one"; \
		meson configure $(BUILD) -Dbaked= >/dev/null; \
	fi
	ninja -C $(BUILD)

test: deps
	@sh ci/test.sh

tune: build
	@TUNE_BUDGET="$(TUNE_BUDGET)" MODEL="$(MODEL)" THREADS="$(THREADS)" FORCE="$(FORCE)" FORCE_BAKE="$(FORCE_BAKE)" BUILD="$(BUILD)" sh ci/tune.sh

MODEL_FILE ?= results/models/2b4t.gguf
E2E_THREADS ?= 1,2
# repetitions per test: tritune compare needs at least 4 per side (5 lets p < 0.01 be reached)
E2E_REPS ?= 5

$(MODEL_FILE): | build
	mkdir -p $(dir $(MODEL_FILE))
	$(BUILD)/tritune model synth --preset 2b4t --seed 1 --out $(MODEL_FILE)

e2e: build $(MODEL_FILE)
	@id=$$($(BUILD)/tritune info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cpu_id"])'); \
	mkdir -p results/$$id; \
	$(BUILD)/tritune bench-e2e -m $(MODEL_FILE) -p 128 -n 128 -t $(E2E_THREADS) -r $(E2E_REPS) --profile --json results/$$id/e2e.json && \
	$(BUILD)/tritune bench-e2e -m $(MODEL_FILE) -p 128 -n 128 -t $(E2E_THREADS) -r $(E2E_REPS) --profile --lm-head q8 --json results/$$id/e2e_q8.json

run: build $(MODEL_FILE)
	$(BUILD)/tritune run -m $(MODEL_FILE) -p "$${PROMPT:-The capital of France is}" -n 32

bench: build
	sh ci/bench_compare.sh

baseline: build
	sh ci/bench_compare.sh --record

report: build
	@id=$$($(BUILD)/tritune info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cpu_id"])'); \
	$(BUILD)/tritune report results/$$id && $(BUILD)/tritune report --index reports/cpus

clean:
	rm -rf $(BUILD) build-asan build-arm
