#!/usr/bin/env bash
# Images/s of 2 worker processes on loopback with security.mode none and curve, alternating in
# one run (same images, same weights), and the curve/none ratio; then the CURVE handshake cost
# per connection (winclip-bench curve-handshake).
# Usage: Tools/curve_bench.sh [WEIGHTS] [MODEL_CONFIG] [N_IMAGES] [ROUNDS]
# (default: the tiny fixture model, whose units are so small that transport costs show most).
set -euo pipefail
cd "$(dirname "$0")/.."
weights=${1:-Tests/Fixtures/tiny-vit-48.safetensors}
model=${2:-Tests/Fixtures/tiny-vit-48.json}
n=${3:-400}
rounds=${4:-3}
weights=$(realpath "$weights")
[ -f "$model" ] && model=$(realpath "$model")
swift build -c release >/dev/null
bin=$(pwd)/.build/release
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/data"
# N images: the fixture images, repeated under new names.
images=(Tests/Fixtures/images/*.png)
for i in $(seq 0 $((n - 1))); do
    f=${images[$((i % ${#images[@]}))]}
    cp "$f" "$work/data/$(printf %04d "$i")-$(basename "$f")"
done
for name in coordinator w1 w2 client; do "$bin/winclip-coord" keygen "$name" --dir "$work/keys" >/dev/null; done
mkdir -p "$work/authorized/workers" "$work/authorized/clients"
cp "$work/keys/w1.key" "$work/keys/w2.key" "$work/authorized/workers/"
cp "$work/keys/client.key" "$work/authorized/clients/"
for mode in none curve; do
    port=$((20000 + RANDOM % 20000))
    cat > "$work/$mode.yaml" <<YAML
coordinator:
  endpoint: tcp://127.0.0.1:$port
model:
  config: $model
  weights: $weights
security:
  mode: $mode
  coordinator_public_key: keys/coordinator.key
  coordinator_secret_key: keys/coordinator.key_secret
  authorized_workers: authorized/workers
  authorized_clients: authorized/clients
  verify_setup: false
YAML
done
rate() { grep -Eo '\([0-9.]+ images/s\)' "$1" | tr -d '()' | cut -d' ' -f1; }
declare -A rates
for r in $(seq "$rounds"); do
    for mode in none curve; do
        "$bin/winclip-coord" serve --config "$work/$mode.yaml" > "$work/coord-$mode-$r.log" 2>&1 &
        coord=$!
        pids=("$coord")
        until grep -qs listening "$work/coord-$mode-$r.log"; do sleep 0.2; done
        for w in w1 w2; do
            "$bin/winclip-worker" --config "$work/$mode.yaml" --secret-key "$work/keys/$w.key_secret" > "$work/$w-$mode-$r.log" 2>&1 &
            pids+=($!)
        done
        for w in w1 w2; do until grep -qs serving "$work/$w-$mode-$r.log"; do sleep 0.2; done; done
        until grep -qs "2 worker(s)" "$work/coord-$mode-$r.log"; do sleep 0.2; done
        "$bin/winclip-coord" submit "$work/data" --config "$work/$mode.yaml" --secret-key "$work/keys/client.key_secret" \
            --class-name object --output "$work/out-$mode-$r" --quiet > "$work/submit-$mode-$r.log" 2>&1
        rates[$mode]="${rates[$mode]:-} $(rate "$work/submit-$mode-$r.log")"
        echo "round $r, mode $mode: $(rate "$work/submit-$mode-$r.log") images/s"
        for p in "${pids[@]:1}"; do kill -TERM "$p"; done
        wait "${pids[@]:1}" 2>/dev/null || true
        kill -TERM "$coord"; wait "$coord" 2>/dev/null || true
        pids=()
    done
done
python3 - "${rates[none]}" "${rates[curve]}" "$work" "$rounds" <<'PY'
import json, statistics, sys
none = [float(x) for x in sys.argv[1].split()]
curve = [float(x) for x in sys.argv[2].split()]
w, rounds = sys.argv[3], int(sys.argv[4])
print("none  images/s: %s (median %.1f)" % (none, statistics.median(none)))
print("curve images/s: %s (median %.1f)" % (curve, statistics.median(curve)))
print("curve/none throughput ratio: %.3f" % (statistics.median(curve) / statistics.median(none)))
runs = {f"{m}-{r}": {json.loads(l)["image"]: json.loads(l).get("score") for l in open(f"{w}/out-{m}-{r}/results.jsonl")}
        for m in ("none", "curve") for r in range(1, rounds + 1)}
first = next(iter(runs.values()))
print("scores identical across all runs:", all(r == first for r in runs.values()))
PY
"$bin/winclip-bench" curve-handshake --connections 300 --rounds 3 | tail -2
