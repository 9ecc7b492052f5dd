#!/usr/bin/env bash
# Quick start: install the packages, build, and run the main job: train four networks on
# Fashion-MNIST, measure, align and cluster them, write convergent-run/report.html and print
# the paper's Table 1 for them (12.5 min measured on a quiet 2-core machine, 2026-12-03, of
# which the run 715 s: docs/reproduction.md; longer under load; pass --quick for a look in
# about two minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
./build/convergent run -o convergent-run "$@"
