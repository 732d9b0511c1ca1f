# mlpviz: the two commands a newcomer needs are "make run" and "make test";
# both install what is missing first (scripts/setup.sh).
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: setup build run test bench clean

setup:
	@scripts/setup.sh

build: setup
	$(GO) build -o bin/mlpviz ./cmd/mlpviz

# Trains the default model (cnn on MNIST, offline) and shows it live.
run: build
	bin/mlpviz $(ARGS)

# Every test: vet, then the whole suite; the window tests need an X
# display, so the suite runs inside a virtual one (Xvfb).
XVFB := $(if $(shell command -v xvfb-run),xvfb-run -a -s "-screen 0 1920x1080x24")

test: setup
	$(GO) vet ./...
	$(XVFB) $(GO) test -timeout 20m ./...

# Trainer throughput per model, with the ratio to PyTorch where
# /usr/bin/python3 has torch (apt-get install python3-torch).
bench: setup
	@scripts/bench.sh

clean:
	rm -rf bin
