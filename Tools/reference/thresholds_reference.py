"""Reference values of anomalib's thresholds and normalisation for the Swift port
(Sources/WinCLIP/Metrics/AdaptiveThreshold.swift, ScoreNormalization.swift).

Runs anomalib 2.x's own `PostProcessor` as a Lightning run does: `on_validation_batch_end` with a
labelled `ImageBatch` (learns `F1AdaptiveThreshold` and `MinMax` for images and pixels),
`on_validation_epoch_end`, then `post_process_batch` on a batch (normalised scores and maps,
`pred_label`, `pred_mask`). The cases are those of metrics_reference.py plus a few threshold edge
cases.

Writes `thresholds.safetensors`:
  image.<case>.scores F32 [N]   image.<case>.labels I32 [N]      (validation data)
  image.<case>.threshold, .min, .max  F32 [1]                    (learned)
  image.<case>.test F32 [M]     image.<case>.normalized F32 [M]   image.<case>.pred_label I32 [M]
  pixel.<case>.maps F32 [B,H,W] pixel.<case>.masks I32 [B,H,W]
  pixel.<case>.threshold, .min, .max  F32 [1]
  pixel.<case>.normalized F32 [B,H,W]   pixel.<case>.pred_mask I32 [B,H,W]   (of the same maps)
__metadata__: image_cases, pixel_cases, versions.

Usage: python thresholds_reference.py OUT_DIR   (e.g. Tests/Fixtures)
"""

import os
import sys
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics_reference import image_cases as metric_image_cases  # noqa: E402
from metrics_reference import pixel_cases as metric_pixel_cases  # noqa: E402


def _scalar(t) -> torch.Tensor:
    return torch.as_tensor(t, dtype=torch.float32).reshape(1).clone()


def learn_and_apply_image(scores, labels, test):
    from anomalib.data import ImageBatch
    from anomalib.post_processing import PostProcessor

    pp = PostProcessor()
    n = len(scores)
    val = ImageBatch(image=torch.zeros(n, 3, 4, 4), pred_score=torch.from_numpy(scores.astype(np.float32)),
                     gt_label=torch.from_numpy(labels.astype(np.int64)))
    pp.on_validation_batch_end(None, None, val)
    pp.on_validation_epoch_end(None, None)
    m = len(test)
    out = ImageBatch(image=torch.zeros(m, 3, 4, 4), pred_score=torch.from_numpy(test.astype(np.float32)))
    pp.post_process_batch(out)
    return {
        "threshold": _scalar(pp.image_threshold), "min": _scalar(pp.image_min), "max": _scalar(pp.image_max),
        "normalized": out.pred_score.to(torch.float32).contiguous(),
        "pred_label": out.pred_label.to(torch.int32).contiguous(),
    }


def learn_and_apply_pixel(maps, masks):
    from anomalib.data import ImageBatch
    from anomalib.post_processing import PostProcessor

    pp = PostProcessor()
    b, h, w = maps.shape
    val = ImageBatch(image=torch.zeros(b, 3, h, w), anomaly_map=torch.from_numpy(maps.astype(np.float32)),
                     gt_mask=torch.from_numpy(masks.astype(bool)))
    pp.on_validation_batch_end(None, None, val)
    pp.on_validation_epoch_end(None, None)
    out = ImageBatch(image=torch.zeros(b, 3, h, w), anomaly_map=torch.from_numpy(maps.astype(np.float32)))
    pp.post_process_batch(out)
    return {
        "threshold": _scalar(pp.pixel_threshold), "min": _scalar(pp.pixel_min), "max": _scalar(pp.pixel_max),
        "normalized": out.anomaly_map.to(torch.float32).reshape(b, h, w).contiguous(),
        "pred_mask": out.pred_mask.to(torch.int32).reshape(b, h, w).contiguous(),
    }


def image_cases(rng):
    cases = dict(metric_image_cases(rng))
    # Equal F1 at two thresholds (0.8: P=1, R=.5, F1=2/3; 0.3: P=.5, R=1, F1=2/3): the lower wins.
    cases["f1_tie"] = (np.array([0.3, 0.4, 0.8, 0.3], np.float32), np.array([1, 0, 1, 0], np.int32))
    # Best F1 at the lowest threshold (all anomalous predicted), and a large score range.
    cases["low_best"] = (np.array([10.0, 20.0, 30.0, 5.0], np.float32), np.array([1, 1, 1, 0], np.int32))
    return cases


def test_scores(rng, scores):
    lo, hi = float(np.min(scores)), float(np.max(scores))
    span = hi - lo if hi > lo else 1.0
    extra = [lo - span, lo, hi, hi + span, (lo + hi) / 2]
    return np.concatenate([scores, np.array(extra), lo + span * rng.random(20)]).astype(np.float32)


def write(out_dir: str) -> str:
    import anomalib
    import torchmetrics
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    rng = np.random.default_rng(20240611)
    tensors: dict[str, torch.Tensor] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        images = image_cases(rng)
        pixels = metric_pixel_cases(rng)
        trng = np.random.default_rng(7)
        for name, (scores, labels) in images.items():
            test = test_scores(trng, scores)
            tensors[f"image.{name}.scores"] = torch.from_numpy(scores.astype(np.float32))
            tensors[f"image.{name}.labels"] = torch.from_numpy(labels.astype(np.int32))
            tensors[f"image.{name}.test"] = torch.from_numpy(test)
            for k, v in learn_and_apply_image(scores, labels, test).items():
                tensors[f"image.{name}.{k}"] = v
        for name, (maps, masks) in pixels.items():
            tensors[f"pixel.{name}.maps"] = torch.from_numpy(maps.astype(np.float32))
            tensors[f"pixel.{name}.masks"] = torch.from_numpy(masks.astype(np.int32))
            for k, v in learn_and_apply_pixel(maps, masks).items():
                tensors[f"pixel.{name}.{k}"] = v
    metadata = {
        "image_cases": ",".join(images),
        "pixel_cases": ",".join(pixels),
        "versions": f"anomalib {anomalib.__version__}, torchmetrics {torchmetrics.__version__}, torch {torch.__version__}",
    }
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "thresholds.safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=metadata)
    for k, v in tensors.items():
        if v.numel() == 1:
            print(f"{k:40s} {v.item():.9g}")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: thresholds_reference.py OUT_DIR")
    print("wrote", write(sys.argv[1]))
