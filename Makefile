# Two entry points on a fresh Debian machine with the Swift toolchain:
#   make demo   builds the release binary, speaks a sentence to hello.wav and transcribes it back
#               (the real models, downloaded on first use; the tiny fixtures where the hub is unreachable)
#   make test   runs the test suite
# Both install the system packages they need first (OpenBLAS, FFmpeg's libraries, pkg-config).

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build test lint demo bench clean

deps:
	@pkg-config --exists openblas libavformat libavcodec libswresample libavutil 2>/dev/null || { \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends libopenblas-dev pkg-config \
			libavformat-dev libavcodec-dev libswresample-dev libavutil-dev; }

build: deps
	$(SWIFT) build -c release

test: deps lint
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
