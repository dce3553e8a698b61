"""What anomalib's `PostProcessor` learns and decides from a `submit` job's own outputs, for the
test that checks a job's thresholds.json and decisions through the product path
(Tests/ClusterTests/JobDecisionParityTests.swift).

For each job folder (`winclip-coord submit DATASET --save-maps`, MVTec layout with masks):
  - the images and masks are listed by anomalib's own `make_mvtec_ad_dataset(root, split="test")`;
  - scores come from the job's results.jsonl, anomaly maps from its maps/*.npy (model input size);
  - masks are read with anomalib's `read_mask(path, as_tensor=True)` (good images: a zero mask of
    the image's size) and resized by WinClip's pre-processor transform (`configure_pre_processor`,
    its Resize set to the maps' size, applied to image and `Mask` together as
    `PreProcessor.on_validation_batch_start` does: torchvision gives a Mask NEAREST);
  - every image is one validation batch of anomalib 2.7's `PostProcessor`
    (`on_validation_batch_end`), then `on_validation_epoch_end` learns F1AdaptiveThreshold and
    MinMax for images and pixels; then `post_process_batch` per image gives the normalised score
    and `pred_label`.

Writes a JSON fixture:
  {"versions": ..., "dataset": ..., "runs": {NAME: {
      "image": {"threshold", "min", "max"}, "pixel": {"threshold", "min", "max"},
      "images": {RELATIVE_PATH: {"score", "label", "normalized_score", "pred_label",
                                 "pred_mask_pixels"}}}}}
(values are the float32 results written as exact decimals; `score` is the job's score the
reference used, so a test can tell a changed model from a wrong decision.)

Usage:
  python job_thresholds_reference.py --dataset Tests/Fixtures/mvtec-decisions/gravel \
      --run zero_shot=/tmp/out-zero --run k_shot_2=/tmp/out-2 \
      --out Tests/Fixtures/mvtec-decisions/gravel.decisions.json

With --check (and no --out needed) it compares instead: each job's thresholds.json and its
rows' pred_label / normalized_score against anomalib's, prints the largest differences, and exits
1 when one is above 1e-5 (for any model and MVTec-layout dataset with masks).
"""
import argparse
import json
import os
import sys
import warnings

import numpy as np
import torch


def f32(t) -> float:
    return float(np.float32(torch.as_tensor(t).reshape(-1)[0].item()))


def read_rows(job):
    rows = {}
    with open(os.path.join(job, "results.jsonl")) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows[row["image"]] = row
    return rows


def resized_mask(transform, sample, size):
    from anomalib.data.utils import read_mask
    from PIL import Image
    from torchvision import tv_tensors

    width, height = Image.open(sample.image_path).size
    if sample.label_index == 1:
        mask = read_mask(sample.mask_path, as_tensor=True)
    else:
        mask = tv_tensors.Mask(torch.zeros(height, width)).to(torch.uint8)
    assert tuple(mask.shape[-2:]) == (height, width), f"{sample.mask_path}: mask {tuple(mask.shape)} vs image {width}x{height}"
    image = tv_tensors.Image(torch.zeros(1, 3, height, width))
    _, out = transform(image, tv_tensors.Mask(mask.unsqueeze(0)))
    assert tuple(out.shape[-2:]) == (size, size)
    return out.reshape(size, size)


def reference(dataset, job):
    from anomalib.data import ImageBatch
    from anomalib.data.datasets.image.mvtecad import make_mvtec_ad_dataset
    from anomalib.models.image.winclip.lightning_model import WinClip
    from anomalib.post_processing import PostProcessor
    from torchvision.transforms.v2 import Resize

    samples = make_mvtec_ad_dataset(dataset, split="test")
    rows = read_rows(job)
    root = os.path.abspath(dataset)
    items = []
    for sample in samples.itertuples():
        rel = os.path.relpath(sample.image_path, root)
        row = rows.get(rel)
        if row is None or row.get("error") or row.get("score") is None or not row.get("map"):
            sys.exit(f"{job}: no scored row with a map for {rel}")
        if row.get("label") != int(sample.label_index):
            sys.exit(f"{job}: {rel} has label {row.get('label')}, anomalib says {sample.label_index}")
        amap = np.load(os.path.join(job, row["map"])).astype(np.float32)
        items.append((rel, sample, np.float32(row["score"]), amap))
    size = items[0][3].shape[0]
    transform = WinClip.configure_pre_processor().transform
    for t in transform.transforms:
        if isinstance(t, Resize):
            t.size = [size, size]

    pp = PostProcessor()
    for rel, sample, score, amap in items:
        mask = resized_mask(transform, sample, size)
        batch = ImageBatch(image=torch.zeros(1, 3, size, size), pred_score=torch.tensor([score]),
                           gt_label=torch.tensor([int(sample.label_index)]),
                           anomaly_map=torch.from_numpy(amap).reshape(1, size, size),
                           gt_mask=mask.reshape(1, size, size).bool())
        pp.on_validation_batch_end(None, None, batch)
    pp.on_validation_epoch_end(None, None)

    images = {}
    for rel, sample, score, amap in items:
        batch = ImageBatch(image=torch.zeros(1, 3, size, size), pred_score=torch.tensor([score]),
                           anomaly_map=torch.from_numpy(amap).reshape(1, size, size))
        pp.post_process_batch(batch)
        images[rel] = {"score": float(score), "label": int(sample.label_index),
                       "normalized_score": f32(batch.pred_score), "pred_label": int(batch.pred_label.reshape(-1)[0].item()),
                       "pred_mask_pixels": int(batch.pred_mask.sum().item())}
    return {
        "image": {"threshold": f32(pp.image_threshold), "min": f32(pp.image_min), "max": f32(pp.image_max)},
        "pixel": {"threshold": f32(pp.pixel_threshold), "min": f32(pp.pixel_min), "max": f32(pp.pixel_max)},
        "map_size": size,
        "images": images,
    }


def check(job, reference_run, name):
    """Prints how far the job's decisions are from anomalib's; True when all within 1e-5."""
    with open(os.path.join(job, "thresholds.json")) as f:
        saved = json.load(f)
    worst = 0.0
    for level in ("image", "pixel"):
        for key in ("threshold", "min", "max"):
            ours = (saved.get(level) or {}).get(key)
            worst = max(worst, float("inf") if ours is None else abs(ours - reference_run[level][key]))
    rows = read_rows(job)
    labels = sum(rows[rel].get("pred_label") != ref["pred_label"] for rel, ref in reference_run["images"].items())
    def distance(ours, theirs):  # a missing score is infinitely far (0.0 is a real score)
        return float("inf") if ours is None else abs(ours - theirs)
    normalized = max(distance(rows[rel].get("normalized_score"), ref["normalized_score"])
                     for rel, ref in reference_run["images"].items())
    pixel_source = (saved.get("pixel") or {}).get("source")
    print(f"{name}: thresholds/min/max max |diff| {worst:.3g}; pred_label mismatches {labels} of "
          f"{len(reference_run['images'])}; normalized_score max |diff| {normalized:.3g}; pixel source {pixel_source}")
    return worst <= 1e-5 and labels == 0 and normalized <= 1e-5


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--run", action="append", required=True, help="NAME=JOB_FOLDER")
    parser.add_argument("--out")
    parser.add_argument("--check", action="store_true", help="compare the jobs' thresholds.json and rows with anomalib's")
    args = parser.parse_args()
    if not args.out and not args.check:
        parser.error("give --out FILE or --check")

    import anomalib
    import torchmetrics
    import torchvision

    torch.set_num_threads(1)
    runs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec in args.run:
            name, job = spec.split("=", 1)
            runs[name] = reference(args.dataset, job)
            r = runs[name]
            print(f"{name}: image {r['image']}  pixel {r['pixel']}")
    if args.check:
        failed = False
        for spec in args.run:
            name, job = spec.split("=", 1)
            failed |= not check(job, runs[name], name)
        if not args.out:
            sys.exit(1 if failed else 0)
    fixture = {
        "versions": f"anomalib {anomalib.__version__}, torchmetrics {torchmetrics.__version__}, "
                    f"torch {torch.__version__}, torchvision {torchvision.__version__}",
        "dataset": os.path.basename(os.path.abspath(args.dataset)),
        "runs": runs,
    }
    with open(args.out, "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
