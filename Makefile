# One front door for building, testing and demoing. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NBGRADER_VERSION ?= 0.9.6
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2
STAMP := $(VENV)/.deps-$(NBGRADER_VERSION)

.PHONY: help setup develop demo test test-rust test-python test-nbgrader-suite lint fmt clean

help: ## list the targets
	@grep -E '^[a-z0-9.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }
	@command -v python3 >/dev/null || { echo "python3 not found: apt-get install python3 python3-venv"; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt "nbgrader==$(NBGRADER_VERSION)"
	rm -f $(VENV)/.deps-*; touch $@

setup: $(STAMP) ## create the venv and install build/test dependencies
	@true

develop: setup labext ## build the Rust extension and the JupyterLab extension into the venv (release mode)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release -q

# The Assignments tab extension (labextension/, plain JS): npm ci, then @jupyterlab/builder
# (webpack, module federation) against the venv's JupyterLab into the package's data, which
# `maturin develop` and the wheel install as share/jupyter/labextensions/nbgrader-k8s-exchange.
LABEXT_BUILDER := labextension/node_modules/@jupyterlab/builder/lib/build-labextension.js
LABEXT_OUT := python/nbgrader_k8s_exchange.data/data/share/jupyter/labextensions/nbgrader-k8s-exchange

.PHONY: labext
labext: $(LABEXT_OUT)/package.json ## build the JupyterLab extension (labextension/ -> the package's share/jupyter)

$(LABEXT_BUILDER): labextension/package.json labextension/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt-install APT_PACKAGES="nodejs npm"
	npm ci --prefix labextension --no-audit --no-fund --loglevel=error
	touch $@

# The builder reads the shared modules from JupyterLab's core package.json (jupyterlab/staging);
# the release workflow passes LABEXT_PYTHON=python (on PATH, or an absolute path) and
# LABEXT_SETUP= (a pip-installed jupyterlab, no venv).
LABEXT_PYTHON ?= $(abspath $(PY))
LABEXT_SETUP ?= $(STAMP)

$(LABEXT_OUT)/package.json: $(LABEXT_BUILDER) $(wildcard labextension/lib/*.js labextension/style/*.css) | $(LABEXT_SETUP)
	rm -rf $(LABEXT_OUT)
	cd labextension && node $(abspath $(LABEXT_BUILDER)) --core-path \
	  "$$($(LABEXT_PYTHON) -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')" . >/dev/null
	test -f $@

demo: develop ## a full course round trip on a local exchange, printed step by step
	$(PY) -m nbgrader_k8s_exchange.demo $(DEMO_DIR)

test: develop hub-setup test-rust test-python test-nbgrader-suite test-wheel ## every test: Rust units, pytest driving real nbgrader and a browser, the wheel on an old Debian

test-rust: ## Rust unit and integration tests
	cargo test --workspace --quiet

test-python: ## pytest (real nbgrader CLI, server extension, browser), $(PYTEST_WORKERS) workers
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --durations=15 $(PYTEST_ARGS)

test-nbgrader-suite: develop ## nbgrader's own exchange tests (from the installed wheel) against this exchange; prints passed / expected differences / failed
	$(PY) -m tests.nbgrader_suite -n $(PYTEST_WORKERS) --durations=5 $(NBGRADER_SUITE_ARGS)

lint: develop wheel-tools ## cargo fmt --check, clippy -D warnings, ruff, stubtest (_core.pyi vs the built module), actionlint + shellcheck
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests hub podsim
	$(VENV)/bin/ruff format --check python tests hub podsim
	$(PY) -m mypy.stubtest nbgrader_k8s_exchange._core
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck
	$(VENV)/bin/shellcheck tests/wheel/*.sh

fmt: setup ## format Rust and Python in place
	cargo fmt --all
	$(VENV)/bin/ruff format python tests hub podsim

clean: ## remove build output and the venv
	cargo clean
	rm -rf $(VENV) .venv-* target labextension/node_modules $(LABEXT_OUT)

.PHONY: bench bench-quick bench-notary

bench: develop ## our exchange vs nbgrader's default on a simulated NFS (latencyfs) -> BENCHMARKS.md; ~15 min, root; BENCH_* vars in bench/__main__.py
	cargo build --release -q -p nbgrader-k8s-latencyfs
	BENCH_COMMAND="make bench" $(PY) -m bench

bench-quick: develop ## the same on a small course (~3 min), into artifacts/bench-quick/
	cargo build --release -q -p nbgrader-k8s-latencyfs
	BENCH_STUDENTS=$${BENCH_STUDENTS:-50} BENCH_NOCACHE_STUDENTS=$${BENCH_NOCACHE_STUDENTS:-30} \
	BENCH_GROWTH=$${BENCH_GROWTH:-50,100} BENCH_BURST=$${BENCH_BURST:-32} \
	BENCH_BURST_CLI=$${BENCH_BURST_CLI:-8} BENCH_REPEATS=$${BENCH_REPEATS:-1} \
	BENCH_DIR=$${BENCH_DIR:-artifacts/bench-quick} \
	BENCH_OUT=$${BENCH_OUT:-artifacts/bench-quick/BENCHMARKS.md} \
	BENCH_COMMAND="make bench-quick" $(PY) -m bench

bench-notary: develop ## the notary's first, idle and burst pass and memory at BENCH_NOTARY_STUDENTS (100 1000 5000) on latencyfs 1 ms; root, ~5 min
	cargo build --release -q -p nbgrader-k8s-latencyfs
	$(PY) -m bench.notary $(BENCH_NOTARY_STUDENTS)

.PHONY: hub hub-setup

HUB_DIR ?= artifacts/hub
HUB_PORT ?= 8000
HUB_PROXY := hub/node_modules/.bin/configurable-http-proxy

hub-setup: setup $(HUB_PROXY) ## chromium (apt) for the browser tests, the hub's proxy (npm, into hub/node_modules)
	@command -v chromium >/dev/null || $(MAKE) --no-print-directory apt-install APT_PACKAGES="chromium fonts-liberation"

$(HUB_PROXY): hub/package.json hub/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt-install APT_PACKAGES="nodejs npm"
	npm ci --prefix hub --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: apt-install
apt-install:
	@[ "$$(id -u)" = 0 ] || { echo "need $(APT_PACKAGES): run as root, or apt-get install $(APT_PACKAGES)"; exit 1; }
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null

hub: develop hub-setup ## a local JupyterHub on 127.0.0.1:8000 (HUB_PORT), every user in a simulated pod (root; Ctrl-C stops it)
	$(PY) -m hub --dir $(HUB_DIR) --port $(HUB_PORT)

.PHONY: fuzz

FUZZ_SECONDS ?= 30

# cargo fuzz needs nightly flags: the nightly toolchain if rustup has one, else stable told
# to accept them (RUSTC_BOOTSTRAP=1).
FUZZ_CARGO := $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo 'cargo +nightly' || echo 'RUSTC_BOOTSTRAP=1 cargo')

fuzz: ## fuzz the submission-name and timestamp parsers, FUZZ_SECONDS each (installs cargo-fuzz)
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	for target in submission_name timestamp; do \
	  mkdir -p fuzz/corpus/$$target && \
	  $(FUZZ_CARGO) fuzz run --fuzz-dir fuzz $$target fuzz/corpus/$$target fuzz/seeds/$$target \
	    -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

.PHONY: wheel wheel-tools test-wheel

# The older Debian the wheel must run on (bullseye: glibc 2.31, Python 3.9). Its chroot is built
# once into WHEEL_CHROOT_CACHE; the mirror is found by tests/wheel/chroot.sh (DEBIAN_MIRROR wins).
WHEEL_SUITE ?= bullseye
WHEEL_CHROOT_CACHE ?= .cache/wheel-chroot
# zig's cross build beside, not over, the `make develop` build.
WHEEL_TARGET_DIR ?= target/wheel
WHEEL_TOOLS := $(VENV)/.wheel-tools

wheel-tools: $(WHEEL_TOOLS)

$(WHEEL_TOOLS): requirements-wheel.txt | $(STAMP)
	$(PY) -m pip install -q -r requirements-wheel.txt
	touch $@

wheel: setup labext wheel-tools ## dist/: abi3 manylinux2014 (glibc >= 2.17) x86_64 wheel via maturin + zig, and the sdist; auditwheel-checked
	rm -f dist/nbgrader_k8s_exchange-*
	PATH=$(abspath $(VENV))/bin:$$PATH CARGO_TARGET_DIR=$(WHEEL_TARGET_DIR) \
	  $(VENV)/bin/maturin build --release --zig --compatibility manylinux2014 --target x86_64-unknown-linux-gnu -o dist
	$(VENV)/bin/maturin sdist -o dist
	$(PY) tests/wheel/check_wheel.py dist/nbgrader_k8s_exchange-*.whl dist/nbgrader_k8s_exchange-*.tar.gz

test-wheel: wheel ## pip install --no-deps the wheel in a Debian bullseye chroot (WHEEL_SUITE; glibc 2.31, Python 3.9) and run it there (root)
	@command -v debootstrap >/dev/null || $(MAKE) --no-print-directory apt-install APT_PACKAGES=debootstrap
	WHEEL_CHROOT_CACHE=$(WHEEL_CHROOT_CACHE) tests/wheel/chroot.sh $(WHEEL_SUITE) dist/nbgrader_k8s_exchange-*-abi3-*x86_64.whl
