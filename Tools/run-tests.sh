#!/usr/bin/env bash
# README's test command. Every test on the debug build, then the parity, scoring and cluster
# tests again on an optimised build (optimised code must compute the same numbers), kept in
# .build-release-tests so that .build/release, the build users run, is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== debug: every test"
swift build --build-tests
swift test --disable-swift-testing --skip-build
echo "== release: parity, scoring and cluster tests"
# Its own scratch path: building tests with -enable-testing in .build would invalidate the
# user's `swift build -c release` (the next `swift run -c release` rebuilt everything).
release=(--scratch-path .build-release-tests -c release -Xswiftc -enable-testing)
swift build "${release[@]}" --build-tests
swift test "${release[@]}" --disable-swift-testing --skip-build \
    --filter 'ModelParityTests|WinCLIPParityTests|FullPassBatchTests|ImagePlanTests|MapPolicyTests|ImageTests|FormatTests|KernelTests|PrecisionTests|MetricsTests|PixelMetricsAccumulatorTests|ClusterProcessTests|WindowShardingTests|ConcurrentSubmitTests|NonFiniteResultTests|WorkerFailureTests|ChaosTests|ResumeTests|JobDecisionParityTests|BadWorkerTests'
