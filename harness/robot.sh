#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make robot`: build and check the series the way the kernel's build
# robots and reviewers do once it is posted, beyond the one configuration
# `make test` runs.  One line per check, then a summary; fails if a check
# fails.  A warning counts against the series only if the pristine base
# does not have it too (per file, as a multiset of messages, line numbers
# left out: harness/robot_warn.py); warnings the base has are shown as
# such.
#
#   x86_64    an x86_64 kernel with Rust, OF, the Intel IOMMU with
#             IOMMU_DMA, the bus, host1x and fastrpc (COMPILE_TEST) and
#             the KUnit suites, built with clang and run under
#             qemu-system-x86_64: the suites that need QEMU's arm64 SMMUv3
#             skip, saying why; none may fail
#   lint      arm64: every object built from a C or Rust file the series
#             adds or touches, with W=1 and CLIPPY=1
#   sparse    arm64: sparse (C=2) on the same C objects
#   cocci     coccicheck MODE=report on the directories of those files
#   kconfig   arm64 corners: the bus off, no IOMMU (so no IOMMU_DMA),
#             RUST=n, the users and the client sample as modules (.ko
#             linked), the users on their platforms without COMPILE_TEST;
#             each configures without unmet dependencies and builds the
#             directories the series touches
#   dt        make dt-binding-check (the bindings the series changes, dtc
#             W=1 on the device trees of make run)
#   module    make run: the C client module (samples/context_bus) loaded,
#             checked and unloaded with its context device alive
#   series    make series and make series-check (each patch built, W=1 on
#             its C files, checkpatch --strict)
#
# `make robot CHECKS="sparse cocci"` runs only those.  Everything is built
# under out/robot/, C through ccache ($CTXBUS_CACHE/ccache), so a second
# run rebuilds little.

source "$(dirname "$0")/lib.sh"

ALL_CHECKS=(x86_64 lint sparse cocci kconfig dt module series)
read -r -a checks <<<"${CHECKS:-${ALL_CHECKS[*]}}"
for c in "${checks[@]}"; do
	[[ " ${ALL_CHECKS[*]} " == *" $c "* ]] || die "no check '$c'" "checks: ${ALL_CHECKS[*]}"
done

bash "$REPO/harness/setup.sh" robot
SPARSE=$(bash "$REPO/harness/fetch.sh" sparse)

ROBOT=$OUT/robot
mkdir -p "$ROBOT"
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache} CCACHE_BASEDIR=$OUT CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
CC_ARGS=("CC=ccache clang$LLVM_SUFFIX" "LLVM=$LLVM_SUFFIX")
WARN=$REPO/harness/robot_warn.py

# ---------------------------------------------------------------------------
# What the series touches

# Upstream files the patches change (that still exist), and the files the
# series adds (the overlay, named in patches/series).
mapfile -t CHANGED < <(sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$REPO"/patches/*.patch |
	sort -u | while read -r f; do [ -f "$TREE/$f" ] && echo "$f"; done)
mapfile -t ADDED < <(awk '/^[ \t]+[^ \t#]/ {print $1}' "$REPO/patches/series")
# Of those, the ones the pristine base has: there a warning may be the base's.
mapfile -t IN_BASE < <(for f in "${CHANGED[@]}"; do
	git -C "$PRISTINE" cat-file -e "base:$f" 2>/dev/null && echo "$f"; done)
printf '%s\n' "${CHANGED[@]}" "${ADDED[@]}" | sort -u >"$ROBOT/touched.txt"
printf '%s\n' "${IN_BASE[@]}" >"$ROBOT/in-base.txt"

# The objects built from the C and Rust files the series adds or touches,
# directly or by #include, as "c obj" or "rust obj" lines: a file's own
# object where the arm64 test build ($BUILD, made by `make test`) has one,
# else every object whose dependency list there names the file
# (fastrpc_kunit.c is included by fastrpc.c, rust/kernel/*.rs make
# rust/kernel.o), else the file's own object all the same (Tegra DRM's,
# which the lint build's config adds).
touched_objects() {
	local f deps=$ROBOT/deps.txt
	grep -rHoF -f <(grep -E '\.(c|rs)$' "$ROBOT/touched.txt" | sed 's|^|/|') \
		--include='.*.o.cmd' "$BUILD" >"$deps" || true
	grep -E '\.(c|rs)$' "$ROBOT/touched.txt" | while read -r f; do
		if [ -f "$BUILD/${f%.*}.o" ]; then
			echo "${f%.*}.o"
		elif grep -q ":/$f\$" "$deps"; then
			grep ":/$f\$" "$deps" | cut -d: -f1 |
				sed -E "s|^$BUILD/||; s|/\.([^/]*)\.o\.cmd\$|/\1.o|; s|^\.([^/]*)\.o\.cmd\$|\1.o|"
		elif [[ $f == *.c ]]; then
			echo "${f%.c}.o"
		fi
	done | sort -u | while read -r o; do
		if [ -f "$TREE/${o%.o}.c" ]; then
			echo "c $o"
		elif [ -f "$TREE/${o%.o}.rs" ] || [ "$o" = rust/kernel.o ]; then
			echo "rust $o"
		fi
	done
}

# The pristine base in out/robot/base-linux (a shared clone of the pristine
# repository), for the warnings the base has itself.
base_tree() {
	local bt=$ROBOT/base-linux
	if ! git -C "$bt" rev-parse -q --verify base >/dev/null 2>&1; then
		rm -rf "$bt"
		git clone -q --shared "$PRISTINE" "$bt"
	fi
	git -C "$bt" checkout -q -f --detach base
	echo "$bt"
}

# arm64 build of tree $1 in $2 with the test config and Tegra DRM (whose
# files the series touches too; only the objects asked for are built),
# then make "${@:3}".
arm64_make() {
	local tree=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	if ! cmp -s "$BUILD/.config" "$dir/.config.test"; then
		rm -f "$dir/.config.test"
		cp "$BUILD/.config" "$dir/.config" || return 1
		"$tree/scripts/config" --file "$dir/.config" -e DRM -e DRM_TEGRA || return 1
		make -s -C "$tree" O="$dir" ARCH=arm64 "${CC_ARGS[@]}" olddefconfig >/dev/null || return 1
		cp "$BUILD/.config" "$dir/.config.test"
	fi
	make -C "$tree" O="$dir" ARCH=arm64 "${CC_ARGS[@]}" -j"$(jobs)" "$@"
}

# Print "warnings N, new N (the base's: N)" for the series' warnings in $1
# against the base's in $2, list the new ones on stderr, fail if any.
judge() {
	local new total nnew
	new=$(python3 "$WARN" new "$1" "$2" "$ROBOT/touched.txt") || { echo "robot_warn.py failed"; return 1; }
	total=$(grep -c . "$1" || true)
	nnew=$(grep -c . <<<"$new" || true)
	echo "warnings $total, new $nnew (the base's: $((total - nnew)))"
	[ "$nnew" = 0 ] || { printf '    %s\n' "$new" >&2; return 1; }
}

# Build objects "${@:4}" of tree $1 in build dir $2 with make arguments $3
# (a word list) and print the log's path.  The objects are built first
# without $3 and then, for the log, again: compiled anew where $3 has
# W=1 or CLIPPY=1 (an object already built prints no warnings), only
# checked where it is C=2.
objects_log() {
	local tree=$1 dir=$2 args=$3 log o
	shift 3
	log=$dir.$(echo "$args" | tr -c 'a-zA-Z0-9=\n' _).log
	arm64_make "$tree" "$dir" W=1 CLIPPY=1 "$@" >"$log" 2>&1 || { echo "$log"; return 1; }
	if [[ $args != *C=2* ]]; then
		for o in "$@"; do rm -f "$dir/$o"; done
	fi
	# shellcheck disable=SC2086 # $args is a list of make arguments
	arm64_make "$tree" "$dir" $args "$@" >"$log" 2>&1 || { echo "$log"; return 1; }
	echo "$log"
}

# The warnings of make arguments $2 on the touched objects of kinds $3
# ("c", "c rust"), saved as out/robot/$1.series, and those of the same
# objects of the pristine base as $1.base where a file the base has warns:
# prints the result line, fails on a new warning.
warnings_check() {
	local name=$1 args=$2 kinds=$3 objs bobjs log blog bt res rc o
	mapfile -t objs < <(touched_objects | awk -v k=" $kinds " 'index(k, " " $1 " ") {print $2}')
	[ ${#objs[@]} -gt 0 ] || { echo "no object of the series"; return 1; }
	log=$(objects_log "$TREE" "$ROBOT/arm64" "$args" "${objs[@]}") ||
		{ grep -E 'error' "$log" | head -n 10 >&2; echo "build failed (${log#"$REPO"/})"; return 1; }
	cp "$log" "$ROBOT/$name.log"
	python3 "$WARN" parse "$log" "$TREE" >"$ROBOT/$name.series" || { echo "robot_warn.py failed"; return 1; }
	: >"$ROBOT/$name.base"
	if awk -F'\t' 'NR == FNR { base[$1]; next } $1 in base { f = 1; exit } END { exit !f }' \
		"$ROBOT/in-base.txt" "$ROBOT/$name.series"; then
		bt=$(base_tree)
		mapfile -t bobjs < <(for o in "${objs[@]}"; do
			[ -f "$bt/${o%.o}.c" ] || [ -f "$bt/${o%.o}.rs" ] || [ "$o" = rust/kernel.o ] &&
				echo "$o"; done)
		# No goal would build the whole base: a warning only new objects
		# show is the series' anyway.
		if [ ${#bobjs[@]} -gt 0 ]; then
			blog=$(objects_log "$bt" "$ROBOT/base-arm64" "$args" "${bobjs[@]}") ||
				{ echo "the base's build failed (${blog#"$REPO"/})"; return 1; }
			python3 "$WARN" parse "$blog" "$bt" >"$ROBOT/$name.base" ||
				{ echo "robot_warn.py failed"; return 1; }
		fi
	fi
	res=$(judge "$ROBOT/$name.series" "$ROBOT/$name.base")
	rc=$?
	echo "${#objs[@]} objects, $args: $res"
	return $rc
}

# ---------------------------------------------------------------------------
# The checks.  Each prints its one-line result on stdout and fails when the
# series breaks it.

check_x86_64() {
	local dir=$ROBOT/x86_64 cfg=$ROBOT/x86_64.config log=$ROBOT/x86_64.log
	# The project's kunitconfig without the arm64 SMMU, with an x86 IOMMU.
	grep -v '^CONFIG_ARM_SMMU_V3=' "$TREE/$KUNITCONFIG" >"$cfg"
	cat >>"$cfg" <<-'EOF'
	CONFIG_PCI=y
	CONFIG_PCI_MSI=y
	CONFIG_ACPI=y
	CONFIG_INTEL_IOMMU=y
	CONFIG_IOMMU_DMA=y
	EOF
	# kunit.py asks QEMU for KVM first; nested KVM (a VM as this machine
	# may be) can hang an x86 guest before its first line. A wrapper
	# first on PATH drops the accelerator options, so QEMU runs TCG, as
	# it does for arm64 anyway.
	local bin=$ROBOT/bin
	mkdir -p "$bin"
	cat >"$bin/qemu-system-x86_64" <<-EOF
	#!/bin/sh
	# Written by harness/robot.sh: qemu-system-x86_64 without -accel.
	skip=
	for a; do
		shift
		if [ -n "\$skip" ]; then skip=; continue; fi
		if [ "\$a" = -accel ]; then skip=1; continue; fi
		set -- "\$@" "\$a"
	done
	exec $(command -v qemu-system-x86_64) -accel tcg "\$@"
	EOF
	chmod 755 "$bin/qemu-system-x86_64"
	PATH="$bin:$PATH" python3 "$TREE/tools/testing/kunit/kunit.py" run --arch=x86_64 --build_dir="$dir" \
		--kunitconfig="$cfg" --make_options="LLVM=$LLVM_SUFFIX" \
		--make_options="CC=ccache clang$LLVM_SUFFIX" --jobs="$(jobs)" \
		--timeout=1200 --filter 'speed>slow' >"$log" 2>&1
	local rc=$? summary
	summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'Testing complete\. Ran [0-9]* tests:.*' | tail -n 1)
	if [ -z "$summary" ]; then
		tail -n 20 "$log" >&2
		echo "no KUnit results (kunit.py exit $rc; log ${log#"$REPO"/})"
		return 1
	fi
	count() { grep -o "$1: [0-9]*" <<<"$summary" | grep -o '[0-9]*$' || echo 0; }
	local p f s
	p=$(count passed) f=$(( $(count failed) + $(count crashed) )) s=$(count skipped)
	# Why the skipped cases skipped (indented: a suite all of whose cases
	# skipped is skipped too, without a reason), a line per reason with
	# its count; the cases that give none are named (a parameterised
	# case whose parameters all skipped, a Rust case its #[cfg] left out).
	sed 's/\x1b\[[0-9;]*m//g' "$dir/test.log" | grep -E '^[[:space:]]+ok [0-9]+ .* # SKIP' |
		sed -E 's/^[[:space:]]+ok [0-9]+ (.*) # SKIP ?(.*)$/\2\t\1/' |
		awk -F'\t' '{ n[$1]++; if ($1 == "") names = names " " $2 }
			END { for (r in n) printf "%5d %s\n", n[r], r == "" ? "(no reason given:" names ")" : r }' |
		sort -rn >"$ROBOT/x86_64.skips"
	echo "kunit: $p passed, $f failed, $s skipped ($(grep -c . "$ROBOT/x86_64.skips") skip reasons in ${ROBOT#"$REPO"/}/x86_64.skips)"
	unexpected_splats "$dir/test.log" >&2 || { echo "  the kernel warned (${dir#"$REPO"/}/test.log)"; return 1; }
	[ "$f" = 0 ] && [ "$p" -gt 0 ] && [ "$rc" = 0 ]
}

check_lint() { warnings_check lint "W=1 CLIPPY=1" "c rust"; }

check_sparse() {
	# Make warns and goes on without sparse if the checker is not valid.
	sh "$TREE/scripts/checker-valid.sh" "$SPARSE" | grep -qx 1 ||
		{ echo "$SPARSE is no sparse the kernel takes"; return 1; }
	warnings_check sparse "W=1 CLIPPY=1 C=2 CHECK=$SPARSE" c || return 1
	# Each object must have been checked.
	local o missed=()
	for o in $(touched_objects | awk '$1 == "c" {print $2}'); do
		grep -qxF "  CHECK   ${o%.o}.c" "$ROBOT/sparse.log" || missed+=("$o")
	done
	[ ${#missed[@]} = 0 ] || { echo "  sparse did not check ${missed[*]}"; return 1; }
}

# coccicheck MODE=report on directory $2 of tree $1, its reports as
# robot_warn.py lines ("path<TAB>warning<TAB>message"), appended to $3.
# With M= the checker runs in the directory itself, so a path is absolute
# or relative to it; a message's own "line N" moves with the code.
cocci_dir() {
	local tree=$1 d=$2 out=$3 log
	log=$out.$(echo "$d" | tr / _).log
	make -C "$tree" O="$ROBOT/cocci-build" ARCH=arm64 coccicheck MODE=report \
		M="$d" J="$(jobs)" >"$log" 2>&1 || { echo "coccicheck failed on $d (${log#"$REPO"/})" >&2; return 1; }
	sed -nE 's#^([^ :]+):[0-9]+:[0-9:-]+: (.*)$#\1\t\2#p' "$log" |
		awk -F'\t' -v t="$tree/" -v d="$d/" '{
			p = $1
			if (index(p, t) == 1) p = substr(p, length(t) + 1)
			else { sub(/^\.\//, "", p); p = d p }
			m = $2; gsub(/line [0-9]+/, "line N", m)
			print p "\twarning\t" m }' >>"$out"
}

check_cocci() {
	local dirs d rc=0 res bdirs
	mapfile -t dirs < <(grep -E '\.(c|h)$' "$ROBOT/touched.txt" | grep -v '^include/' |
		xargs -n1 dirname | sort -u)
	mkdir -p "$ROBOT/cocci-build"
	: >"$ROBOT/cocci.series"
	: >"$ROBOT/cocci.base"
	for d in "${dirs[@]}"; do
		cocci_dir "$TREE" "$d" "$ROBOT/cocci.series" || rc=1
	done
	# The base, only in the directories where a file it has is reported.
	mapfile -t bdirs < <(awk -F'\t' 'NR == FNR { base[$1]; next } $1 in base { print $1 }' \
		"$ROBOT/in-base.txt" "$ROBOT/cocci.series" | xargs -r -n1 dirname | sort -u)
	for d in "${bdirs[@]}"; do
		cocci_dir "$(base_tree)" "$d" "$ROBOT/cocci.base" || rc=1
	done
	res=$(judge "$ROBOT/cocci.series" "$ROBOT/cocci.base") || rc=1
	echo "${#dirs[@]} directories: reports $res"
	return $rc
}

# Link host1x.ko, fastrpc.ko and the client sample in the kconfig build dir
# $1 without building its vmlinux (modpost only warns then), and check
# every symbol they take from elsewhere (llvm-nm -u): each must be one the
# kernel exports (the test build's Module.symvers: the same bus, built in)
# or one the modules export to each other.
link_modules() {
	local dir=$1 kos=(drivers/gpu/host1x/host1x.ko drivers/misc/fastrpc.ko
			  samples/context_bus/context_bus_client.ko) sym missing=0 n=0
	make -C "$TREE" O="$dir" ARCH=arm64 "${CC_ARGS[@]}" KBUILD_MODPOST_WARN=1 \
		"${kos[@]}" >"$dir/modpost.log" 2>&1 || return 1
	cat "$dir/modpost.log"
	for ko in "${kos[@]}"; do [ -f "$dir/$ko" ] || { echo "no $ko"; return 1; }; done
	for sym in $(for ko in "${kos[@]}"; do "llvm-nm$LLVM_SUFFIX" -u "$dir/$ko" | awk '{print $2}'; done | sort -u); do
		n=$((n + 1))
		awk -v s="$sym" '$2 == s { found = 1 } END { exit !found }' \
			"$BUILD/Module.symvers" "$dir/modules-only.symvers" 2>/dev/null ||
			{ echo "not exported by the kernel: $sym"; missing=1; }
	done
	echo "modules: $n symbols taken from the kernel, all exported by it"
	[ $missing = 0 ] && [ $n -gt 0 ]
}

check_kconfig() {
	local name opts want dir log bad=0 lines=() dirs w missing kos
	mapfile -t dirs < <(grep -E '\.(c|rs)$' "$ROBOT/touched.txt" | grep -vE '^(rust|include|tools)/' |
		xargs -n1 dirname | sort -u | sed 's|$|/|')
	# name | scripts/config options applied to the test config | what must result
	while IFS='|' read -r name opts want; do
		dir=$ROBOT/kconfig-$name log=$dir.log
		mkdir -p "$dir"
		cp "$BUILD/.config" "$dir/.config"
		# shellcheck disable=SC2086 # $opts is a list of options
		"$TREE/scripts/config" --file "$dir/.config" $opts
		if ! make -C "$TREE" O="$dir" ARCH=arm64 "${CC_ARGS[@]}" olddefconfig >"$log" 2>&1; then
			lines+=("$name: does not configure"); bad=1; continue
		fi
		if grep -q 'unmet direct dependencies' "$log"; then
			grep -A3 'unmet direct dependencies' "$log" >&2
			lines+=("$name: unmet direct dependencies"); bad=1; continue
		fi
		missing=()
		for w in $want; do
			case $w in
			*=n) ! grep -qE "^${w%=n}=[ym]" "$dir/.config" || missing+=("$w") ;;
			*) grep -qx "$w" "$dir/.config" || missing+=("$w") ;;
			esac
		done
		if [ ${#missing[@]} -gt 0 ]; then
			lines+=("$name: not as wanted: ${missing[*]}"); bad=1; continue
		fi
		if ! make -C "$TREE" O="$dir" ARCH=arm64 "${CC_ARGS[@]}" -j"$(jobs)" \
			"${dirs[@]}" >>"$log" 2>&1; then
			grep -E 'error|Error' "$log" | head -n 10 >&2
			lines+=("$name: build failed (${log#"$REPO"/})"); bad=1; continue
		fi
		if [ "$name" = modules ] && ! link_modules "$dir" >>"$log" 2>&1; then
			lines+=("$name: a module does not link (${log#"$REPO"/})"); bad=1; continue
		fi
		lines+=("$name ok")
	done <<-'EOF'
	bus-off|-d CONTEXT_DEVICE_BUS|CONFIG_RUST=y CONFIG_CONTEXT_DEVICE_BUS=n CONFIG_TEGRA_HOST1X=y CONFIG_QCOM_FASTRPC=y
	no-iommu|-d IOMMU_SUPPORT|CONFIG_IOMMU_DMA=n CONFIG_CONTEXT_DEVICE_BUS=n CONFIG_TEGRA_HOST1X=y CONFIG_QCOM_FASTRPC=y
	rust-n|-d RUST|CONFIG_RUST=n CONFIG_CONTEXT_DEVICE_BUS=n CONFIG_TEGRA_HOST1X=y CONFIG_QCOM_FASTRPC=y
	modules|-m TEGRA_HOST1X -m QCOM_FASTRPC -m SAMPLE_CONTEXT_BUS_CLIENT|CONFIG_CONTEXT_DEVICE_BUS=y CONFIG_TEGRA_HOST1X=m CONFIG_QCOM_FASTRPC=m CONFIG_SAMPLE_CONTEXT_BUS_CLIENT=m
	platforms|-d COMPILE_TEST -e ARCH_TEGRA -e ARCH_QCOM -e DRM -e DRM_TEGRA|CONFIG_COMPILE_TEST=n CONFIG_CONTEXT_DEVICE_BUS=y CONFIG_TEGRA_HOST1X=y CONFIG_QCOM_FASTRPC=y CONFIG_DRM_TEGRA=y
	EOF
	local IFS=,
	echo "${lines[*]} (each builds ${#dirs[@]} directories)" | sed 's/,/, /g'
	return $bad
}

check_dt() {
	local log=$ROBOT/dt.log
	if ! bash "$REPO/harness/dt-check.sh" >"$log" 2>&1; then
		tail -n 5 "$log" >&2
		echo "failed (${log#"$REPO"/})"
		return 1
	fi
	grep -oE '(dt_binding_check|dtc \(W=1 warnings\)): .*' "$log" | sed 's/^dtc (W=1 warnings)/dtc W=1/' |
		paste -sd';' | sed 's/;/; /g'
}

check_module() {
	local log=$ROBOT/run.log line
	bash "$REPO/harness/run.sh" >"$log" 2>&1 || { tail -n 5 "$log" >&2; echo "make run failed (${log#"$REPO"/})"; return 1; }
	line=$(grep -E 'context_bus_client\.ko: ' "$log" | sed 's/^ *//')
	echo "${line:-no line for the module in ${log#"$REPO"/}}"
	[[ "$line" == *": ok: "* ]]
}

check_series() {
	local log=$ROBOT/series.log
	{ python3 "$REPO/harness/series.py" "$REPO" "$PRISTINE" "$OUT/series" &&
	  bash "$REPO/harness/series-check.sh"; } >"$log" 2>&1 ||
		{ grep -E 'FAILED|does not apply|error' "$log" | head -n 10 >&2; echo "failed (${log#"$REPO"/})"; return 1; }
	grep -oE '^series-check: .*' "$log" | sed 's/^series-check: //'
}

# ---------------------------------------------------------------------------

# Every check reads the arm64 test build: make it (incremental when warm).
say "robot: the arm64 test build (kunit.py build)"
kunit_py build >"$ROBOT/build.log" 2>&1 ||
	{ tail -n 20 "$ROBOT/build.log" >&2; die "the arm64 test build failed (log: ${ROBOT#"$REPO"/}/build.log)"; }

results=() failed=0 start=$(date +%s)
for c in "${checks[@]}"; do
	say "robot: $c"
	t0=$(date +%s)
	set +e
	res=$("check_$c")
	rc=$?
	set -e
	t=$(( $(date +%s) - t0 ))
	if [ $rc = 0 ]; then st=ok; else st=FAILED; failed=$((failed + 1)); fi
	results+=("$(printf 'robot: %-8s %-6s %5s s  %s' "$c" "$st" "$t" "$res")")
	echo "${results[-1]}"
done

total=$(( $(date +%s) - start ))
echo
printf '%s\n' "${results[@]}"
echo "robot: ${#checks[@]} checks, $(( ${#checks[@]} - failed )) passed, $failed failed; $((total / 60)) min $((total % 60)) s"
[ $failed = 0 ]
