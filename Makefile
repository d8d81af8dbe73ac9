# Orrery's build. `make run` builds and runs the default scenario; `make test` runs every
# test. Go modules come through the module proxy on first use.
GO       ?= go
BIN      := bin/orrery
GOFLAGS  ?=
export GOFLAGS

.PHONY: build run test bench gate report lint tools realmode-deps

build:
	$(GO) build -o $(BIN) ./cmd/orrery
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/orrery-workload ./realmode/workload/cmd/orrery-workload

run: build
	./$(BIN) run

# The simulations in the tests allocate heavily: GOGC 400 (orrery's own default, see
# cmd/orrery) trades memory for a third less garbage-collection CPU.
test: realmode-deps
	$(GO) mod download
	$(GO) vet ./...
	GOGC=$${GOGC:-400} $(GO) test -count=1 ./...

# Real mode's tests drive containerd and runc (Debian packages): installed here when missing
# and root; otherwise those tests skip and say why.
realmode-deps:
	@if command -v containerd >/dev/null && command -v runc >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends containerd runc; } \
	  || echo "could not install containerd and runc: the real-mode tests will skip"; \
	else echo "containerd or runc is missing and this is not root: the real-mode tests will skip"; fi

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
