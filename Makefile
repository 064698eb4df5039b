# vmshare: `make demo` runs the main job, `make test` the whole test suite.
# Both install what they need (Debian packages), configure and build first.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test demo bench fuzz chaos format format-check clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DVMSHARE_WERROR=ON

configure: $(BUILD)/build.ninja

build: deps configure
	ninja -C $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 1

demo: build
	scripts/demo.sh $(BUILD)

bench: build
	scripts/bench.sh $(BUILD)

# libFuzzer runs in build-fuzz (clang); FUZZ_SECONDS per fuzzer.
FUZZ_SECONDS ?= 600
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# A long chaos run (tests/chaos): CHAOS_TRIALS kill-at-random-then-gc trials
# of the share commands, and CHAOS_RUN_TRIALS of `vmshare run` (each boots a
# guest).
CHAOS_TRIALS ?= 5000
CHAOS_RUN_TRIALS ?= 30
chaos: build
	VMSHARE_CHAOS_TRIALS=$(CHAOS_TRIALS) VMSHARE_CHAOS_RUN_TRIALS=$(CHAOS_RUN_TRIALS) $(BUILD)/tests/chaos/chaos_test --gtest_filter='Chaos.*'

# Rewrites every tracked C/C++ file in the .clang-format style (the format_check
# test in `make test` checks it).
format:
	scripts/check-format.sh --fix

format-check:
	scripts/check-format.sh

clean:
	rm -rf $(BUILD)
