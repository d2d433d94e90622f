# kvmkit front door. Every target installs missing Debian packages first
# (scripts/deps.sh) and builds what it needs.
#
#   make            build (build/)
#   make run        the main job (ARGS=... passes options to scripts/run.sh)
#   make test       every test suite, also under ASan+UBSan; ends "N passed, N failed"
#   make bench      benchmarks side by side with their anchors (bench/)
#   make fuzz       every libFuzzer target for FUZZ_TIME seconds (default 60)
#   make install    install to PREFIX (default /usr/local)
#   make clean      remove the build directories

PREFIX ?= /usr/local
FUZZ_TIME ?= 60
BUILD := build
ASAN := build-asan
FUZZ := build-fuzz

.PHONY: all deps build build-asan test run bench fuzz install clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --prefix=$(PREFIX)
	@ninja -C $(BUILD)

build-asan: deps
	@[ -f $(ASAN)/build.ninja ] || meson setup $(ASAN) -Db_sanitize=address,undefined \
		-Dbuildtype=debug -Doptimization=1
	@ninja -C $(ASAN)

test: build build-asan
	@scripts/test.sh

run: build
	@scripts/run.sh $(ARGS)

bench: build
	@bench/run.sh

fuzz: deps
	@[ -f $(FUZZ)/build.ninja ] || CC=clang meson setup $(FUZZ) -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug -Doptimization=1
	@ninja -C $(FUZZ)
	@scripts/fuzz.sh $(FUZZ) $(FUZZ_TIME)

install: build
	meson configure $(BUILD) --prefix=$(PREFIX)
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
