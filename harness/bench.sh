#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the KUnit kernel once and run only the context_bus_bench suite
# (drivers/base/test/context_bus_bench.c; its cases are the slow ones that
# `make test` leaves out), then print its results as tables with the goals.
# The kernel prints one "ctxbench:" line per result; harness/bench.py turns
# them into the tables.  Fails if the suite fails, warns or does not run.

source "$(dirname "$0")/lib.sh"

mkdir -p "$OUT"
log=$OUT/bench.log
say "running the context_bus_bench suite (a few minutes under QEMU)"
set +e
kunit_py run --timeout="${CTXBUS_TIMEOUT:-1800}" 'context_bus_bench' >"$log" 2>&1
rc=$?
set -e

summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'Testing complete\. Ran [0-9]* tests:.*' | tail -n 1)
[ -n "$summary" ] ||
	{ tail -n 30 "$log" >&2; die "kunit.py reported no results (exit $rc; log: ${log#"$REPO"/})"; }
if ! unexpected_splats "$BUILD/test.log" >&2; then
	die "the kernel logged a warning or a stack dump during the benchmark (log: ${BUILD#"$REPO"/}/test.log)"
fi
if [ "$rc" -ne 0 ]; then
	grep -E 'not ok|ASSERTION|EXPECTATION|Expected' "$BUILD/test.log" >&2 || true
	die "the benchmark failed (kunit.py exit $rc; log: ${log#"$REPO"/})"
fi

python3 "$REPO/harness/bench.py" "$BUILD/test.log"
