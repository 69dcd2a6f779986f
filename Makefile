# Thin front for users: the real build is meson (build/). Every target that needs the build runs deps + setup.
BUILD ?= build
MESON_SETUP = meson setup --buildtype=release
TUNE_BUDGET ?=
MODEL ?=
THREADS ?=
FORCE ?=

.PHONY: all deps build test tune bench report clean help

all: build

help:
	@echo "make tune   - detect this CPU, verify and race every eligible kernel, write results/<cpu-id>/"
	@echo "make test   - build and run all tests (release, ASan+UBSan, ARM cross under qemu)"
	@echo "make build  - build into $(BUILD)/ (binary: $(BUILD)/tritune)"
	@echo "make deps   - install missing Debian packages (root) or print the command"
	@echo "make clean  - remove build folders"

deps:
	@sh ci/deps.sh

$(BUILD)/build.ninja:
	@sh ci/deps.sh
	$(MESON_SETUP) $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

test: deps
	@sh ci/test.sh

tune: build
	@TUNE_BUDGET="$(TUNE_BUDGET)" MODEL="$(MODEL)" THREADS="$(THREADS)" FORCE="$(FORCE)" BUILD="$(BUILD)" sh ci/tune.sh

clean:
	rm -rf $(BUILD) build-asan build-arm
