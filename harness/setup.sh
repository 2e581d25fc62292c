#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the host tools the build needs, from packages only: Debian
# packages, bindgen-cli from crates.io, rust-src through rustup.  Does
# nothing (and says so) when everything is already there.
#
#   setup.sh         what make run/test/bench/series-check need (ccache for
#                    the per-patch builds, ply and GitPython for the SPDX
#                    check of checkpatch.pl)
#   setup.sh docs    also what make docs needs (Sphinx for htmldocs)
#   setup.sh docs-png  and a headless browser (CTXBUS_DOCS_PNG=1 make docs)
#   setup.sh dt      also dt-schema from PyPI, pinned, in a venv under out/
#                    (make dt-binding-check)
#   setup.sh robot   also what make robot needs: qemu-system-x86 for the
#                    x86_64 run, coccinelle, and dt-schema as for dt (sparse
#                    is built from Debian's source package: fetch.sh sparse)

source "$(dirname "$0")/lib.sh"

DEB_PKGS=(clang-19 lld-19 llvm-19 libclang-19-dev qemu-system-arm
	  flex bison bc libelf-dev libssl-dev cpio kmod xz-utils
	  make git python3 perl
	  ccache python3-ply python3-git)
# `make docs`: Sphinx and what the kernel's htmldocs needs (see
# Documentation/sphinx/requirements.txt and scripts/sphinx-pre-install).
DOC_PKGS=(python3-sphinx python3-sphinx-rtd-theme python3-docutils
	  python3-jinja2 python3-yaml graphviz)
# `CTXBUS_DOCS_PNG=1 make docs`: a headless browser to render the page.
VIEW_PKGS=(chromium fonts-dejavu-core)
# `make dt-binding-check`: Debian's python3 with venv, for dt-schema.
DT_PKGS=(python3-venv)
# `make robot`: the other architecture's QEMU and the static checkers.
# coccinelle runs the OCaml scripts of some semantic patches with ocamlfind.
ROBOT_PKGS=(qemu-system-x86 coccinelle ocaml-nox ocaml-findlib)
case "${1:-}" in
docs) DEB_PKGS+=("${DOC_PKGS[@]}") ;;
dt) DEB_PKGS+=("${DT_PKGS[@]}") ;;
robot) DEB_PKGS+=("${DT_PKGS[@]}" "${ROBOT_PKGS[@]}") ;;
docs-png) DEB_PKGS+=("${DOC_PKGS[@]}" "${VIEW_PKGS[@]}") ;;
esac
BINDGEN_VERSION=0.72.1

[ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null &&
	[ -r /etc/debian_version ] ||
	die "unsupported host: this harness needs a Debian (bookworm or later) machine with apt-get" \
	    "install the packages listed in harness/setup.sh by other means, or use a Debian host"

case "$(uname -m)" in
x86_64|aarch64) ;;
*) die "unsupported host architecture $(uname -m)" "use an x86_64 or aarch64 Debian host" ;;
esac

did=0

missing=()
for p in "${DEB_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]}" \
		"run 'make setup' as root, or: sudo apt-get install ${missing[*]}"
	say "installing Debian packages: ${missing[*]}"
	apt-get update -qq ||
		die "apt-get update failed" "check the machine's apt sources and network"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install failed for: ${missing[*]}" \
		    "run it by hand to see why, then 'make setup' again"
	did=1
fi

command -v rustup >/dev/null && command -v rustc >/dev/null ||
	die "no rustup/rustc on PATH (looked in \$PATH and ~/.cargo/bin)" \
	    "install a stable Rust toolchain with rustup, then 'make setup' again"

sysroot=$(rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/src/rust/library/core" ]; then
	say "adding rust-src to $(rustc --version)"
	rustup component add rust-src >/dev/null ||
		die "rustup component add rust-src failed"
	did=1
fi

if ! bindgen --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	say "installing bindgen-cli $BINDGEN_VERSION from crates.io (about 2 minutes)"
	cargo install --quiet --locked bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli failed" "check access to crates.io"
	did=1
fi

[ -e "$LIBCLANG_PATH/libclang.so" ] || ls "$LIBCLANG_PATH"/libclang*.so* >/dev/null 2>&1 ||
	die "libclang not found in $LIBCLANG_PATH" "install libclang-19-dev or set LIBCLANG_PATH"

if [ "${1:-}" = dt ] || [ "${1:-}" = robot ]; then
	req=$REPO/harness/dtschema-requirements.txt
	# Installed again only when the pins change.
	if ! cmp -s "$req" "$DTSCHEMA_VENV/requirements.txt"; then
		say "installing dt-schema from PyPI into ${DTSCHEMA_VENV#"$REPO"/}"
		rm -rf "$DTSCHEMA_VENV"
		"$DEB_PYTHON3" -m venv "$DTSCHEMA_VENV" ||
			die "python3 -m venv failed" "is Debian's python3-venv installed?"
		"$DTSCHEMA_VENV/bin/pip" install -q --no-deps -r "$req" ||
			die "pip install of dt-schema failed" "check access to PyPI"
		cp "$req" "$DTSCHEMA_VENV/requirements.txt"
		did=1
	fi
fi

if [ $did = 0 ]; then
	say "setup: all host tools present ($(rustc --version | cut -d' ' -f1-2), $(bindgen --version), clang-19), nothing to do"
else
	say "setup: done"
fi
