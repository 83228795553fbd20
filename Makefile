# Developer entry points. `make demo` runs the whole product; `make test` runs the suite
# on SQLite and then on PostgreSQL + Redis (see scripts/test-matrix.sh).

PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BOOTSTRAP_PYTHON := $(shell command -v python3.11 || command -v python3)

export PORT PYTEST_ARGS

.PHONY: venv demo test lint type bench pwa

venv: $(STAMP)

# Reinstall only when the dependency list changed since the last install.
$(STAMP): pyproject.toml
	test -x $(PY) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e '.[dev]'
	touch $(STAMP)

# The demo turns on the sandbox payment provider and the WeChat Pay / Alipay simulators.
demo: export LIVEHUB_DEMO = 1
demo: venv pwa
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py load_demo_data
	$(PY) manage.py load_sync_demo
	$(PY) manage.py load_social_demo
	$(PY) manage.py load_live_demo
	$(PY) manage.py load_checkout_demo
	@echo ""
	@echo "LiveHub demo"
	@echo "  shop         http://127.0.0.1:$(PORT)/"
	@echo "  admin        http://127.0.0.1:$(PORT)/admin/"
	@echo "  API docs     http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  API schema   http://127.0.0.1:$(PORT)/api/schema/"
	@echo "  health       http://127.0.0.1:$(PORT)/healthz"
	@echo "  metrics      http://127.0.0.1:$(PORT)/metrics"
	@echo "  logins       admin/admin  staff/staff  host/host  shopper/shopper"
	@echo ""
	$(VENV)/bin/hub run --port $(PORT)

# The PWA (frontend_pwa/): Node.js 20+ with npm is required; the build lands in
# frontend_pwa/dist, which Django serves (webapp/). No step downloads a browser.
pwa:
	@command -v npm >/dev/null || { echo "npm not found: Node.js 20+ with npm is required to build the PWA (frontend_pwa/)" >&2; exit 1; }
	cd frontend_pwa && npm ci --no-audit --no-fund && npm run build

test: venv pwa
	scripts/test-matrix.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

type: venv
	$(VENV)/bin/mypy hub oms live channels_sync social search checkout payments members webapp

bench: venv
	$(PY) bench/stock_contention.py --quick
	$(PY) bench/channel_sync.py --quick
	$(PY) bench/order_ingest.py --quick
	$(PY) bench/payment_notifications.py --quick
	$(PY) bench/live_fanout.py --quick
	$(PY) bench/flash_sale.py --quick
	$(PY) bench/search.py --quick
	$(PY) bench/video_pipeline.py --quick

# Lighthouse (mobile) and axe-core on the built app served with the demo data; prints the
# scores per page and, last, one JSON line. Not part of `make test` (docs/pwa.md).
.PHONY: audit
# AUDIT_ARGS, e.g. `make audit AUDIT_ARGS=--runs=3`: the median of 3 Lighthouse runs per page.
audit: venv pwa
	$(PY) scripts/audit.py --no-build $(AUDIT_ARGS)
