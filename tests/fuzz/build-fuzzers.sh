#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address) into
# ${1:-build-fuzz}/ and, with --run SECONDS, fuzzes each from its seed corpus.
# GCC builds replay the same corpora through ctest (fuzz_replay_<codec>).
# Each codec adds one build_<codec> function below.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$SRC/build-fuzz}"
RUN_SECONDS=""
if [[ "${2:-}" == "--run" ]]; then RUN_SECONDS="${3:-60}"; fi
CXX="${CXX_FUZZ:-clang++-14}"
mkdir -p "$OUT"
# Boost 1.74 does not detect clang's coroutines (STYLE.md).
FLAGS=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
       -DBOOST_ASIO_HAS_CO_AWAIT=1 -DBOOST_ASIO_HAS_STD_COROUTINE=1 -DBOOST_ASIO_NO_DEPRECATED
       -DBOOST_BEAST_USE_STD_STRING_VIEW
       -Wno-deprecated-declarations -I"$SRC")

build_dns() {
  local d="$SRC/dns"
  "$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_dns.cpp" \
    "$d/name.cpp" "$d/message.cpp" "$d/rdata.cpp" "$d/text.cpp" "$d/tsig.cpp" \
    "$d/zone.cpp" "$d/responder.cpp" "$d/fast_path.cpp" "$d/detail/wire.cpp" -lcrypto -o "$OUT/fuzz_dns"
}

build_acme() {
  local c="$SRC/certs"
  "$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_acme.cpp" \
    "$c/acme_wire.cpp" "$c/acme_types.cpp" "$c/base64url.cpp" "$c/x509.cpp" "$c/keys.cpp" \
    "$c/renewal_window.cpp" "$c/status.cpp" -lssl -lcrypto -o "$OUT/fuzz_acme"
}

build_http() {
  "$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_http.cpp" "$SRC/api/detail/json_in.cpp" \
    "$SRC/api/detail/router.cpp" "$SRC/api/detail/problem.cpp" "$SRC/api/detail/json_body.cpp" \
    -lspdlog -lfmt -o "$OUT/fuzz_http"
}

build_plain_create() {
  "$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_plain_create.cpp" "$SRC/api/detail/json_in.cpp" \
    "$SRC/api/detail/problem.cpp" -lspdlog -lfmt -o "$OUT/fuzz_plain_create"
}

build_agent_protocol() {
  "$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_agent_protocol.cpp" "$SRC/agent/protocol.cpp" \
    -o "$OUT/fuzz_agent_protocol"
}

build_hostname() {
  "$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_hostname.cpp" "$SRC/domains/hostname.cpp" \
    "$SRC/domains/evaluate.cpp" -lidn2 -o "$OUT/fuzz_hostname"
}

build_usage_query() {
  "$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_usage_query.cpp" "$SRC/tenants/usage.cpp" \
    -o "$OUT/fuzz_usage_query"
}

build_rollout_body() {
  "$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_rollout_body.cpp" "$SRC/releases/body.cpp" \
    "$SRC/releases/plan.cpp" -o "$OUT/fuzz_rollout_body"
}

build_webhook_url() {
  "$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_webhook_url.cpp" "$SRC/webhooks/guard.cpp" \
    -o "$OUT/fuzz_webhook_url"
}

for codec in ${FUZZ_TARGETS:-dns acme http agent_protocol hostname usage_query webhook_url rollout_body plain_create}; do
  echo "building fuzz_$codec"
  "build_$codec"
  if [[ -n "$RUN_SECONDS" ]]; then
    work="$OUT/corpus_$codec"
    mkdir -p "$work"
    "$OUT/fuzz_$codec" -max_total_time="$RUN_SECONDS" -max_len=4096 "$work" "$SRC/tests/fuzz/corpus/$codec"
  fi
done
