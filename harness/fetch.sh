#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's linux-source-7.3 and the arm64 busybox-static through a
# private apt configuration (own sources list, lists and cache under
# $CTXBUS_CACHE) that reuses the mirror of the machine's own apt sources,
# then keep the pristine kernel as a git repository with one base commit.
# The machine's apt setup is not touched.
#
# `fetch.sh sparse` instead builds sparse for `make robot` from Debian's
# source package (see build_sparse) and prints the binary's path.

source "$(dirname "$0")/lib.sh"

APTDIR=$CACHE/apt
DEBS=$CACHE/debs

# The first Debian archive mirror of the machine's apt sources (deb822 or
# one-line format); security and third-party archives are skipped.
machine_mirror() {
	local f
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -r "$f" ] || continue
			awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
		done
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -r "$f" ] || continue
			awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /=/ && $i !~ /\]$/) { print $i; break } }' "$f"
		done
	} | grep -E '/debian/?$' | head -n 1 || true
}

private_apt() {
	APT_CONFIG=$APTDIR/apt.conf apt-get -q -o Debug::NoLocking=1 "$@"
}

setup_private_apt() {
	local mirror suite
	mirror=$(machine_mirror)
	[ -n "$mirror" ] ||
		die "no Debian mirror found in the machine's apt sources (/etc/apt/sources.list*)" \
		    "configure one (a URI ending in /debian), then run this again"
	mkdir -p "$APTDIR"/{etc/sources.list.d,etc/preferences.d,lists/partial,cache/archives/partial}
	{
		for suite in $KSUITES; do
			echo "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main"
		done
		echo "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $BBSUITE main"
	} >"$APTDIR/etc/sources.list"
	cat >"$APTDIR/apt.conf" <<-EOF
	Dir::Etc::SourceList "$APTDIR/etc/sources.list";
	Dir::Etc::SourceParts "$APTDIR/etc/sources.list.d";
	Dir::Etc::Preferences "$APTDIR/etc/preferences";
	Dir::Etc::PreferencesParts "$APTDIR/etc/preferences.d";
	Dir::State::Lists "$APTDIR/lists";
	Dir::State::status "/dev/null";
	Dir::Cache "$APTDIR/cache";
	APT::Architecture "amd64";
	APT::Architectures { "amd64"; "arm64"; };
	Acquire::Languages "none";
	APT::Sandbox::User "root";
	EOF
	say "updating the private package lists ($KSUITES, $BBSUITE/arm64)"
	private_apt update >/dev/null ||
		die "apt-get update through the private configuration failed" \
		    "is the machine's mirror reachable? is debian-archive-keyring current?"
}

# Newest version of $KPKG in the private lists that is a $KSERIES.x.
kernel_version() {
	APT_CONFIG=$APTDIR/apt.conf apt-cache madison "$KPKG" 2>/dev/null |
		awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		grep -E "^$KSERIES(\\.[0-9]+)?-" | head -n 1
}

download() {
	local pkg=$1 pattern=$2
	ls "$DEBS"/$pattern >/dev/null 2>&1 && return 0
	[ -f "$APTDIR/apt.conf" ] || setup_private_apt
	mkdir -p "$DEBS"
	say "downloading $pkg"
	(cd "$DEBS" && private_apt download "$pkg" >/dev/null 2>&1) ||
		die "apt-get download $pkg failed" \
		    "the suites searched were: $KSUITES ($BBSUITE for busybox); set CTXBUS_KSUITES to another suite carrying $KPKG"
}

fetch_kernel() {
	local ver
	if ! ls "$DEBS"/"${KPKG}"_*_all.deb >/dev/null 2>&1; then
		setup_private_apt
		ver=$(kernel_version)
		[ -n "$ver" ] ||
			die "no $KPKG ($KSERIES.x) in the suites $KSUITES of the machine's mirror" \
			    "set CTXBUS_KSUITES to a suite that carries it"
		download "$KPKG=$ver" "${KPKG}_*_all.deb"
	fi
}

make_pristine() {
	local deb tmp kv
	[ -d "$PRISTINE" ] && git -C "$PRISTINE" rev-parse -q --verify base >/dev/null && return 0
	deb=$(ls "$DEBS"/"${KPKG}"_*_all.deb | sort -V | tail -n 1)
	tmp=$PRISTINE.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	say "extracting $(basename "$deb") (about a minute)"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards "./usr/src/$KPKG.tar.*" |
		xz -dc -T0 | tar -x -C "$tmp" --strip-components=1 ||
		die "could not extract $deb" "remove it from $DEBS and run again"
	kv=$(make -s -C "$tmp" kernelversion 2>/dev/null)
	case "$kv" in
	"$KSERIES"|"$KSERIES".*) ;;
	*) die "the package $(basename "$deb") carries Linux '$kv', not $KSERIES.x" \
	       "remove it from $DEBS and set CTXBUS_KSUITES to a suite carrying $KSERIES" ;;
	esac
	# Debian appends a packaging block that ignores every top-level path;
	# drop it, or nothing added to the tree would ever show in git.
	awk '/^# Debian packaging/ { exit } { if (held) print prev; prev = $0; held = 1 }
	     END { if (held && prev != "#") print prev }' "$tmp/.gitignore" >"$tmp/.gitignore.new"
	mv "$tmp/.gitignore.new" "$tmp/.gitignore"
	say "recording Linux $kv as the pristine base commit"
	git -C "$tmp" init -q
	git -C "$tmp" add -A
	git -C "$tmp" -c user.name=context-bus -c user.email=context-bus@localhost \
		commit -q -m "Linux $kv (Debian $(basename "$deb" _all.deb | cut -d_ -f2))"
	git -C "$tmp" tag base
	git -C "$tmp" gc -q --auto
	[ "$(git -C "$tmp" ls-files | wc -l)" -gt 50000 ] ||
		die "the base commit holds too few files: is the .gitignore block handled?"
	rm -rf "$PRISTINE"
	mv "$tmp" "$PRISTINE"
}

# The kernel's checker-valid.sh wants a sparse newer than its last release,
# 0.6.4, which is what Debian's stable package is; sid's source package is
# newer, and its binary package needs a newer libc than a stable machine
# has. So build sid's source (a minute) into $CACHE/sparse-<version>/,
# once per version, with a deb-src line of its own in the private lists.
SPARSE_SUITE=${CTXBUS_SPARSE_SUITE:-sid}
build_sparse() {
	local list=$APTDIR/etc/sources.list.d/sparse-src.list ver dir tmp tarball
	[ -f "$APTDIR/apt.conf" ] || setup_private_apt
	if [ ! -f "$list" ]; then
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(machine_mirror) $SPARSE_SUITE main" >"$list"
		say "updating the private package lists (sources of $SPARSE_SUITE, for sparse)"
		private_apt update >/dev/null || { rm -f "$list"; die "apt-get update with the deb-src line failed"; }
	fi
	ver=$(APT_CONFIG=$APTDIR/apt.conf apt-cache showsrc sparse 2>/dev/null |
		sed -n 's/^Version: //p' | sort -V | tail -n 1)
	[ -n "$ver" ] || die "no sparse source package in $SPARSE_SUITE" "set CTXBUS_SPARSE_SUITE"
	dir=$CACHE/sparse-$ver
	if [ ! -x "$dir/sparse" ]; then
		say "building sparse $ver from Debian's source package"
		tmp=$CACHE/sparse-build
		rm -rf "$tmp"
		mkdir -p "$tmp"
		(cd "$tmp" && private_apt source --download-only "sparse=$ver" >/dev/null 2>&1) ||
			die "apt-get source sparse=$ver failed"
		tarball=$(ls "$tmp"/sparse_*.orig.tar.* | head -n 1)
		tar -xf "$tarball" -C "$tmp"
		make -s -C "$tmp"/sparse-*/ -j"$(jobs)" sparse >"$tmp/build.log" 2>&1 ||
			die "building sparse failed" "see $tmp/build.log"
		mkdir -p "$dir"
		install -m 755 "$tmp"/sparse-*/sparse "$dir/sparse"
		rm -rf "$tmp"
	fi
	echo "$dir/sparse"
}

if [ "${1:-}" = sparse ]; then
	build_sparse
	exit 0
fi

fetch_kernel
make_pristine
download busybox-static:arm64 "busybox-static_*_arm64.deb"
say "kernel source: $(git -C "$PRISTINE" log -1 --format=%s base)"
