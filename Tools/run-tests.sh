#!/usr/bin/env bash
# README's test command. Every test on the debug build, then the parity, scoring and cluster
# tests again on the release build users run (optimised code must compute the same numbers).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== debug: every test"
swift build --build-tests
swift test --disable-swift-testing --skip-build
echo "== release: parity, scoring and cluster tests"
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing --disable-swift-testing --skip-build \
    --filter 'ModelParityTests|WinCLIPParityTests|FullPassBatchTests|ImagePlanTests|MapPolicyTests|ImageTests|FormatTests|KernelTests|PrecisionTests|MetricsTests|PixelMetricsAccumulatorTests|ClusterProcessTests|WindowShardingTests|ConcurrentSubmitTests|NonFiniteResultTests|WorkerFailureTests|ChaosTests|ResumeTests'
