#!/bin/sh
# Fuzzes LatteTokenizers' tokenizer.json and GGUF-metadata parsers with libFuzzer + AddressSanitizer.
#   scripts/tokenizer_fuzz.sh [SECONDS]   (default 600)
# Seeds: scripts/tokenizer_fuzz/corpus (committed); new inputs go to a scratch corpus in $TMPDIR.
set -eu
cd "$(dirname "$0")/.."
secs="${1:-600}"
out="${TMPDIR:-/tmp}/latte-tokenizer-fuzz"
mkdir -p "$out/corpus"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name LatteTokenizersFuzz \
    Sources/LatteTokenizers/*.swift scripts/tokenizer_fuzz/FuzzEntry.swift -o "$out/fuzz"
"$out/fuzz" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$out/" "$out/corpus" scripts/tokenizer_fuzz/corpus
