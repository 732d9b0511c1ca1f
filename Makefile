# mlpviz: the two commands a newcomer needs are "make run" and "make test";
# both install what is missing first (scripts/setup.sh).
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: setup build run test bench clean

setup:
	@scripts/setup.sh

build: setup
	$(GO) build -o bin/mlpviz ./cmd/mlpviz

# Trains the default model (cnn on MNIST, offline) and shows it.
run: build
	bin/mlpviz train --headless $(ARGS)

# Every test: vet, then the whole suite.
test: setup
	$(GO) vet ./...
	$(GO) test ./...

# Trainer throughput per model, with the ratio to PyTorch where
# /usr/bin/python3 has torch (apt-get install python3-torch).
bench: setup
	@scripts/bench.sh

clean:
	rm -rf bin
