# Finds libclang proper (what RocksDB's bindgen loads), sourced by scripts/setup and its test.
# `libclang-cpp.so.*` is a different library (the C++ API) and does not count: a machine with
# only that one still fails with "Unable to find libclang".

# find_libclang [ROOT]: prints the first libclang found under ROOT (default /) and succeeds, or
# fails silently. Looks where clang-sys looks: LLVM's versioned lib directories and the system
# library directories, for libclang.so, libclang.so.N, libclang-N.so and libclang-N.so.M.
find_libclang() {
  local root=${1:-}
  local dir file name
  for dir in "$root"/usr/lib/llvm-*/lib "$root"/usr/lib/x86_64-linux-gnu "$root"/usr/lib/aarch64-linux-gnu \
             "$root"/usr/lib64 "$root"/usr/lib "$root"/usr/local/lib; do
    [ -d "$dir" ] || continue
    for file in "$dir"/libclang*.so*; do
      [ -e "$file" ] || continue
      name=${file##*/}
      if [[ $name =~ ^libclang(-[0-9][0-9.]*)?\.so(\.[0-9.]+)?$ ]]; then
        printf '%s\n' "$file"
        return 0
      fi
    done
  done
  return 1
}
