#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the KUnit kernel on the KUnit machine, QEMU virt + SMMUv3, whose
# device tree gains two iris VPU stubs and a node for the C client module
# (samples/context_bus), with a busybox initramfs that prints the context
# devices, loads and unloads that module, prints the IOMMU groups and
# powers off.  Of the tests only rust_iris_vpu_stub_dma runs, at boot: real DMA through the banks of a
# third stub, which the report shows too (it taints the kernel as tested,
# and leaves the edu devices taken).  "--shell" opens an interactive shell
# instead of powering off.

source "$(dirname "$0")/lib.sh"

shell=0
[ "${1:-}" = --shell ] && shell=1

say "building the kernel (kunit.py build)"
kunit_py build >"$OUT/build.log" 2>&1 ||
	{ tail -n 30 "$OUT/build.log" >&2; die "kernel build failed (log: ${OUT#"$REPO"/}/build.log)"; }

make_initramfs "$RUNDIR"

mapfile -t qemu < <(python3 "$REPO/harness/qemu_cmd.py" "$TREE" "$TREE/$QEMU_CONFIG" "$BUILD")
cmdline=${qemu[-1]#CMDLINE=}
unset 'qemu[-1]'
# Of the tests, only the DMA demonstration runs, at boot: bin/report shows it,
# and the SMMU's fault reports (errors) stay off the console.
cmdline+=" kunit.filter_glob=rust_iris_vpu_stub_dma rdinit=/init panic=-1"
cmdline+=" quiet loglevel=3"

# Device tree: QEMU's own tree of this machine, with the SMMUv3 labelled
# "smmu", plus the fragment of VPU stubs, compiled with the kernel's dtc.
dtc=$BUILD/scripts/dtc/dtc
[ -x "$dtc" ] || die "no dtc in ${BUILD#"$REPO"/}/scripts/dtc" "is CONFIG_DTC set? run 'make build'"
"${qemu[@]}" -machine dumpdtb="$RUNDIR/virt.dtb" >/dev/null 2>&1 ||
	die "QEMU could not dump the device tree of its machine"
"$dtc" -q -I dtb -O dts -o "$RUNDIR/virt.dts" "$RUNDIR/virt.dtb"
grep -q 'smmuv3@[0-9a-f]* {' "$RUNDIR/virt.dts" ||
	die "QEMU's machine tree has no SMMUv3 node" "check -machine iommu=smmuv3 in $QEMU_CONFIG"
{
	sed -E 's/^([[:space:]]*)(smmuv3@[0-9a-f]+ \{)/\1smmu: \2/' "$RUNDIR/virt.dts"
	cat "$REPO"/harness/run/*.dtsi
} >"$RUNDIR/run.dts"
"$dtc" -q -I dts -O dtb -o "$RUNDIR/run.dtb" "$RUNDIR/run.dts" ||
	die "dtc failed on the run device tree (${RUNDIR#"$REPO"/}/run.dts)"
qemu+=(-initrd "$RUNDIR/initramfs.cpio" -dtb "$RUNDIR/run.dtb")

if [ $shell = 1 ]; then
	say "booting; an interactive shell follows (leave with 'poweroff -f' or Ctrl-A X)"
	exec "${qemu[@]}" -append "$cmdline -- shell"
fi

boot_qemu "$RUNDIR/console.log" "$cmdline" "${CTXBUS_RUN_TIMEOUT:-300}" CTXBUS_RUN_TIMEOUT \
	'context-bus: run complete'
