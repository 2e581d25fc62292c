#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Make $OUT/linux: a clone of the pristine kernel (once), brought to
# base + patches + overlay by sync.py, which writes only changed files.

source "$(dirname "$0")/lib.sh"

git -C "$PRISTINE" rev-parse -q --verify base >/dev/null 2>&1 ||
	die "no pristine kernel in $PRISTINE" "run 'make fetch' first"

if ! git -C "$TREE" rev-parse -q --verify base >/dev/null 2>&1; then
	say "checking out the pristine kernel into ${TREE#"$REPO"/}"
	rm -rf "$TREE.tmp"
	mkdir -p "$OUT"
	git clone -q "$PRISTINE" "$TREE.tmp"
	rm -rf "$TREE"
	mv "$TREE.tmp" "$TREE"
fi

python3 "$REPO/harness/sync.py" sync "$REPO" "$TREE"
