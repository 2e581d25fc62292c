# SPDX-License-Identifier: GPL-2.0
# Shared settings and helpers of the harness scripts; sourced, not run.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Kernel series this project targets, and the Debian package that carries it.
KSERIES=7.3
KPKG=linux-source-$KSERIES
# Suites searched (in order) for the kernel source, on the machine's mirror.
KSUITES=${CTXBUS_KSUITES:-"trixie-backports sid"}
# Suite of the machine's own release, for the arm64 busybox of `make run`.
BBSUITE=${CTXBUS_BBSUITE:-bookworm}

# Downloads and the pristine kernel repository live outside the checkout.
CACHE=${CTXBUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/context-bus}
# Build output: the patched tree, the kbuild output, the initramfs.
OUT=${CTXBUS_OUT:-$REPO/out}
TREE=$OUT/linux
BUILD=$OUT/build
RUNDIR=$OUT/run
DTSCHEMA_VENV=$OUT/dtschema
PRISTINE=$CACHE/linux-$KSERIES.git

LLVM_SUFFIX=-19
QEMU_CONFIG=tools/testing/kunit/qemu_configs/arm64_smmuv3.py
KUNITCONFIG=tools/testing/kunit/configs/context_bus.config

export PATH="$HOME/.cargo/bin:$PATH"
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm${LLVM_SUFFIX}/lib}

# Python modules from Debian packages (ply and GitPython for checkpatch's
# SPDX check, Sphinx for htmldocs) are there for Debian's python3, which
# another python3 first on PATH (pyenv, a venv) would not see.
DEB_PYTHON3=/usr/bin/python3

# Run "$@" with Debian's python3 as the python3 on PATH.
with_deb_python() {
	local bin=$OUT/deb-python-bin
	mkdir -p "$bin"
	ln -sfn "$DEB_PYTHON3" "$bin/python3"
	PATH="$bin:$PATH" "$@"
}

say() { printf '==> %s\n' "$*" >&2; }

die() {
	printf '\nerror: %s\n' "$1" >&2
	[ $# -gt 1 ] && printf '       %s\n' "${@:2}" >&2
	exit 1
}

jobs() { nproc 2>/dev/null || echo 2; }

# kunit.py with the options every harness step shares.
kunit_py() {
	local cmd=$1
	shift
	python3 "$TREE/tools/testing/kunit/kunit.py" "$cmd" \
		--build_dir="$BUILD" \
		--qemu_config="$TREE/$QEMU_CONFIG" \
		--kunitconfig="$TREE/$KUNITCONFIG" \
		--make_options="LLVM=$LLVM_SUFFIX" \
		--jobs="$(jobs)" "$@"
}

# Boot "${qemu[@]}" (the caller's array) with kernel command line $2 and
# the console copied to $1, for $3 seconds at most ($4 names the variable
# that raises it); fail on a time-out, a panic, or unless the console shows
# the line $5 that the initramfs prints when it is done.
boot_qemu() {
	local log=$1 cmdline=$2 timeout=$3 knob=$4 done=$5 rc
	say "booting $(basename "$BUILD")/arch/arm64/boot/Image.gz under ${qemu[0]} ($timeout s at most)"
	set +e
	timeout "$timeout" "${qemu[@]}" -append "$cmdline" </dev/null 2>&1 |
		tr -d '\r' | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" != 124 ] || die "QEMU timed out after $timeout s (log: ${log#"$REPO"/})" \
				"raise $knob, or read the log for a hang"
	! grep -q 'Kernel panic' "$log" || die "the kernel panicked (log: ${log#"$REPO"/})"
	grep -q "^$done" "$log" ||
		die "the run in QEMU did not finish (QEMU exit $rc; log: ${log#"$REPO"/})"
}

# The busybox initramfs of `make run` and `make test-debug`, written to
# $1/initramfs.cpio: busybox from Debian's arm64 busybox-static, the
# scripts of harness/initramfs/ and the sample module of samples/context_bus.
make_initramfs() {
	local dir=$1 deb root
	deb=$(ls "$CACHE"/debs/busybox-static_*_arm64.deb 2>/dev/null | tail -n 1)
	[ -n "$deb" ] || die "no arm64 busybox-static in $CACHE/debs" "run 'make fetch'"
	root=$dir/root
	rm -rf "$root"
	mkdir -p "$root"/{bin,proc,sys,dev}
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./bin/busybox >"$root/bin/busybox"
	chmod 755 "$root/bin/busybox"
	install -m 755 "$REPO"/harness/initramfs/init "$root/init"
	install -m 755 "$REPO"/harness/initramfs/report "$root/bin/report"
	install -m 755 "$REPO"/harness/initramfs/kunit-debug "$root/bin/kunit-debug"
	# The C client module of the exported API, where the config builds it.
	if [ -f "$BUILD/samples/context_bus/context_bus_client.ko" ]; then
		mkdir -p "$root/lib/modules"
		install -m 644 "$BUILD/samples/context_bus/context_bus_client.ko" "$root/lib/modules/"
	fi
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$dir/initramfs.cpio"
}

# Print the kernel splats of the console log $1 that no test declared, and
# fail if there is any: a WARN or BUG banner, an Oops, or a stack dump
# ("Call trace:", which dump_stack() prints too).  A test that dumps the
# stack on purpose brackets it with two lines (kunit_expect_stack_dump()
# of <kunit/expect_stack_dump.h> prints them):
#   context-bus-kunit: expect stack dump: <test>: <reason>
#   context-bus-kunit: end of expected stack dump
# Between them "Call trace:", "WARNING:" and "cut here" are excused;
# "BUG:" (KASAN among them) and "Internal error:" never are.  A begin
# marker without its end fails too.  Prints each line found with its line
# number, and the first frames of a stack dump.
unexpected_splats() {
	sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
		/context-bus-kunit: expect stack dump: / {
			if (open) { print "nested expected stack dump: " $0; bad = 1 }
			open = NR; next
		}
		/context-bus-kunit: end of expected stack dump/ {
			if (!open) { print "end marker without a begin: " $0; bad = 1 }
			open = 0; next
		}
		frames > 0 { print; frames--; next }
		/BUG: |Internal error: / { print NR ": " $0; bad = 1; next }
		/WARNING: |cut here \]/ { if (!open) { print NR ": " $0; bad = 1 }; next }
		/Call trace:/ { if (!open) { print NR ": " $0; bad = 1; frames = 6 }; next }
		END {
			if (open) { print "expected stack dump of line " open " never ended"; bad = 1 }
			exit bad
		}'
}
