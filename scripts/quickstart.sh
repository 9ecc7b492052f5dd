#!/usr/bin/env bash
# Quick start: install the packages, build, and run the main job: train four networks on
# Fashion-MNIST, measure, align and cluster them, write convergent-run/report.html and print
# the paper's Table 1 for them (about 15 minutes on 2 cores; pass --quick for a 3-minute look).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
./build/convergent run -o convergent-run "$@"
