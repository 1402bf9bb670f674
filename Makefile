# Children's Services Online: common tasks. `make help` lists them.
.DEFAULT_GOAL := help
GO ?= go

.PHONY: help run test fuzz audit migrate bench build tidy

help: ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## run the portal on its embedded defaults (own Postgres, local storage, dev outbox, demo data)
	@.ci/install run
	$(GO) run .

test: ## run every test (starts its own Postgres, S3 server and Chromium), then each fuzz target for 10s
	@.ci/install test
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	FUZZTIME=10s GO=$(GO) .ci/fuzz

FUZZTIME ?= 10m
fuzz: ## run each fuzz target for FUZZTIME (default 10m), one after another (.ci/fuzz lists them)
	FUZZTIME=$(FUZZTIME) GO=$(GO) .ci/fuzz

audit: ## format, vet and module checks
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) mod verify

migrate: ## apply database migrations and exit
	$(GO) run . migrate

bench: ## benchmarks and the load run (app/bench), printing ratios
	@.ci/install test
	$(GO) test -run '^$$' -bench . -benchtime 200x $$($(GO) list ./... | grep -v /app/bench)
	$(GO) test -run '^$$' -bench LoadRun -benchtime 1x -timeout 30m ./app/bench

build: ## build the binary into ./portal
	CGO_ENABLED=0 $(GO) build -trimpath -o portal .
