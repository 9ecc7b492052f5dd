#!/usr/bin/env bash
# Install the Debian 12 packages convergent needs to build, test and benchmark.
# Uses sudo unless run as root.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config clang \
  libopenblas-openmp-dev liblapacke-dev libcjson-dev libcmocka-dev libcairo2-dev zlib1g-dev \
  fonts-dejavu-core python3 python3-numpy python3-scipy python3-sklearn python3-pytest python3-torch \
  python3-pip python3-setuptools python3-wheel time \
  chromium dataset-fashion-mnist libopenmpi-dev openmpi-bin >/dev/null
