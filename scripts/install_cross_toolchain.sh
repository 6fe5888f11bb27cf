#!/bin/sh
# Installs Debian's aarch64 cross compiler, which `hago build --target aarch64`
# uses to link the shared library for a Raspberry Pi 4 (Cortex-A72).
# Run as root (or through sudo) on Debian / Ubuntu.
set -e
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    echo "aarch64-linux-gnu-gcc is already installed: $(command -v aarch64-linux-gnu-gcc)"
    exit 0
fi
apt-get update -q
apt-get install -y -q gcc-aarch64-linux-gnu
aarch64-linux-gnu-gcc --version | head -1
