# tonearm — two commands: `make run` and `make test`. Each installs what is missing first.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
LISTEN     ?= 127.0.0.1:8080
DATA       ?= ./var

.PHONY: all build run test unit e2e bench fuzz deps clean

all: build

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/build.ninja
	cmake --build $(BUILD)

run:
	scripts/deps.sh run
	$(MAKE) build
	$(BUILD)/tonearm serve --listen $(LISTEN) --data $(DATA)

test:
	scripts/deps.sh test
	scripts/test.sh

bench:
	scripts/deps.sh bench
	$(MAKE) build
	bench/run.sh

fuzz:
	scripts/deps.sh fuzz
	scripts/fuzz.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
