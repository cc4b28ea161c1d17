#!/usr/bin/env bash
# Builds the shipped `alex`: one self-contained NativeAOT executable per runtime, no .NET needed where it runs.
# Usage: build/publish.sh [RID ...]    (default: linux-x64 linux-arm64; the output is artifacts/RID/alex)
# Needs the .NET SDK and clang; for linux-arm64 from an x64 machine also the Debian cross toolchain
# (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, binutils-aarch64-linux-gnu). docs/install.md says more.
set -euo pipefail
cd "$(dirname "$0")/.."
rids=("$@")
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 linux-arm64)
for rid in "${rids[@]}"; do
  out="artifacts/$rid"
  # Cross-compiling to linux-arm64 needs no flag: the SDK gives clang --target=aarch64-linux-gnu, which finds
  # Debian's cross C library and linker by itself.
  dotnet publish src/Alex.Cli -c Release -r "$rid" -o "$out" -nologo -v:q -clp:ErrorsOnly
  rm -f "$out"/*.dbg "$out"/*.pdb
  echo "$out: $(cd "$out" && du -h -- * | tr '\t\n' ' ')"
done
