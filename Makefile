# mlpviz: the two commands a newcomer needs are "make run" and "make test";
# both install what is missing first (scripts/setup.sh).
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: setup setup-test build run test pytest bench clean

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh test

build: setup
	$(GO) build -o bin/mlpviz ./cmd/mlpviz

# Trains the default model (cnn on MNIST, offline) and shows it live.
run: build
	bin/mlpviz $(ARGS)

# Every test: vet, then the whole suite; the window tests need an X
# display, so the suite runs inside a virtual one (Xvfb). Then the Python
# recorder's tests.
XVFB := $(if $(shell command -v xvfb-run),xvfb-run -a -s "-screen 0 1920x1080x24")

test: setup-test
	$(GO) vet ./...
	$(XVFB) $(GO) test -timeout 20m ./...
	@scripts/pytest.sh

# The Python recorder's own tests, where /usr/bin/python3 has torch.
pytest:
	@scripts/pytest.sh

# Trainer throughput per model, with the ratio to PyTorch where
# /usr/bin/python3 has torch (apt-get install python3-torch).
bench: setup
	@scripts/bench.sh

clean:
	rm -rf bin
