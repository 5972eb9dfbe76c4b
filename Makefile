# Two entry points on a fresh Debian machine with the Swift toolchain:
#   make demo   builds the release binary, speaks a sentence to hello.wav and transcribes it back
#               (the real models, downloaded on first use; the tiny fixtures where the hub is unreachable)
#   make test   runs the test suite
# Both install the system packages they need first (OpenBLAS, FFmpeg's libraries, pkg-config), and
# `make test` what the tests drive besides (test-deps).

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps test-deps build test lint demo bench clean

deps:
	@pkg-config --exists openblas libavformat libavcodec libswresample libavutil 2>/dev/null || { \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends libopenblas-dev pkg-config \
			libavformat-dev libavcodec-dev libswresample-dev libavutil-dev; }

# The aarch64 cross compiler and qemu-user test the NEON kernels under emulation; nginx balances two
# serve replicas; Chromium (with a font to lay pages out) runs the web playground under Selenium; the
# real huggingface_hub, openai and websockets clients drive the hub stand-in and the server.
TEST_PACKAGES := gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user nginx chromium chromium-driver fonts-dejavu-core
TEST_PYTHON := huggingface_hub==2.4.0 openai==3.63.0 websockets==15.0.1 selenium==4.51.0

test-deps: deps
	@dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $(TEST_PACKAGES); }
	python3 -m pip install --quiet $(TEST_PYTHON)

build: deps
	$(SWIFT) build -c release

test: test-deps lint
	$(SWIFT) test

# The code's one format (.swift-format: 120 columns); `swift format -i -r Sources Tests Package.swift` applies it.
lint:
	$(SWIFT) format lint --strict -r Sources Tests Package.swift

demo: build
	Tools/demo.sh

bench: build
	.build/release/mimo-audio bench codec --seconds 10 --runs 3

clean:
	rm -rf .build hello.wav
