# Two commands: `make run` sets everything up and serves the app; `make test` sets up and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
THREADS ?= 4
TRANSLATIONS := inventory/translations
MO_FILES := $(patsubst %.po,%.mo,$(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po))

.PHONY: run test lint translations extract-messages clean fonts bench

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ -f --statistics

translations: $(MO_FILES)

# The CJK font label PDFs embed (fonts-wqy-zenhei); installed when missing and apt is ours to use.
FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
fonts:
	@test -f $(FONT) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei); } || \
		echo "注意：未安装 fonts-wqy-zenhei，标签 PDF 将无法生成"

# QR codes point at PUBLIC_BASE_URL. Unless it is set (in the environment or on the command line),
# `make run` points them at the address it serves on; serving on every interface (HOST=0.0.0.0),
# at the machine's first address, which a phone on the same network can reach.
LAN_ADDRESS = $(shell hostname -I 2>/dev/null | tr ' ' '\n' | grep -v : | head -n 1)
SERVED_HOST = $(if $(filter 0.0.0.0 ::,$(HOST)),$(or $(LAN_ADDRESS),127.0.0.1),$(HOST))
PUBLIC_BASE_URL ?= http://$(SERVED_HOST):$(PORT)

run: $(VENV)/.installed translations fonts
	$(FLASK) db upgrade
	$(FLASK) seed demo --if-empty
	@echo "演示账号 (instance/demo-logins.txt):"; cat instance/demo-logins.txt 2>/dev/null || true
	@echo "Serving on http://$(HOST):$(PORT); QR codes point at $(PUBLIC_BASE_URL)"
	@# The job worker (imports) runs beside the web server and stops with it.
	PUBLIC_BASE_URL='$(PUBLIC_BASE_URL)' $(BIN)/huey_consumer inventory.worker.huey --workers 1 & \
		worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		PUBLIC_BASE_URL='$(PUBLIC_BASE_URL)' $(BIN)/gunicorn -c gunicorn.conf.py --workers $(WORKERS) \
		--threads $(THREADS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

test: $(VENV)/.installed-dev translations fonts lint
	$(BIN)/pytest

# Benchmarks: ratios against raw-driver baselines, printed and written to bench/results.json.
bench: $(VENV)/.installed-dev translations fonts
	$(BIN)/python bench/run.py $(if $(QUICK),--quick)

# Refresh the message catalogs after changing user-visible text.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -o $(TRANSLATIONS)/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
