#!/usr/bin/env bash
# The whole scry test suite, on a fresh machine or a developer's: installs what the tests need
# when it is missing, then runs rustfmt, clippy and every test of the workspace.
#
#   scripts/test.sh [ARGS...]    ARGS go to the test runner (e.g. a test-name filter)
#
# CARGO_TARGET_DIR defaults to $HOME/.cache/scry-target, outside the clone, so that CI and
# repeated runs reuse one build. CI runs this through .ci/run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scry-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"
# rustup's cargo may not be on PATH in a bare environment.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi

die() { echo "scripts/test.sh: $*" >&2; exit 1; }
step() { echo; echo "==> $*"; }

command -v cargo >/dev/null 2>&1 || die "cargo not found: install a Rust toolchain with rustup first"

# --- system packages the tests use -------------------------------------------------------------
# gcc builds the C fixtures, bpftrace runs the differential tests, systemtap-sdt-dev gives
# <sys/sdt.h> for the USDT fixture. The wasm toolchains build the example plugins
# (scripts/build-plugins.sh): clang, lld (wasm-ld), wasi-libc and the wasm32 compiler-rt for
# the C ones, Debian's rustc with its wasm32 std for the Rust ones (rustup's wasm32 target
# is not needed), wabt for the WAT fixtures and wasm-objdump.
missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v bpftrace >/dev/null 2>&1 || missing+=(bpftrace)
for pkg in systemtap-sdt-dev clang lld wasi-libc libclang-rt-14-dev-wasm32 wabt rustc \
  libstd-rust-dev-wasm32; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  step "installing ${missing[*]}"
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}: run as root to install them"
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q </dev/null || die "apt-get update failed"
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null \
    || die "could not install ${missing[*]}"
fi

# --- toolchain components ----------------------------------------------------------------------
components=()
cargo fmt --version >/dev/null 2>&1 || components+=(rustfmt)
cargo clippy --version >/dev/null 2>&1 || components+=(clippy)
if [ "${#components[@]}" -gt 0 ]; then
  step "adding rustup components ${components[*]}"
  rustup component add "${components[@]}" </dev/null \
    || die "could not add ${components[*]} with rustup (offline?); they are needed for the fmt and clippy checks"
fi

# --- checks and tests --------------------------------------------------------------------------
step "cargo fmt --all -- --check"
cargo fmt --all -- --check || die "code is not formatted: run 'cargo fmt --all'"

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings || die "clippy reported problems"

if cargo nextest --version >/dev/null 2>&1; then
  # nextest does not run doctests: run them first, so that nextest's summary closes the output.
  step "cargo test --workspace --doc"
  cargo test --workspace --doc
  step "cargo nextest run --workspace"
  # nextest closes with its own 'Summary [...] N tests run: N passed, ...' line.
  cargo nextest run --workspace --no-fail-fast "$@"
else
  step "cargo test --workspace"
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  status=0
  cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
  # One closing line for the whole run, summed over every test binary.
  awk '/^test result:/ { for (i = 1; i <= NF; i++) {
         if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1);
         if ($i ~ /^ignored/) s += $(i-1) } }
       END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
  exit "$status"
fi
