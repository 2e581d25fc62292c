#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a debug kernel (the kunitconfig plus context_bus_debug.config:
# KASAN, lockdep, debug objects, delayed kobject release, kmemleak, fault
# injection) in its own build directory, boot it on the KUnit machine with
# the busybox initramfs, which runs the suites through debugfs
# (harness/initramfs/kunit-debug), and print:
#   kunit: N passed, N failed[, N skipped]
#   kasan: N reports
#   lockdep: N reports
#   kmemleak: N leaks
# Fails if any count but "passed" and "skipped" is not zero, if no test
# ran, or on a warning or stack dump no test declared (see
# unexpected_splats in lib.sh).
#
# Argument: a glob of suite names, e.g. 'of_iommu*' (default: all).

source "$(dirname "$0")/lib.sh"

glob=${1:-}
BUILD=$OUT/build-debug
DBGDIR=$OUT/debug
DEBUGCONFIG=tools/testing/kunit/configs/context_bus_debug.config
# Leaks of the base kernel, not of this series, that kmemleak may report.
ALLOW=$REPO/harness/kmemleak-allow.txt
timeout=${CTXBUS_DEBUG_TIMEOUT:-3600}

mkdir -p "$DBGDIR"
say "building the debug kernel in ${BUILD#"$REPO"/} (log: ${DBGDIR#"$REPO"/}/build.log)"
kunit_py build --kunitconfig="$TREE/$DEBUGCONFIG" >"$DBGDIR/build.log" 2>&1 ||
	{ tail -n 30 "$DBGDIR/build.log" >&2; die "debug kernel build failed (log: ${DBGDIR#"$REPO"/}/build.log)"; }

make_initramfs "$DBGDIR"

mapfile -t qemu < <(python3 "$REPO/harness/qemu_cmd.py" "$TREE" "$TREE/$QEMU_CONFIG" "$BUILD")
cmdline=${qemu[-1]#CMDLINE=}
unset 'qemu[-1]'
# The whole kernel log must fit in the ring buffer: it is read back at the end.
cmdline+=" rdinit=/init panic=-1 log_buf_len=16M -- debug $glob"
qemu+=(-initrd "$DBGDIR/initramfs.cpio")

log=$DBGDIR/console.log
boot_qemu "$log" "$cmdline" "$timeout" CTXBUS_DEBUG_TIMEOUT 'context-bus-debug: run complete'
if grep '^context-bus-debug: error:' "$log" >&2; then
	die "the test run in the debug kernel failed (log: ${log#"$REPO"/})"
fi

# Text between "context-bus-debug: $1" and the next "context-bus-debug: end...".
section() {
	awk -v start="context-bus-debug: $1" '
		$0 == start { on = 1; next }
		on && /^context-bus-debug: end of / { on = 0 }
		on' "$log"
}

# One KTAP document of all suites for kunit.py parse: each suite's debugfs
# results are a document "1..1 ... ok 1 <suite>" of their own.
ktap=$DBGDIR/kunit.ktap
awk '
	/^context-bus-debug: results of / { n++; on = 1; head = 2; next }
	/^context-bus-debug: end of results/ { on = 0; next }
	!on { next }
	head > 0 && /^(KTAP version 1|1\.\.1)$/ { head--; next }
	/^(not )?ok 1 / { sub(/ok 1 /, "ok " n " ") }
	{ body = body $0 "\n" }
	END { printf "KTAP version 1\n1..%d\n%s", n, body }' "$log" >"$ktap"
python3 "$TREE/tools/testing/kunit/kunit.py" parse "$ktap" >"$DBGDIR/kunit.log" 2>&1 || true
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$DBGDIR/kunit.log" | grep -o 'Testing complete\. Ran [0-9]* tests:.*' | tail -n 1)
count() { grep -o "$1: [0-9]*" <<<"$summary" | grep -o '[0-9]*$' || echo 0; }
passed=$(count passed)
failed=$(( $(count failed) + $(count crashed) ))
skipped=$(count skipped)

# The kernel log, without timestamps; it must start at boot.
section "kernel log" | sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' >"$DBGDIR/kernel.log"
grep -q 'Booting Linux' "$DBGDIR/kernel.log" ||
	die "the kernel log read back misses its start (log_buf_len too small?)"
kasan=$(grep -c 'BUG: KASAN: ' "$DBGDIR/kernel.log" || true)
# Report headers of kernel/locking/lockdep.c.
lockdep=$(grep -cE '^(WARNING: (possible circular locking dependency|.*-safe -> .*-unsafe lock order|possible recursive locking|chain_key collision|inconsistent lock state|possible irq lock inversion|Nested lock was not taken|bad unlock balance|bad contention|held lock freed|.* still has locks held|lock held when returning to user space|suspicious RCU usage)|BUG: (MAX_[A-Z_]* too low|key [0-9a-f]* has not been registered|looking up invalid subclass)|\[ BUG: Invalid wait context \])' \
	"$DBGDIR/kernel.log" || true)

# kmemleak: one record per "unreferenced object"; a record whose backtrace
# has a function of the allow-list is a known leak of the base kernel.
section "kmemleak report" >"$DBGDIR/kmemleak.txt"
allowed=$(grep -v '^[[:space:]]*\(#\|$\)' "$ALLOW" 2>/dev/null | tr '\n' ' ' || true)
read -r leaks known < <(awk -v allowed="$allowed" '
	BEGIN { n = split(allowed, a, " "); for (i = 1; i <= n; i++) allow[a[i]] = 1 }
	function close_record() { if (rec) { if (ok) known++; else leaks++ } rec = 0; ok = 0 }
	/^unreferenced object/ { close_record(); rec = 1; next }
	rec && /^    [^ ]/ { f = $1; sub(/\+0x.*/, "", f); if (f in allow) ok = 1 }
	END { close_record(); print leaks + 0, known + 0 }' "$DBGDIR/kmemleak.txt")

line="kunit: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line+=", $skipped skipped"
echo "$line"
echo "kasan: $kasan reports"
echo "lockdep: $lockdep reports"
echo "kmemleak: $leaks leaks"
[ "$known" -gt 0 ] && say "kmemleak: $known more leaks of the allow-list (${ALLOW#"$REPO"/})"

[ -n "$summary" ] || die "no KUnit results to parse (${ktap#"$REPO"/}, ${DBGDIR#"$REPO"/}/kunit.log)"
[ "$passed" -gt 0 ] || die "no test ran"
bad=
[ "$failed" -eq 0 ] || bad+=" failed tests,"
[ "$kasan" -eq 0 ] || bad+=" KASAN,"
[ "$lockdep" -eq 0 ] || bad+=" lockdep,"
[ "$leaks" -eq 0 ] || bad+=" kmemleak (${DBGDIR#"$REPO"/}/kmemleak.txt),"
unexpected_splats "$DBGDIR/kernel.log" >&2 || bad+=" warnings or stack dumps no test declared,"
[ -z "$bad" ] || die "the debug run found:${bad%,} (kernel log: ${DBGDIR#"$REPO"/}/kernel.log)" \
		     "decode a trace: scripts/decode_stacktrace.sh ${BUILD#"$REPO"/}/vmlinux < trace (in ${TREE#"$REPO"/})"
