#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make dt-binding-check`: the kernel's own `make dt_binding_check` on every
# binding the series adds or changes, with dt-schema from PyPI (pinned in
# harness/dtschema-requirements.txt, installed by `setup.sh dt`), and dtc's
# warnings on the device-tree sources of `make run`. Fails on any warning.

source "$(dirname "$0")/lib.sh"

bash "$REPO/harness/setup.sh" dt
DTOUT=$OUT/dt
mkdir -p "$DTOUT"

# The bindings the patches touch, as DT_SCHEMA_FILES wants them.
mapfile -t schemas < <(sed -n 's|^diff --git a/Documentation/devicetree/bindings/\(.*\.yaml\) .*|\1|p' \
	"$REPO"/patches/*.patch | sort -u)
[ ${#schemas[@]} -gt 0 ] || die "no patch touches a binding"

log=$DTOUT/dt_binding_check.log
say "dt_binding_check (dtschema $("$DTSCHEMA_VENV/bin/dt-doc-validate" --version)): ${schemas[*]}"
t0=$(date +%s)
IFS=: files="${schemas[*]}"
if ! PATH="$DTSCHEMA_VENV/bin:$PATH" make -C "$TREE" O="$DTOUT" DT_SCHEMA_FILES="$files" \
	dt_binding_check >"$log" 2>&1; then
	tail -20 "$log" >&2
	die "dt_binding_check failed" "see ${log#"$REPO"/}"
fi
# Schema and example warnings do not fail make: anything but its progress
# lines is one.
warnings=$(grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving) directory|^  [A-Z]+( \[C\])? +' "$log" || true)
if [ -n "$warnings" ]; then
	printf '%s\n' "$warnings" >&2
	die "dt_binding_check: $(printf '%s\n' "$warnings" | wc -l) warning lines" "see ${log#"$REPO"/}"
fi
say "dt_binding_check: ${#schemas[@]} binding(s), 0 warnings, $(($(date +%s) - t0)) s"

# The nodes `make run` adds to QEMU's tree, with a stand-in for its SMMU:
# dtc with the warnings a W=1 kernel build turns on.
dtc=$DTOUT/scripts/dtc/dtc
for f in "$REPO"/harness/run/*.dtsi; do
	src=$DTOUT/$(basename "$f" .dtsi).dts
	{
		printf '/dts-v1/;\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n'
		printf '\tsmmu: iommu@9050000 {\n\t\tcompatible = "arm,smmu-v3";\n'
		printf '\t\treg = <0x0 0x9050000 0x0 0x20000>;\n\t\t#iommu-cells = <1>;\n\t};\n};\n'
		cat "$f"
	} >"$src"
	# scripts/Makefile.dtbs: what W=1 stops disabling, and what it adds.
	out=$("$dtc" -I dts -O dtb -o /dev/null -Wno-unique_unit_address \
		-Wunit_address_vs_reg -Wavoid_unnecessary_addr_size -Walias_paths \
		-Winterrupt_map -Wsimple_bus_reg -Wunique_unit_address_if_enabled \
		"$src" 2>&1) ||
		die "dtc failed on ${f#"$REPO"/}" "$out"
	[ -z "$out" ] || die "dtc warns on ${f#"$REPO"/}" "$out"
	say "dtc (W=1 warnings): ${f#"$REPO"/}: 0 warnings"
done
