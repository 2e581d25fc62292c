#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the kernel and run every KUnit suite under QEMU virt + SMMUv3
# through kunit.py, then print one line: "kunit: N passed, N failed"
# (", N skipped" where any).  Fails if a test fails or crashes, if the
# kernel panics or times out, warns or dumps its stack where no test said
# it would, or if no test ran.
#
# Arguments are passed to "kunit.py run", e.g. a suite glob: 'of_iommu*'.
# Slow test cases (KUNIT_SPEED_SLOW: the benchmark of `make bench`) are
# left out; kunit.py does not count them.

source "$(dirname "$0")/lib.sh"

mkdir -p "$OUT"
log=$OUT/kunit.log
set +e
kunit_py run --timeout="${CTXBUS_TIMEOUT:-1200}" --filter 'speed>slow' "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# "Testing complete. Ran 7 tests: passed: 6, skipped: 1"
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'Testing complete\. Ran [0-9]* tests:.*' | tail -n 1)
count() { grep -o "$1: [0-9]*" <<<"$summary" | grep -o '[0-9]*$' || echo 0; }

if [ -z "$summary" ]; then
	grep -q 'Kernel panic' "$log" &&
		die "the kernel panicked before KUnit reported (log: ${log#"$REPO"/})"
	die "kunit.py reported no results (exit $rc; log: ${log#"$REPO"/})" \
	    "a build error, a kernel that never booted or a timeout: read the log's end"
fi

passed=$(count passed)
failed=$(( $(count failed) + $(count crashed) ))
skipped=$(count skipped)
line="kunit: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line+=", $skipped skipped"
echo "$line"

grep -q 'Kernel panic' "$log" && die "the kernel panicked (log: ${log#"$REPO"/})"
# A test that passes while the kernel warns or dumps its stack has not
# passed, unless it declared the stack dump (see unexpected_splats).
if ! unexpected_splats "$BUILD/test.log" >&2; then
	die "the kernel logged a warning or a stack dump no test declared (log: ${BUILD#"$REPO"/}/test.log)"
fi
[ "$passed" -gt 0 ] || die "no test ran"
[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] || die "KUnit failed (kunit.py exit $rc)"
