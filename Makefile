# Orrery's build. `make run` builds and runs the default scenario; `make test` runs every
# test. Go modules come through the module proxy on first use.
GO       ?= go
BIN      := bin/orrery
GOFLAGS  ?=
export GOFLAGS

.PHONY: build run test bench lint tools

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

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...
	@command -v staticcheck >/dev/null && staticcheck ./... || echo "staticcheck not installed: go install honnef.co/go/tools/cmd/staticcheck@latest"
