#!/usr/bin/env bash
# Runs scripts/setup's libclang detection against prepared directory trees: a machine with only
# libclang-cpp (which once passed for libclang) must be told to install it; each real layout of
# libclang must be found.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/libclang.sh
source "$here/../lib/libclang.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# expect NAME found|missing FILE...: a tree holding FILEs (empty files) must give the verdict.
expect() {
  local name=$1 verdict=$2
  shift 2
  local root="$work/$name"
  mkdir -p "$root"
  local f
  for f in "$@"; do
    mkdir -p "$root/$(dirname "$f")"
    : >"$root/$f"
  done
  local got=missing
  if find_libclang "$root" >/dev/null; then got=found; fi
  if [ "$got" != "$verdict" ]; then
    echo "libclang detection: $name: expected $verdict, got $got" >&2
    failures=$((failures + 1))
  fi
}

expect empty missing
expect only-libclang-cpp missing \
  usr/lib/x86_64-linux-gnu/libclang-cpp.so.14 usr/lib/llvm-14/lib/libclang-cpp.so.14
expect only-libclang-cpp-unversioned missing usr/lib/llvm-16/lib/libclang-cpp.so
expect debian-libclang1 found usr/lib/x86_64-linux-gnu/libclang-14.so.1
expect debian-libclang-dev found usr/lib/llvm-14/lib/libclang.so usr/lib/llvm-14/lib/libclang-cpp.so
expect versioned-soname found usr/lib/llvm-15/lib/libclang.so.1
expect plain found usr/lib64/libclang.so
expect lookalike missing usr/lib/libclangfoo.so usr/lib/libclang-cpp.so.17.0.1

if [ "$failures" -gt 0 ]; then
  exit 1
fi
echo "libclang detection: all layouts judged right"
