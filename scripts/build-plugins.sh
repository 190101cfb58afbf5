#!/usr/bin/env bash
# Builds the example plugins (plugins/examples) from source into OUTDIR:
#
#   scripts/build-plugins.sh OUTDIR
#
# C examples: clang --target=wasm32-wasi with wasi-libc (malloc and string functions only;
# no WASI import ends up in the module). Rust examples: Debian's rustc with the
# wasm32-unknown-unknown std (libstd-rust-dev-wasm32); the guest crate plugins/guest is
# compiled once as an rlib and each example links it with --extern. Built for size (faster
# for scry to compile at load), Rust with clang's 64 KiB stack rather than rustc's 1 MiB.
# No cargo, no network.
#
# Environment: CLANG (default clang), RUSTC (default /usr/bin/rustc, Debian's: rustup's
# rustc usually lacks the wasm32 target).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$1"
mkdir -p "$out"
clang="${CLANG:-clang}"
rustc="${RUSTC:-/usr/bin/rustc}"
examples="$root/plugins/examples"

c_plugin() { # NAME SOURCE
  "$clang" --target=wasm32-wasi -Oz -std=c11 -Wall -Wextra -Werror \
    -nostartfiles -Wl,--no-entry -Wl,--strip-all \
    -I "$root/plugins/include" "$examples/$2" -o "$out/$1.wasm"
}

rust_flags=(--edition 2021 --target wasm32-unknown-unknown -C opt-level=z -C panic=abort
  -C codegen-units=1 -C debuginfo=0 -D warnings)
rust_plugin() { # NAME SOURCE
  "$rustc" "${rust_flags[@]}" --crate-type cdylib --crate-name "${1//-/_}" -C lto \
    -C link-arg=--strip-all -C link-arg=-zstack-size=65536 -L "$out" \
    --extern scry_guest="$out/libscry_guest.rlib" \
    "$examples/$2" -o "$out/$1.wasm"
}

"$rustc" "${rust_flags[@]}" --crate-type rlib --crate-name scry_guest \
  "$root/plugins/guest/src/lib.rs" -o "$out/libscry_guest.rlib"

c_plugin quantiles-c quantiles.c
c_plugin topk topk.c
c_plugin ndjson ndjson.c
c_plugin csv csv.c
c_plugin printf printf.c
c_plugin mean-c mean.c
rust_plugin quantiles-rs quantiles.rs
rust_plugin prometheus prometheus.rs
rust_plugin heatmap heatmap.rs
rust_plugin mean-rs mean.rs
