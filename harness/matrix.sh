#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Kconfig combinations the users of the bus must survive, each in
# its own build directory (out/build-<name>), without running anything:
#   rust-m   Rust on, host1x and fastrpc as modules (they link the exported C API)
#   no-rust  Rust off: no bus; host1x builds without it, fastrpc against the
#            stubs of <linux/context_bus.h> (COMPILE_TEST)
# The Rust-on, built-in combination is the one `make test` builds and runs.

source "$(dirname "$0")/lib.sh"

variant() {
	local name=$1 sed_expr=$2 extra=$3
	local dir=$OUT/build-$name cfg=$OUT/matrix-$name.config
	sed -E "$sed_expr" "$TREE/$KUNITCONFIG" >"$cfg"
	printf '%s\n' "$extra" >>"$cfg"
	say "matrix: $name (log: ${dir#"$REPO"/}.log)"
	python3 "$TREE/tools/testing/kunit/kunit.py" build --build_dir="$dir" \
		--qemu_config="$TREE/$QEMU_CONFIG" --kunitconfig="$cfg" \
		--make_options="LLVM=$LLVM_SUFFIX" --jobs="$(jobs)" >"$dir.log" 2>&1 ||
		{ tail -n 20 "$dir.log" >&2; die "matrix: $name does not build"; }
	grep -E '^CONFIG_(RUST|CONTEXT_DEVICE_BUS|TEGRA_HOST1X|QCOM_FASTRPC|MODULES)=' \
		"$dir/.config" | tr '\n' ' ' >&2
	echo >&2
}

variant rust-m 's/^CONFIG_(TEGRA_HOST1X|QCOM_FASTRPC)=y$/CONFIG_\1=m/' "CONFIG_MODULES=y"
for ko in drivers/gpu/host1x/host1x.ko drivers/misc/fastrpc.ko; do
	[ -f "$OUT/build-rust-m/$ko" ] || die "matrix: rust-m built no $ko"
done
say "matrix: rust-m linked host1x.ko and fastrpc.ko against the exported API"

variant no-rust '/RUST|CONTEXT_DEVICE_BUS|SAMPLE|KUNIT_TEST=y/d' "# CONFIG_RUST is not set"
grep -q '^CONFIG_CONTEXT_DEVICE_BUS=y' "$OUT/build-no-rust/.config" &&
	die "matrix: no-rust has the bus"
say "matrix: all combinations build"
