# moonpy - the two commands a newcomer runs (as root on Debian 12):
#   make run    the default job: udp-load.lua across the embedded virtual cable, live dashboard
#   make test   the test suite (real DPDK on virtual devices)
# Both install what they need first (apt: DPDK and friends; pip: moonpy + test extras).

PY ?= python3
PIP ?= $(PY) -m pip
# the tests' tools too: tcpdump is the oracle of the pf filters, `script` (bsdutils) gives
# the dashboard test a pseudo-terminal; under CI=true a test missing its tool fails
APT_PACKAGES = libdpdk-dev pkg-config dpdk dpdk-dev iproute2 libpcap-dev tcpdump bsdutils
BUILD_INPUTS = setup.py setup.cfg pyproject.toml $(wildcard moonpy/*.pyx moonpy/dpdk/*.pxi \
	moonpy/includes/*.pxd moonpy/csrc/*.c moonpy/csrc/*.h)
RUN_ARGS ?= lua_scripts/udp-load.lua 0 1 --time 10

.PHONY: deps build run test test-lua test-dpdk lint bench compat compat-wild otg-conformance fuzz long-counts clean

# system packages (idempotent: only when something is missing)
.deps-stamp:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@touch $@

deps: .deps-stamp

# the Python package, its Cython extension (built in place) and the test extras
.build-stamp: .deps-stamp $(BUILD_INPUTS)
	$(PIP) install -q -e '.[test]'
	$(PY) setup.py -q build_ext --inplace
	@touch $@

build: .build-stamp

run: .build-stamp
	$(PY) -m moonpy $(RUN_ARGS)

test: .build-stamp
	$(PY) -m pytest -q

test-lua: .build-stamp
	$(PY) -m pytest -q -m lua

test-dpdk: .build-stamp
	$(PY) -m pytest -q -m dpdk

bench: .build-stamp
	$(PY) -m moonpy bench --json bench-results.json

# long robustness runs (not in `make test`): 10^6 hostile frames through the RX parsers
fuzz: .build-stamp
	$(PY) -m moonpy --plain lua_scripts/fuzz-rx.lua 0 1 -n 1000000 --seed 7
	MOONPY_FUZZ_EXAMPLES=200000 $(PY) -m pytest -q tests/test_lua_fuzz_parsers.py

# long counting runs (not in `make test`): 10^6 timestamps written to a file, every one there
long-counts: .build-stamp
	MOONPY_LONG_TIMESTAMPS=1000000 $(PY) -m pytest -q tests/test_long_counts.py

# upstream example scripts, unchanged, from your own checkouts of MoonGen and libmoon
compat: .build-stamp
	@test -n "$(MOONGEN)" -a -n "$(LIBMOON)" || { echo "usage: make compat MOONGEN=path LIBMOON=path"; exit 2; }
	$(PY) -m moonpy.tools.compat --moongen $(MOONGEN) --libmoon $(LIBMOON)

# third-party scripts (moonpy/tools/compat_wild/cases.py) from checkouts under WILD/OWNER/NAME;
# MOONGEN (optional) is a MoonGen checkout for scripts that load its rfc2544 utils
compat-wild: .build-stamp
	@test -n "$(WILD)" || { echo "usage: make compat-wild WILD=path [MOONGEN=path]"; exit 2; }
	$(PY) -m moonpy.tools.compat_wild --wild $(WILD) $(if $(MOONGEN),--moongen $(MOONGEN))

# the plain-traffic tests of the OTG conformance suite (feature/b2b/packet udp/tcp/vxlan)
# against `moonpy serve`, from your own checkout of open-traffic-generator/conformance
otg-conformance: .build-stamp
	@test -n "$(CONFORMANCE)" || { echo "usage: make otg-conformance CONFORMANCE=path"; exit 2; }
	$(PIP) install -q pypcapfile pytest
	$(PY) -m moonpy.tools.otg_conformance --conformance $(CONFORMANCE)

# the linters (apt: luacheck; pip: ruff, mypy, cython-lint; mypy reads the installed
# dependencies' types, hence the build), then every check; the same
# checks run from .pre-commit-config.yaml
LINT_PIP = ruff mypy cython-lint
.lint-stamp: .build-stamp
	@dpkg -s lua-check >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua-check; }
	$(PIP) install -q $(LINT_PIP)
	@touch $@

lint: .lint-stamp
	ruff check moonpy tests
	ruff format --check moonpy tests
	$(PY) -m mypy
	cython-lint moonpy/*.pyx moonpy/dpdk/*.pxi
	luacheck moonpy/lua

clean:
	rm -rf build *.egg-info moonpy/_dpdk.c moonpy/*.so .build-stamp .deps-stamp .lint-stamp
