#!/usr/bin/env bash
# Installs the Debian packages b2m needs to build and test, when missing (run as root).
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail
need=(g++ cmake make libxtensor-dev xtl-dev libxtensor-blas-dev libopenblas-dev libopenblas-openmp-dev libboost-dev doctest-dev
      nlohmann-json3-dev libmatio-dev pkg-config  # the b2m program: JSON output, MATLAB .mat input (b2m::formats)
      zlib1g-dev nlohmann-json3-dev  # b2m::io: .npz (deflate) and .safetensors (JSON header) weight files
      libopenmpi-dev openmpi-bin
      doxygen  # the API reference (target docs) and its check (ctest -L docs)
      "$@")
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "b2m: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
