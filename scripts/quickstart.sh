#!/usr/bin/env bash
# Quick start: install the packages, build, and run the main job on the example that ships
# with the repository (four networks' conv activations under tests/fixtures/stats).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
example=tests/fixtures/stats/conv_k4_nchw
./build/convergent stats -o out/quickstart --layer conv \
  "$example/net1.npy" "$example/net2.npy" "$example/net3.npy" "$example/net4.npy"
echo "statistics written to out/quickstart/conv/ (meta.json, corr.npy, ...)"
