#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Carry edits of upstream files from the kernel tree back into patches/:
#   patch.sh refresh PATCH [FILES...]  regenerate PATCH (add FILES to it)
#   patch.sh new NAME FILES...         start patches/NAME.patch for FILES

source "$(dirname "$0")/lib.sh"

cmd=${1:-}
shift || true
case "$cmd" in
refresh)
	[ -n "${1:-}" ] || die "say which patch: make refresh-patch PATCH=patches/x.patch"
	python3 "$REPO/harness/sync.py" refresh "$REPO" "$TREE" "$@" ;;
new)
	[ -n "${1:-}" ] || die "name the patch: make new-patch NAME=subsys-change FILES='a.c b.h'"
	python3 "$REPO/harness/sync.py" new "$REPO" "$TREE" "$@" ;;
*)
	die "usage: patch.sh refresh PATCH [FILES...] | new NAME FILES..." ;;
esac
