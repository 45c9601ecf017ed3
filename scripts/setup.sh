#!/usr/bin/env bash
# Install everything edgeq needs on a Debian/Ubuntu machine: the native toolchain (apt) and the
# Python package with its test and farm (labgrid) extras (pip, into the current Python environment);
# ser2net is what a labgrid exporter serves serial ports with.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="cmake make gcc g++ gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm chromium ser2net"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "edgeq setup: installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

PYTHON="${PYTHON:-python3}"
"$PYTHON" -m pip install -q --upgrade pip
"$PYTHON" -m pip install -q -e '.[dev,packages,farm]'
echo "edgeq setup: done ($("$PYTHON" -m pip show edgeq 2>/dev/null | grep ^Version))"
