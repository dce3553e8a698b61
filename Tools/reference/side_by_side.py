"""anomalib and the product on the same full-size model and the same images, in one run.

Run by hand, never by CI (needs torch, anomalib, a release build and the full-size weights),
from the repository root, in the reference venv (docs/reference.md):
    swift build -c release --product winclip-coord
    ../refenv/bin/python Tools/reference/make_fixtures.py --only full-size --full-size ../fullsize   # once
    ../refenv/bin/python Tools/reference/side_by_side.py --weights ../fullsize/ViT-B-16-plus-240.safetensors

What is timed, per image, for both tasks:
  anomalib 2.7 (fp32, its `clip` extra's open_clip 2.24.0, torch's default threads): one
      `WinClipModel(image)` call per image (batch size 1) after the model and its text embeddings
      are built. Zero-shot anomalib always computes the windows, so its classification time is
      the same call as its segmentation time (anomalib has no score-only mode); the script
      also prints open_clip's `encode_image` alone, the full pass a score-only anomalib would need.
  the product (`winclip-coord submit`, embedded cluster, --workers N): its marginal seconds per
      image, (T(all images) - T(first image)) / (images - 1), where T is the job's seconds the
      submit prints (from SUBMIT to JOB_DONE, so without process start and reading 830 MB of
      weights); the difference also cancels the text embeddings, as anomalib's figure excludes
      its setup. Segmentation runs the window units and assembles the maps (not
      written: no --save-maps); classification runs the full pass only. `--repeat-classification`
      lists the images several times (as copies) for the product's classification runs, whose
      per-image time is otherwise small next to the run-to-run noise of the fixed costs.
CPU seconds per image (all threads, user + sys) are printed too: other processes on the machine
stretch the wall seconds of whichever side runs while they do, hardly its CPU seconds.
The scores of both are compared (zero-shot, same weights, same files): they must agree to 1e-4.
"""
import argparse
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

MODEL = "ViT-B-16-plus-240"


def cpu_model():
    """The model name, family/model numbers and the vector units that matter here."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or "unknown"
    flags = set(info.get("flags", "").split())
    units = [u for u in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if u in flags]
    return f"{info.get('model name', 'unknown')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}; {' '.join(units)})"


def default_images(count):
    folder = os.path.join(ROOT, "Tests", "Fixtures", "images")
    # Real pictures of several sizes and colour types (the parity fixtures' choice first).
    preferred = ["rgb8.png", "grey8.png", "rgba8.png", "jpeg_rgb420.jpg"]
    others = sorted(set(glob.glob(os.path.join(folder, "*.png")) + glob.glob(os.path.join(folder, "*.jpg")))
                    - {os.path.join(folder, p) for p in preferred})
    chosen = [os.path.join(folder, p) for p in preferred] + [p for p in others if "unsupported" not in p]
    return chosen[:count]


def run_anomalib(weights, images, class_name):
    import torch
    import open_clip
    from safetensors.torch import load_file
    from preprocess import load_and_preprocess
    from winclip_reference import winclip, provenance

    model = open_clip.create_model(MODEL, pretrained=None)
    model.load_state_dict(load_file(weights))
    model.eval()
    t0 = time.perf_counter()
    zero_shot = winclip(model, class_name, (2, 3))
    setup = time.perf_counter() - t0
    pixels = [load_and_preprocess(p, 240)[None] for p in images]
    seconds, cpu, scores, full_pass = [], [], [], []
    with torch.no_grad():
        for p in pixels:
            t0, c0 = time.perf_counter(), time.process_time()
            result = zero_shot(p)
            seconds.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            scores.append(float(result.pred_score.reshape(-1)[0]))
        for p in pixels:
            t0 = time.perf_counter()
            model.encode_image(p)
            full_pass.append(time.perf_counter() - t0)
    return {"setup": setup, "seconds": seconds, "cpu": cpu, "scores": scores, "full_pass": full_pass,
            "threads": torch.get_num_threads(), "versions": provenance()}


def run_product(binary, weights, images, task, workers, class_name, scratch, tag):
    """The job's seconds (as the submit prints them), the process's CPU seconds, and the scores
    by file name of one `submit` over `images`."""
    listing = os.path.join(scratch, f"{tag}.txt")
    with open(listing, "w") as f:
        f.write("\n".join(images) + "\n")
    output = os.path.join(scratch, f"{tag}-out")
    command = [binary, "submit", "--file-list", listing, "--weights", weights, "--model-config", MODEL,
               "--task", task, "--workers", str(workers), "--class-name", class_name, "--output", output, "--quiet"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed ({os.waitstatus_to_exitcode(status)}):\n{printed}")
    job = re.search(r"scored, \d+ failed in ([\d.]+) s", printed)
    if not job:
        sys.exit(f"no job time in the output of {' '.join(command)}:\n{printed}")
    seconds = float(job[1])
    scores = {}
    with open(os.path.join(output, "results.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            if row.get("error") or row.get("score") is None:
                sys.exit(f"the product could not score {row.get('image')}: {row.get('error')}")
            scores[os.path.basename(row["image"])] = row["score"]
    return seconds, cpu, scores


def marginal(binary, weights, images, task, workers, class_name, scratch):
    """Wall and CPU seconds per image, (T(all) - T(first)) / (len - 1), the two runs' wall
    seconds, and the scores of the longer run."""
    first, first_cpu, _ = run_product(binary, weights, images[:1], task, workers, class_name, scratch, f"{task}-1")
    total, total_cpu, scores = run_product(binary, weights, images, task, workers, class_name, scratch, f"{task}-{len(images)}")
    n = len(images) - 1
    return (total - first) / n, (total_cpu - first_cpu) / n, first, total, scores


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True, help=f"{MODEL} safetensors (make_fixtures.py --full-size writes random ones)")
    ap.add_argument("--images", nargs="*", help="image files (default: 4 of Tests/Fixtures/images)")
    ap.add_argument("--count", type=int, default=4, help="how many default images")
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="the product's embedded workers (default: one per core)")
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "winclip-coord"))
    ap.add_argument("--class-name", default="transistor")
    ap.add_argument("--repeat-classification", type=int, default=4,
                    help="the product's classification runs list the images this many times (as copies)")
    args = ap.parse_args()
    images = [os.path.abspath(p) for p in (args.images or default_images(args.count))]
    if len(images) < 2:
        sys.exit("at least 2 images are needed (the product's per-image time is a difference of two runs)")
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} is missing: swift build -c release --product winclip-coord")
    weights = os.path.abspath(args.weights)

    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; load average {os.getloadavg()[0]:.2f} at start")
    print(f"model {MODEL}, random weights {weights}; images: {', '.join(os.path.basename(p) for p in images)}")
    scratch = tempfile.mkdtemp(prefix="side-by-side-")
    try:
        # Copies named apart (a file list scores a path once) for the classification runs.
        copies = []
        for r in range(args.repeat_classification):
            for p in images:
                copy = os.path.join(scratch, f"r{r}_{os.path.basename(p)}")
                shutil.copyfile(p, copy)
                copies.append(copy)

        ref = run_anomalib(weights, images, args.class_name)
        v = ref["versions"]
        print(f"anomalib {v['anomalib_version']} on open_clip {v['open_clip_version']}, torch {v['torch_version']} "
              f"({ref['threads']} threads): text setup {ref['setup']:.2f} s")
        seg, seg_cpu, seg_first, seg_total, seg_scores = marginal(args.binary, weights, images, "segmentation", args.workers, args.class_name, scratch)
        cls, cls_cpu, cls_first, cls_total, cls_scores = marginal(args.binary, weights, copies, "classification", args.workers, args.class_name, scratch)
        print(f"product: --workers {args.workers}; job seconds: segmentation {seg_first:.2f} s (1 image), {seg_total:.2f} s ({len(images)}); "
              f"classification {cls_first:.2f} s (1 image), {cls_total:.2f} s ({len(copies)})")

        worst = 0.0
        for p, expected in zip(images, ref["scores"]):
            name = os.path.basename(p)
            worst = max(worst, abs(seg_scores[name] - expected), abs(cls_scores["r0_" + name] - expected))
        print(f"image scores: largest difference from anomalib {worst:.2e} (segmentation and classification runs)")

        anomalib_image = sum(ref["seconds"]) / len(ref["seconds"])
        anomalib_cpu = sum(ref["cpu"]) / len(ref["cpu"])
        full_pass = sum(ref["full_pass"]) / len(ref["full_pass"])
        print()
        print(f"{'seconds per image':<34}{'anomalib':>10}{'product':>10}{'anomalib / product':>20}")
        print(f"{'segmentation (score and map)':<34}{anomalib_image:>10.2f}{seg:>10.2f}{anomalib_image / seg:>19.2f}x")
        print(f"{'classification (score)':<34}{anomalib_image:>10.2f}{cls:>10.2f}{anomalib_image / cls:>19.2f}x")
        print(f"{'  (open_clip encode_image alone)':<34}{full_pass:>10.2f}{cls:>10.2f}{full_pass / cls:>19.2f}x")
        # CPU seconds hardly change when other processes share the machine; wall seconds do.
        print(f"{'CPU seconds per image (all threads)':<34}")
        print(f"{'segmentation':<34}{anomalib_cpu:>10.2f}{seg_cpu:>10.2f}{anomalib_cpu / seg_cpu:>19.2f}x")
        print(f"{'classification':<34}{anomalib_cpu:>10.2f}{cls_cpu:>10.2f}{anomalib_cpu / cls_cpu:>19.2f}x")
        print("anomalib computes the windows in every zero-shot call (it has no score-only mode), so its "
              "classification time is its segmentation time; the last line is open_clip's full pass alone.")
        print(f"load average {os.getloadavg()[0]:.2f} at the end (other processes on the machine slow both sides)")
        if worst > 1e-4:
            sys.exit(f"the scores differ by {worst:.2e} (more than 1e-4): the two did not compute the same thing")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
