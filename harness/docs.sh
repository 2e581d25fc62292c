#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make docs`: the documentation of the series, as the kernel builds it.
#   - htmldocs of Documentation/driver-api (SPHINXDIRS, $CTXBUS_SPHINXDIRS
#     to change it) into out/docs, with Sphinx from Debian packages
#     (setup.sh docs installs them);
#   - the ABI file and the kernel-doc of the C header checked on their own;
#   - rustdoc of the kernel crate (rust/kernel/context_bus.rs,
#     rust/kernel/initcall.rs) in the build directory of `make test`.
# Fails on any warning that names a file of the series, and on any warning
# of the context-bus page; prints the warning counts and where the HTML is.

source "$(dirname "$0")/lib.sh"

if [ -n "${CTXBUS_DOCS_PNG:-}" ]; then
	bash "$REPO/harness/setup.sh" docs-png
else
	bash "$REPO/harness/setup.sh" docs
fi

DOCS=$OUT/docs
SPHINXDIRS=${CTXBUS_SPHINXDIRS:-driver-api}
mkdir -p "$DOCS"
ours='context[-_]bus|sysfs-bus-context-device|rust/kernel/initcall\.rs|iommu-kunit|expect_stack_dump'
fail=0

# Sphinx warnings: "file:line: WARNING: ..." or "... ERROR ...".
count_warnings() { grep -cE 'WARNING|ERROR|[Ww]arning:' "$1" || true; }

# Sphinx reads again only what changed since the last build in out/docs:
# make it read the page of the series every time (rm -rf out/docs to have
# every page read again and counted).
[ -d "$DOCS/Documentation" ] && fresh="changed pages and context-bus.rst" || fresh="every page"
touch "$TREE/Documentation/driver-api/context-bus.rst"
say "htmldocs (SPHINXDIRS=$SPHINXDIRS) into ${DOCS#"$REPO"/}, reading $fresh"
log=$DOCS/htmldocs.log
t0=$(date +%s)
if ! with_deb_python make -C "$TREE" O="$DOCS" SPHINXDIRS="$SPHINXDIRS" \
	PYTHON3="$DEB_PYTHON3" htmldocs >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "make htmldocs failed (log: ${log#"$REPO"/})"
fi
html_s=$(( $(date +%s) - t0 ))
html_all=$(count_warnings "$log")
html_ours=$(grep -E 'WARNING|ERROR|[Ww]arning:' "$log" | grep -cE "$ours" || true)
page=$(find "$DOCS/Documentation/output" -name context-bus.html | head -n 1)
[ -n "$page" ] || die "htmldocs made no context-bus.html (log: ${log#"$REPO"/})"
if [ "$html_ours" != 0 ]; then
	grep -E 'WARNING|ERROR|[Ww]arning:' "$log" | grep -E "$ours" >&2
	fail=1
fi
# Sphinx marks what it could not render in the page itself.
bad_html=$(grep -cE 'class="problematic"|class="system-message"' "$page" || true)
[ "$bad_html" = 0 ] || fail=1

# The kernel-doc of the C API, as htmldocs reads it, with every -W check.
kdoc_log=$DOCS/kernel-doc.log
(cd "$TREE" && with_deb_python ./scripts/kernel-doc -none -Wall include/linux/context_bus.h \
	include/kunit/context_bus.h include/kunit/iommu.h include/kunit/expect_stack_dump.h) \
	>"$kdoc_log" 2>&1 || true
kdoc=$(grep -ciE 'warning|error' "$kdoc_log" || true)
[ "$kdoc" = 0 ] || { cat "$kdoc_log" >&2; fail=1; }

# The ABI file, as the ABI book of the admin guide parses it.
abi_log=$DOCS/abi.log
(cd "$TREE" && with_deb_python ./scripts/get_abi.py --dir Documentation/ABI/testing \
	validate) >"$abi_log" 2>&1 || true
abi=$(grep -E 'WARNING|ERROR|[Ww]arning' "$abi_log" | grep -cE "$ours" || true)
[ "$abi" = 0 ] || { grep -E "$ours" "$abi_log" >&2; fail=1; }

say "rustdoc (in ${BUILD#"$REPO"/}, the configuration of make test)"
[ -f "$BUILD/.config" ] || kunit_py config >/dev/null
rlog=$DOCS/rustdoc.log
t0=$(date +%s)
if ! make -C "$TREE" O="$BUILD" ARCH=arm64 "LLVM=$LLVM_SUFFIX" -j"$(jobs)" rustdoc >"$rlog" 2>&1; then
	tail -n 30 "$rlog" >&2
	die "make rustdoc failed (log: ${rlog#"$REPO"/})"
fi
rust_s=$(( $(date +%s) - t0 ))
rust_all=$(grep -E '^(warning|error)' "$rlog" | grep -cvE '(warning|error)s? emitted' || true)
# A rustdoc warning names its file on a " --> path:line:col" line below it.
rust_ours=$(grep -E '^ *--> ' "$rlog" | grep -cE 'rust/kernel/(context_bus|initcall)\.rs' || true)
[ "$rust_ours" = 0 ] || { grep -B3 -A8 -E 'rust/kernel/(context_bus|initcall)\.rs' "$rlog" >&2; fail=1; }
rdoc=$BUILD/Documentation/output/rust/rustdoc/kernel/context_bus/index.html

png=
if [ -n "${CTXBUS_DOCS_PNG:-}" ]; then
	png=$DOCS/context-bus.png
	say "rendering the page with headless chromium into ${png#"$REPO"/}"
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size=1100,16000 --screenshot="$png" "file://$page" >"$DOCS/chromium.log" 2>&1 ||
		die "chromium could not render the page (log: ${DOCS#"$REPO"/}/chromium.log)"
fi

echo "htmldocs ($SPHINXDIRS, ${html_s} s, read: $fresh): $html_all warnings in all, $html_ours about the series, $bad_html problems on the page"
echo "kernel-doc -Wall of the headers: $kdoc warnings; ABI file: $abi warnings"
echo "rustdoc (${rust_s} s): $rust_all warnings in all, $rust_ours in rust/kernel/context_bus.rs and initcall.rs"
echo "HTML: $page"
echo "      $rdoc"
[ -z "$png" ] || echo "PNG:  $png"
[ $fail = 0 ] || die "the documentation of the series has warnings (logs in ${DOCS#"$REPO"/}/)"
