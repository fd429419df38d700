# pinwheel: `make run` serves the simulated board; `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
FLASH ?= build/sim-flash
ARGS ?=
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
# Two stamps: `make run` installs only what running and deploying need
# (requirements.txt, a few MB); `make test` adds the test and bench stack.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: run test venv sysdeps image bench clean typecheck

$(RUN_STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements-test.txt
	$(PIP) -r requirements-test.txt
	touch $(STAMP)

venv: $(RUN_STAMP)

# Debian tools the tests drive: socat (virtual board), wrk (load), chromium (dashboard),
# mosquitto (MQTT broker; Debian puts it in /usr/sbin, not on every user's PATH).
sysdeps:
	@missing=""; for t in socat wrk chromium mosquitto; do PATH="$$PATH:/usr/sbin" command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

image: $(RUN_STAMP)
	$(BIN)/python deploy.py --build-only build/image

# Ctrl-C stops it cleanly; ARGS=--quiet turns the request log off.
run: $(RUN_STAMP)
	$(BIN)/python deploy.py --sim-flash $(FLASH)
	cd $(FLASH) && PINWHEEL_PORT=$(PORT) exec $(abspath $(BIN))/micropython main.py $(ARGS)

# pyright over app/ against each port's MicroPython stubs (part of `make test`).
typecheck: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_typecheck.py

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest -q

bench: $(STAMP) sysdeps
	$(BIN)/python bench/run.py
	$(BIN)/python bench/load.py  # 60 s under wrk -> bench/load_results.json

clean:
	rm -rf build test-output
