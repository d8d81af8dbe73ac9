# Orrery's build. `make run` builds and runs the default scenario; `make test` runs every
# test. Go modules come through the module proxy on first use.
GO       ?= go
BIN      := bin/orrery
GOFLAGS  ?=
export GOFLAGS

.PHONY: build run test bench gate report lint tools

build:
	$(GO) build -o $(BIN) ./cmd/orrery

run: build
	./$(BIN) run

test:
	$(GO) mod download
	$(GO) vet ./...
	$(GO) test -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sim/store ./sim/apiserver ./sim/loop ./model

# The CI gate: binpack under most-allocated against its committed baseline (exit 1 on a
# regression), with JUnit XML for the CI system.
gate: build
	./$(BIN) bench binpack --baseline scenarios/builtin/binpack/baseline.json --junit bin/bench-junit.xml

# A comparison of the default profile with MostAllocated on binpack, as a table and an HTML
# report with its plots.
report: build
	./$(BIN) compare bin-packing --policy default --policy most-allocated --seeds 10 --report bin/report.html --plots bin/plots

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...
	@command -v staticcheck >/dev/null && staticcheck ./... || echo "staticcheck not installed: go install honnef.co/go/tools/cmd/staticcheck@latest"
