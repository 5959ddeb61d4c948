# LandRec — the two commands on a fresh Debian 12 / Ubuntu machine:
#   make demo   install what is missing, start the local store, load the demo province
#               once, open the desktop app (or, without a screen, save a screenshot)
#   make test   the same setup, then the whole test suite against a throw-away store
# Both work as root and as a normal user with sudo; a second run is fast and changes nothing.

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LANDREC := $(BIN)/landrec
STAMP := $(VENV)/.landrec-installed
DEMO_PARCELS ?= 30000
DEMO_SEED ?= 1
SCREENSHOT ?= landrec-demo.png

.PHONY: demo test setup packages venv store demo-data lint bench clean-venv

demo: setup store demo-data
	@if [ -n "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then
		exec $(LANDREC) demo
	fi
	$(LANDREC) demo --screenshot $(SCREENSHOT)
	echo
	echo "No screen here (DISPLAY and WAYLAND_DISPLAY are empty), so the window was"
	echo "rendered off-screen to $(SCREENSHOT). On a desktop, run:  $(LANDREC) demo"
	echo "To render again:  $(LANDREC) demo --screenshot FILE.png"

test: setup
	$(BIN)/python -m pytest -q

setup: packages venv

packages:
	@installer/install-debian-packages.sh

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then
		echo "Creating the virtualenv with $(PYTHON)"
		$(PYTHON) -m venv $(VENV)
	fi
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# The embedded local store: created once, started if stopped, migrated to the newest schema.
store: venv
	@$(LANDREC) store init
	$(LANDREC) store start
	$(LANDREC) db migrate

# The demo province is loaded once; later runs see it and do nothing. The demo accounts
# (demo_clerk, demo_officer, demo_approver, demo_admin; README) are made or refreshed.
demo-data: store
	@$(LANDREC) demo-data --parcels $(DEMO_PARCELS) --seed $(DEMO_SEED) --if-empty
	$(LANDREC) demo-accounts

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean-venv:
	rm -rf $(VENV)
