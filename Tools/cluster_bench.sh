#!/usr/bin/env bash
# Images/s of the embedded cluster and of 1 and 2 worker processes on loopback, same images,
# same weights. Usage: Tools/cluster_bench.sh WEIGHTS [MODEL_CONFIG] [N_IMAGES]
# (e.g. the full-size random-weight export of Tools/reference/make_fixtures.py --full-size).
set -euo pipefail
cd "$(dirname "$0")/.."
weights=${1:?weights file}
model=${2:-ViT-B-16-plus-240}
n=${3:-8}
swift build -c release >/dev/null
bin=.build/release
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/data"
i=0
for f in Tests/Fixtures/images/*.png Tests/Fixtures/images/*.jpg; do
    [ "$i" -ge "$n" ] && break
    case "$f" in *cmyk*) continue ;; esac
    cp "$f" "$work/data/$(printf %03d "$i")-$(basename "$f")"
    i=$((i + 1))
done
port=$((20000 + RANDOM % 20000))
cat > "$work/cluster.yaml" <<YAML
coordinator:
  endpoint: tcp://127.0.0.1:$port
model:
  config: $model
  weights: $weights
YAML
rate() { grep -Eo '\([0-9.]+ images/s\)' "$1" | tr -d '()'; }

"$bin/winclip-coord" submit "$work/data" --model-config "$model" --weights "$weights" --output "$work/embedded" --quiet > "$work/embedded.log" 2>&1
echo "embedded cluster (one worker per core): $(rate "$work/embedded.log")"

"$bin/winclip-coord" serve --config "$work/cluster.yaml" > "$work/coord.log" 2>&1 &
for workers in 1 2; do
    pids=()
    for w in $(seq "$workers"); do
        "$bin/winclip-worker" --config "$work/cluster.yaml" > "$work/worker$workers-$w.log" 2>&1 &
        pids+=($!)
    done
    for w in $(seq "$workers"); do
        until grep -q serving "$work/worker$workers-$w.log"; do sleep 0.5; done
    done
    "$bin/winclip-coord" submit "$work/data" --config "$work/cluster.yaml" --output "$work/cluster$workers" --quiet > "$work/submit$workers.log" 2>&1
    echo "$workers worker process(es) on loopback TCP: $(rate "$work/submit$workers.log")"
    kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
done
# The three runs scored the same images with the same weights: their scores must agree.
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
runs = {name: {json.loads(l)["image"]: json.loads(l).get("score") for l in open(f"{w}/{name}/results.jsonl")} for name in ["embedded", "cluster1", "cluster2"]}
same = all(runs["embedded"] == r for r in runs.values())
print("scores identical across the three runs:", same)
PY
