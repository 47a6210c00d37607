#!/usr/bin/env bash
# Runs one libFuzzer target over a parser, with AddressSanitizer.
#   fuzz/run.sh TARGET [SECONDS]     TARGET: safetensors gguf tokenizer-json gguf-vocabulary image dataset config-json
# Seeds come from fuzz/<corpus>/ (committed); new inputs and crash files go to $TMPDIR/latte-fuzz/.
# See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: fuzz/run.sh TARGET [SECONDS]}"
seconds="${2:-600}"
case "$target" in
  safetensors) seeds=fuzz/safetensors/corpus ;;
  gguf) seeds=fuzz/gguf/corpus ;;
  tokenizer-json|gguf-vocabulary) seeds=fuzz/tokenizers/corpus ;;
  image) seeds=fuzz/images/corpus ;;
  dataset) seeds=fuzz/datasets/corpus ;;
  config-json) seeds=fuzz/configs/corpus ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
# Coverage + AddressSanitizer everywhere; libFuzzer's driver without its main, since SwiftPM gives the
# executable its own main (Sources/latte-fuzz/Entry.swift calls LLVMFuzzerRunDriver).
runtime="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib/clang"
fuzzer_lib="$(ls "$runtime"/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)"
swift build -c release --product latte-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
  -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address -Xlinker "$fuzzer_lib" -Xlinker -lstdc++
work="${TMPDIR:-/tmp}/latte-fuzz/$target"
mkdir -p "$work/corpus"
LATTE_FUZZ_TARGET="$target" .build-fuzz/release/latte-fuzz -max_total_time="$seconds" -max_len=262144 \
  -rss_limit_mb=4096 -timeout=10 -artifact_prefix="$work/" "$work/corpus" "$seeds"
