# dwf-policy — see README.md. `make demo` and `make test` are the two
# commands a newcomer runs; .ci/run calls `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
BIN       := bin/dwf-policy
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/devflow/dwf-policy/internal/cli.Version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
CONFTEST_VERSION    := v0.71.1
BENCH_RUNS ?= 10
TOOLS     := $(CURDIR)/.tools
export SARIF_MULTITOOL := $(TOOLS)/npm/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
FUZZTIME  ?= 3000x

.PHONY: build demo test unit lint tools fuzz bench bench-compare bench-trivy bench-webhook bench-webhook-inprocess bench-gate soak-webhook docs deploy-manifests bundles clean self-check e2e-kube

build: ## Build bin/dwf-policy and bin/dwf-policy-server (which `dwf-policy serve` runs), static (no cgo) as the release image is; release images add -trimpath, see Dockerfile.devflow
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/dwf-policy
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)-server ./cmd/dwf-policy-server

demo: build ## Check the bundled example in testdata/demo (it has findings on purpose)
	@echo "$$ $(BIN) check testdata/demo"
	@code=0; $(BIN) check testdata/demo || code=$$?; \
	  echo "(exit code $$code: 1 means findings at or above --fail-on, as this example has on purpose)"; \
	  [ $$code -le 1 ]

tools: ## Install what the tests need (SARIF multitool, docker-registry, etcd, helm, crane, staticcheck)
	@bash scripts/install-test-tools.sh
	@test -x $(TOOLS)/bin/staticcheck || GOBIN=$(TOOLS)/bin GOFLAGS=-mod=mod $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: tools ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS)/bin/staticcheck ./...

unit: tools ## go test -race over every package, with a real docker-registry on 127.0.0.1 for the image tests
	bash scripts/registry.sh run -- $(GO) test -race -count=1 ./...

fuzz: ## A short run of every fuzz target: FUZZTIME executions each (a count, see scripts/fuzz.sh)
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

self-check: build ## dwf-policy checks this repository (testdata excluded) and fails on any finding
	$(BIN) check --config .dwf-policy-self-check.yaml --fail-on note .

e2e-kube: tools ## The admission webhook against a real kube-apiserver (built once, cached in ~/.cache/dwf-policy) and etcd on 127.0.0.1
	DWF_KUBE_E2E_REQUIRED=1 bash scripts/kube-e2e.sh run -- $(GO) test -count=1 -run 'KubeAPIServer' ./webhook

test: lint unit fuzz self-check demo e2e-kube ## Everything CI runs (demo included, so the newcomer command stays working)

bench: ## Benchmarks: parse, evaluate, whole check over 2,000 Dockerfiles and over 2,000 manifests (CheckCorpus vs CheckManifests)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./engine/... ./internal/cli/

bench-trivy: build ## A 5,000-vulnerability Trivy report: its stages (parse, convert, evaluate; Go benchmark) and `dwf-policy check` through hyperfine, process start included (median, user and system time; the load average is printed: the machine may be shared)
	$(GO) test -run '^$$' -bench 'TrivyReport5000' -benchmem -benchtime 20x ./engine/check
	@dir=$$(mktemp -d) && mkdir "$$dir/.git" && \
	DWF_BENCH_REPORT_OUT="$$dir/trivy.json" $(GO) test -count=1 -run '^TestWriteBenchReport$$' ./engine/check && \
	uptime && (cd "$$dir" && hyperfine -N -w 3 -r 30 -i '$(CURDIR)/$(BIN) check trivy.json'); \
	status=$$?; rm -rf "$$dir"; exit $$status

bench-webhook: build ## bin/dwf-policy serve under load from another process (internal/tools/loadgen), real registry on loopback: cold reviews, 1,000 warm reviews/s, cache hits (issue 11)
	GO=$(GO) bash scripts/bench-webhook.sh bench

bench-gate: build ## Manifest pulls of a judged digest through the registry gate and directly, side by side (issue 12)
	GO=$(GO) bash scripts/bench-webhook.sh gate

soak-webhook: build ## 10 minutes of reviews while sampling the server's RSS: is memory bounded? (not part of make test)
	GO=$(GO) bash scripts/bench-webhook.sh soak

bench-webhook-inprocess: ## Admission reviews in-process over loopback: warm (saturated, and at a steady 200/s), one warm review's compute without HTTP, and cold reviews of 3 new images
	$(GO) test -run '^$$' -bench 'ReviewWarm|ReviewCompute' -benchmem -benchtime 2000x ./webhook/admission
	$(GO) test -run '^$$' -bench 'ReviewCold' -benchtime 200x ./webhook/admission

bench-compare: build ## dwf-policy beside conftest $(CONFTEST_VERSION) (one trivial rule): medians and ratios of wall, CPU and peak RSS over 1 and 2,000 Dockerfiles (BENCH_RUNS alternating runs), and peak RSS over 50,000
	@if ! $(GO) version -m $(TOOLS)/bin/conftest 2>/dev/null | grep -Eq 'mod[[:space:]]+github.com/open-policy-agent/conftest[[:space:]]+$(CONFTEST_VERSION)'; then \
	  echo "installing conftest $(CONFTEST_VERSION) into $(TOOLS)/bin"; \
	  GOBIN=$(TOOLS)/bin GOFLAGS=-mod=mod $(GO) install github.com/open-policy-agent/conftest@$(CONFTEST_VERSION); \
	fi
	$(GO) run ./internal/benchcompare -dwf-policy $(BIN) -conftest $(TOOLS)/bin/conftest -runs $(BENCH_RUNS)

docs: build ## Regenerate docs/rules.md, docs/inputs.md, docs/dwf-policy.schema.json, policies/catalogue.json and policies/modules.bin from rule metadata, schemas and modules
	$(GO) test ./engine -run '^TestBuiltin(Catalogue|Modules)$$' -update
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/dwf-policy # the catalogue and modules are embedded
	$(BIN) rules --format markdown > docs/rules.md
	$(BIN) config schema > docs/dwf-policy.schema.json
	$(GO) test ./engine/document -run TestInputsDocIsCurrent -update

deploy-manifests: tools ## Regenerate deploy/*.yaml (but namespace.yaml) from the Helm chart deploy/helm/dwf-policy with its default values
	$(GO) test ./internal/selfcheck -run TestChartRendersDeployManifests -count=1 -update

bundles: build ## Build bundles/baseline.tar.gz, an OPA bundle of the exact policies the binary embeds
	$(BIN) bundle build --builtin --revision $(VERSION) bundles/baseline -o bundles/baseline.tar.gz

clean:
	rm -rf bin bundles/*.tar.gz
