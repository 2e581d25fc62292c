#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make series-check`: take out/series/ (written by `make series`) as a
# maintainer would.  In a scratch clone of the pristine kernel, git am
# each patch in turn and after each one
#   - run scripts/checkpatch.pl --strict on it,
#   - build the kernel with the test config (the .config kunit.py makes
#     for `make test`) and CONFIG_WERROR=y, which makes warnings errors in
#     C and, through -Dwarnings, in Rust,
#   - build the objects of the C files the patch adds or changes again
#     with W=1, warnings errors as well.
# The builds share one build directory, so each one after the first is
# incremental; compiles go through ccache (cache in $CTXBUS_CACHE/ccache).
# At the end compare the applied tree with out/linux (what `make test`
# builds), and put the Cc list of scripts/get_maintainer.pl into the cover
# letter.  Prints one line per patch, and fails if any patch does not
# apply, build or pass checkpatch, or if the trees differ.
#
# CTXBUS_SERIES_NOBUILD=1 skips the builds (a quick check of the rest).

source "$(dirname "$0")/lib.sh"

SERIES=$OUT/series
CHECK=$OUT/series-check
ST=$CHECK/linux
SB=$CHECK/build
LOGS=$CHECK/logs
MAKE_ARGS=(ARCH=arm64 "LLVM=$LLVM_SUFFIX" O="$SB")

patches=()
for p in "$SERIES"/[0-9][0-9][0-9][0-9]-*.patch; do
	[ -e "$p" ] || continue
	case "$(basename "$p")" in 0000-*) continue ;; esac
	patches+=("$p")
done
[ ${#patches[@]} -gt 0 ] || die "no patches in ${SERIES#"$REPO"/}" "run 'make series' first"
[ -f "$SERIES/0000-cover-letter.patch" ] || die "no cover letter in ${SERIES#"$REPO"/}" "run 'make series' first"

# The test config: the .config kunit.py makes from the kunitconfig and the
# QEMU config, without building anything if `make test` has not run yet.
if [ ! -f "$BUILD/.config" ]; then
	say "making the test config (kunit.py config)"
	kunit_py config >/dev/null
fi
[ -f "$BUILD/.config" ] || die "kunit.py made no ${BUILD#"$REPO"/}/.config"
mkdir -p "$CHECK" "$LOGS"
{ cat "$BUILD/.config"; echo 'CONFIG_WERROR=y'; } >"$CHECK/test.config"

if [ -z "${CTXBUS_SERIES_NOBUILD:-}" ]; then
	command -v ccache >/dev/null || die "ccache is not installed" "run 'make setup' (as root)"
	export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache} CCACHE_BASEDIR=$OUT CCACHE_NOHASHDIR=1
	export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
	MAKE_ARGS+=("CC=ccache clang$LLVM_SUFFIX")
fi

# The scratch tree: cloned once, then put back to the pristine base (only
# the files the series touched are rewritten, so builds stay incremental).
if ! git -C "$ST" rev-parse -q --verify base >/dev/null 2>&1; then
	say "cloning the pristine kernel into ${ST#"$REPO"/}"
	rm -rf "$ST"
	git clone -q --shared "$PRISTINE" "$ST"
fi
git -C "$ST" am --abort >/dev/null 2>&1 || true
git -C "$ST" checkout -q -f --detach base
git -C "$ST" clean -fdxq
name=$(git -C "$REPO" config user.name) email=$(git -C "$REPO" config user.email)
git -C "$ST" config user.name "$name"
git -C "$ST" config user.email "$email"

# checkpatch --strict must be clean.  Its "added, moved or deleted
# file(s), does MAINTAINERS need updating?" is a question; when the patch
# leaves MAINTAINERS alone it is answered here, and not counted, if every
# file the patch adds is covered by a MAINTAINERS section other than THE
# REST, and no F: line names a file it deletes.
checkpatch() {
	local patch=$1 log=$2 f how sections answered=1 ignore=()
	if ! grep -q '^diff --git a/MAINTAINERS ' "$patch"; then
		while read -r how f; do
			if [ "$how" = deleted ]; then
				if grep -qE "^F:[[:space:]]+$f\$" "$ST/MAINTAINERS"; then
					answered=0
					echo "$f: deleted, still named in MAINTAINERS" >>"$log.maintainers"
				fi
				continue
			fi
			sections=$(cd "$ST" && ./scripts/get_maintainer.pl --no-git --no-git-fallback \
				--sections -f "$f" 2>/dev/null | grep -E '^[A-Z0-9][^:]' | grep -v '^THE REST$' || true)
			[ -n "$sections" ] || answered=0
			echo "$f: added, covered by: $(echo "$sections" | paste -sd, -)" >>"$log.maintainers"
		done < <(awk '/^diff --git /{f=$4; sub(/^b\//, "", f)} /^(new|deleted) file mode/{print $1, f}' "$patch")
		[ $answered = 1 ] && ignore=(--ignore FILE_PATH_CHANGES)
	fi
	(cd "$ST" && with_deb_python ./scripts/checkpatch.pl --strict --show-types "${ignore[@]}" "$patch") >"$log" 2>&1 &&
		! grep -q '^Traceback' "$log"
}

# Build the objects of the C files patch $1 adds or changes once more with
# W=1 (warnings are errors here too, kernel-doc's through KDOC_WERROR),
# appending to log $2; sets w1_count.
w1_objects() {
	local patch=$1 log=$2 f objs=()
	for f in $(sed -n 's|^diff --git a/[^ ]* b/\([^ ]*\.c\)$|\1|p' "$patch"); do
		[ -f "$ST/$f" ] && [ -f "$SB/${f%.c}.o" ] && objs+=("${f%.c}.o")
	done
	w1_count=${#objs[@]}
	[ ${#objs[@]} -gt 0 ] || return 0
	rm -f "${objs[@]/#/$SB/}"
	KDOC_WERROR=1 make -C "$ST" "${MAKE_ARGS[@]}" W=1 -j"$(jobs)" "${objs[@]}" >>"$log" 2>&1
}

start=$(date +%s)
fail=0 built_ok=1 n=0
lines=()
for p in "${patches[@]}"; do
	n=$((n + 1))
	num=$(printf '%04d' "$n")
	subject=$(awk '/^Subject: /{s = $0; getline; while (/^ /) {s = s $0; getline}
		sub(/^Subject: \[PATCH[^]]*\] /, "", s); print s; exit}' "$p")
	nfiles=$(grep -c '^diff --git ' "$p")
	rm -f "$LOGS/$num".*
	if ! git -C "$ST" am -q --keep-cr "$p" >"$LOGS/$num.am.log" 2>&1; then
		lines+=("$num $subject: does not apply (${LOGS#"$REPO"/}/$num.am.log)")
		echo "${lines[-1]}"
		fail=1
		git -C "$ST" am --abort >/dev/null 2>&1 || true
		break
	fi
	if checkpatch "$p" "$LOGS/$num.checkpatch.log"; then
		cp_res="checkpatch ok"
	else
		cp_res="checkpatch FAILED ($(grep -o '^total: .*' "$LOGS/$num.checkpatch.log" | head -n 1); ${LOGS#"$REPO"/}/$num.checkpatch.log)"
		fail=1
	fi
	if [ -n "${CTXBUS_SERIES_NOBUILD:-}" ]; then
		b_res="build skipped"
	elif [ $built_ok = 0 ]; then
		b_res="not built (an earlier patch failed to build)"
	else
		t0=$(date +%s)
		cp "$CHECK/test.config" "$SB/.config" 2>/dev/null ||
			{ mkdir -p "$SB"; cp "$CHECK/test.config" "$SB/.config"; }
		if make -s -C "$ST" "${MAKE_ARGS[@]}" olddefconfig >"$LOGS/$num.build.log" 2>&1 &&
		   make -C "$ST" "${MAKE_ARGS[@]}" -j"$(jobs)" all >>"$LOGS/$num.build.log" 2>&1 &&
		   w1_objects "$p" "$LOGS/$num.build.log"; then
			b_res="builds ok ($(( $(date +%s) - t0 )) s, W=1 on $w1_count C objects)"
		else
			b_res="build FAILED (${LOGS#"$REPO"/}/$num.build.log)"
			grep -E 'error:|warning:|Error [0-9]' "$LOGS/$num.build.log" | head -n 20 >&2 || true
			built_ok=0 fail=1
		fi
	fi
	lines+=("$num $subject: $b_res / $cp_res / $nfiles files")
	echo "${lines[-1]}"
done
applied=$n

# The applied series must be the tree `make test` builds: out/linux, as
# `make tree` (sync.py) left it, build files aside (kbuild writes to O=).
if [ $fail = 0 ] || [ "$applied" = ${#patches[@]} ]; then
	head=$(git -C "$ST" rev-parse HEAD)
	git -C "$TREE" fetch -q "$ST" "$head"
	idx=$TREE/.git/ctxbus-series-check-index
	cp "$TREE/.git/index" "$idx"
	GIT_INDEX_FILE=$idx git -C "$TREE" add -A
	stat=$(GIT_INDEX_FILE=$idx git -C "$TREE" diff --cached --stat "$head")
	rm -f "$idx"
	if [ -n "$stat" ]; then
		echo "tree: the applied series differs from ${TREE#"$REPO"/} (git diff --stat):"
		echo "$stat"
		fail=1
	else
		echo "tree: the applied series equals ${TREE#"$REPO"/} ($(git -C "$ST" diff --shortstat base HEAD | sed 's/^ //'))"
	fi
fi

# The Cc list of the cover letter, from get_maintainer.pl on every patch.
cover=$SERIES/0000-cover-letter.patch
cc=$(cd "$ST" && ./scripts/get_maintainer.pl --no-git --no-git-fallback --norolestats \
	"${patches[@]}" 2>/dev/null | grep -vF "<$email>" | sort -u) || true
if [ -n "$cc" ]; then
	awk -v cc="$cc" '
		BEGIN { n = split(cc, a, "\n") }
		!done && /^Cc: / { next }
		!done && /^Subject: / { subj = 1; print; next }
		!done && subj && /^ / { print; next }
		!done && subj { for (i = 1; i <= n; i++) print "Cc: " a[i]; done = 1 }
		{ subj = 0; print }' "$cover" >"$cover.new"
	mv "$cover.new" "$cover"
	echo "cover letter: $(echo "$cc" | wc -l) Cc: lines from get_maintainer.pl"
fi

mins=$(( ($(date +%s) - start) / 60 )) secs=$(( ($(date +%s) - start) % 60 ))
[ $fail = 0 ] || die "series-check failed (logs in ${LOGS#"$REPO"/}/)"
echo "series-check: ${#patches[@]} patches apply, build and pass checkpatch --strict; ${mins} min ${secs} s"
