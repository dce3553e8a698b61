"""Reference values of anomalib's evaluation metrics for the Swift port (Sources/WinCLIP/Metrics).

Writes `metrics.safetensors`: inputs and what anomalib 2.x's `AUROC`, `F1Max` and
`AUPRO(fpr_limit=0.3)` return on the CPU for float32 inputs. The metric classes are run the way
anomalib's Evaluator runs them: built with `fields=[...]`, `update(batch)` with an `ImageBatch`,
then `compute()`.

Layout (every expected value is anomalib's float32 output, shape [1]):
  image.<case>.scores  F32 [N]          image.<case>.labels  I32 [N] (0/1)
  image.<case>.auroc   image.<case>.f1_max
  pixel.<case>.maps    F32 [B, H, W]    pixel.<case>.masks   I32 [B, H, W] (0/1)
  pixel.<case>.auroc   pixel.<case>.f1_max   pixel.<case>.aupro (fpr_limit 0.3)
  pixel.<case>.aupro_fpr1  (fpr_limit 1.0)  pixel.<case>.cca  I32 [B, H, W] anomalib's CPU labels
__metadata__: image_cases, pixel_cases (comma-separated), degenerate (cases where the Swift
port returns nil instead of anomalib's 0 or 1; see AnomalyMetrics), versions.

Usage: python metrics_reference.py OUT_DIR   (e.g. Tests/Fixtures)
"""

import os
import sys
import warnings

import numpy as np
import torch

FPR_LIMIT = 0.3


def _scalar(t) -> torch.Tensor:
    return torch.as_tensor(t, dtype=torch.float32).reshape(1).clone()


def image_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, torch.Tensor]:
    from anomalib.data import ImageBatch
    from anomalib.metrics import AUROC, F1Max

    n = len(scores)
    batch = ImageBatch(
        image=torch.zeros(n, 3, 4, 4),
        pred_score=torch.from_numpy(scores.astype(np.float32)),
        gt_label=torch.from_numpy(labels.astype(np.int64)),
    )
    out = {}
    for name, cls in (("auroc", AUROC), ("f1_max", F1Max)):
        metric = cls(fields=["pred_score", "gt_label"], prefix="image_")
        metric.update(batch)
        out[name] = _scalar(metric.compute())
    return out


def pixel_metrics(maps: np.ndarray, masks: np.ndarray) -> dict[str, torch.Tensor]:
    from anomalib.data import ImageBatch
    from anomalib.metrics import AUPRO, AUROC, F1Max
    from anomalib.utils.cv import connected_components_cpu

    b, h, w = maps.shape
    batch = ImageBatch(
        image=torch.zeros(b, 3, h, w),
        anomaly_map=torch.from_numpy(maps.astype(np.float32)),
        gt_mask=torch.from_numpy(masks.astype(bool)),
    )
    fields = ["anomaly_map", "gt_mask"]
    out = {}
    for name, metric in (
        ("auroc", AUROC(fields=fields, prefix="pixel_", strict=False)),
        ("f1_max", F1Max(fields=fields, prefix="pixel_", strict=False)),
        ("aupro", AUPRO(fields=fields, prefix="pixel_", strict=False, fpr_limit=FPR_LIMIT)),
        ("aupro_fpr1", AUPRO(fields=fields, prefix="pixel_", strict=False, fpr_limit=1.0)),
    ):
        metric.update(batch)
        out[name] = _scalar(metric.compute())
    cca = connected_components_cpu(torch.from_numpy(masks.astype(np.float32)).unsqueeze(1))
    out["cca"] = cca.squeeze(1).to(torch.int32).contiguous()
    return out


# ----------------------------------------------------------------------------- cases


def image_cases(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    cases = {}
    # Random scores with many ties (two decimals), labels correlated with the score.
    labels = (rng.random(200) < 0.4).astype(np.int32)
    scores = np.clip(0.35 + 0.25 * labels + 0.2 * rng.standard_normal(200), 0, 1)
    cases["random_ties"] = (np.round(scores, 2).astype(np.float32), labels)
    # Larger random case without imposed ties.
    labels = (rng.random(5000) < 0.3).astype(np.int32)
    scores = 1 / (1 + np.exp(-(0.8 * labels + rng.standard_normal(5000))))
    cases["random_large"] = (scores.astype(np.float32), labels)
    # Perfectly separable, perfectly inverted, all scores equal.
    cases["separable"] = (np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], np.float32), np.array([0, 0, 0, 1, 1, 1], np.int32))
    cases["inverted"] = (np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1], np.float32), np.array([0, 0, 0, 1, 1, 1], np.int32))
    cases["all_equal"] = (np.full(7, 0.5, np.float32), np.array([0, 1, 0, 1, 1, 0, 0], np.int32))
    # anomalib's docstring example: AUROC 0.75, F1Max 0.8.
    cases["tiny"] = (np.array([0.1, 0.4, 0.35, 0.8], np.float32), np.array([0, 0, 1, 1], np.int32))
    # A tie across the classes in the middle of the ranking, and -0.0 == +0.0 (a tie for torch).
    cases["tie_mixed"] = (np.array([0.9, 0.5, 0.5, 0.5, 0.2, 0.0, -0.0, 0.7], np.float32),
                          np.array([1, 1, 0, 0, 0, 1, 0, 1], np.int32))
    # Scores outside [0, 1]: torchmetrics' BinaryROC (AUROC) applies a sigmoid first, which merges
    # scores above ~16.6 into ties at 1.0. anomalib's F1Max does not.
    logits = np.array([-3.0, -1.0, 0.5, 2.0, 17.0, 18.0, 25.0, 40.0, 16.0, 30.0, -0.5, 3.0], np.float32)
    cases["logits"] = (logits, np.array([0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0], np.int32))
    # Only one class: anomalib returns 0 (AUROC), 0 (F1Max, no positives) and 1 (F1Max, no negatives).
    cases["neg_only"] = (np.array([0.1, 0.5, 0.3], np.float32), np.zeros(3, np.int32))
    cases["pos_only"] = (np.array([0.1, 0.5, 0.3], np.float32), np.ones(3, np.int32))
    return cases


def _blob_masks(rng: np.random.Generator, b: int, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    masks = np.zeros((b, h, w), bool)
    for i in range(b):
        if i == 2:
            continue  # a good image: all-zero mask
        for _ in range(1 + i % 3):
            cy, cx = rng.uniform(3, h - 3), rng.uniform(3, w - 3)
            ry, rx = rng.uniform(1.5, 6), rng.uniform(1.5, 6)
            masks[i] |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    # Image 4 also has two squares touching only at a corner: one region with 8-connectivity.
    masks[4, 24:27, 2:5] = True
    masks[4, 27:30, 5:8] = True
    # Image 5: a single-pixel region and a thin diagonal line.
    masks[5, 1, 30] = True
    for k in range(8):
        masks[5, 20 + k, 2 + k] = True
    return masks


def _smooth(x: np.ndarray, passes: int = 3) -> np.ndarray:
    for _ in range(passes):
        x = (x + np.roll(x, 1, -1) + np.roll(x, -1, -1) + np.roll(x, 1, -2) + np.roll(x, -1, -2)) / 5
    return x


def pixel_cases(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    cases = {}
    # Realistic: 6 maps of 32x32, blob-shaped masks with several regions, one all-zero mask; maps
    # are smoothed noise plus a blurred copy of the mask, partly quantised so that there are ties.
    b, h, w = 6, 32, 32
    masks = _blob_masks(rng, b, h, w)
    signal = _smooth(masks.astype(np.float64), 2)
    maps = 1 / (1 + np.exp(-(3 * signal + _smooth(rng.standard_normal((b, h, w)), 2) * 2 - 1)))
    maps[:3] = np.round(maps[:3], 3)
    cases["blobs"] = (maps.astype(np.float32), masks)
    # Noise masks: many small 8-connected regions.
    masks = rng.random((3, 16, 16)) < 0.25
    maps = np.clip(0.3 * masks + rng.random((3, 16, 16)), 0, 1)
    cases["noise_regions"] = (np.round(maps, 2).astype(np.float32), masks)
    # Dense noise masks (near the percolation threshold): long, branching regions whose labels
    # merge many times in a raster scan.
    masks = rng.random((2, 24, 24)) < 0.45
    maps = np.clip(0.25 * masks + rng.random((2, 24, 24)), 0, 1)
    cases["dense_noise"] = (maps.astype(np.float32), masks)
    # 4x4, one region of 4 pixels, 12 background pixels (worked out in MetricsTests.swift).
    mask = np.zeros((1, 4, 4), bool)
    mask[0, 1:3, 1:3] = True
    m = np.array([[[0.1, 0.2, 0.3, 0.05],
                   [0.0, 0.9, 0.6, 0.15],
                   [0.25, 0.7, 0.35, 0.4],
                   [0.45, 0.02, 0.03, 0.04]]], np.float32)
    cases["tiny_4x4"] = (m, mask)
    # 10 background pixels, so that FPR reaches exactly 0.3 at a threshold (no interpolation);
    # two one-pixel regions (0.9 and 0.8): PRO curve (0,0) (.1,0) (.1,.5) (.2,.5) (.2,1) (.3,1),
    # area 0.15, AUPRO 0.15 / 0.3 = 0.5.
    mask = np.zeros((1, 1, 12), bool)
    mask[0, 0, [1, 3]] = True
    m = np.array([[[0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]]], np.float32)
    cases["fpr_exact_limit"] = (m.reshape(1, 3, 4), mask.reshape(1, 3, 4))
    # anomalib quirk: connected_components_cpu numbers the regions of `np.unique(comps)[1:]`,
    # assuming label 0 (background) comes first, so an image whose mask is entirely anomalous gets
    # no region and its pixels count as normal pixels in AUPRO (not in AUROC / F1Max).
    masks = np.zeros((3, 12, 12), bool)
    masks[0, 3:7, 4:9] = True
    masks[0, 9:11, 1:3] = True
    masks[1] = True
    maps = np.clip(0.4 * _smooth(masks.astype(np.float64), 1) + 0.6 * rng.random((3, 12, 12)), 0, 1)
    cases["full_mask_image"] = (maps.astype(np.float32), masks)
    # Degenerate: no anomalous pixel at all; no normal pixel at all.
    cases["no_regions"] = (rng.random((2, 8, 8)).astype(np.float32), np.zeros((2, 8, 8), bool))
    cases["all_anomalous"] = (rng.random((1, 8, 8)).astype(np.float32), np.ones((1, 8, 8), bool))
    return cases


DEGENERATE = ["image.neg_only", "image.pos_only", "pixel.no_regions", "pixel.all_anomalous"]


def write(out_dir: str) -> str:
    import anomalib
    import cv2
    import torchmetrics
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    rng = np.random.default_rng(20240611)
    tensors: dict[str, torch.Tensor] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one-class warnings of torchmetrics
        images = image_cases(rng)
        for name, (scores, labels) in images.items():
            tensors[f"image.{name}.scores"] = torch.from_numpy(scores.astype(np.float32))
            tensors[f"image.{name}.labels"] = torch.from_numpy(labels.astype(np.int32))
            for k, v in image_metrics(scores, labels).items():
                tensors[f"image.{name}.{k}"] = v
        pixels = pixel_cases(rng)
        for name, (maps, masks) in pixels.items():
            tensors[f"pixel.{name}.maps"] = torch.from_numpy(maps.astype(np.float32))
            tensors[f"pixel.{name}.masks"] = torch.from_numpy(masks.astype(np.int32))
            for k, v in pixel_metrics(maps, masks).items():
                tensors[f"pixel.{name}.{k}"] = v
    metadata = {
        "image_cases": ",".join(images),
        "pixel_cases": ",".join(pixels),
        "degenerate": ",".join(DEGENERATE),
        "versions": f"anomalib {anomalib.__version__}, torchmetrics {torchmetrics.__version__}, "
                    f"torch {torch.__version__}, opencv {cv2.__version__}",
    }
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "metrics.safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=metadata)
    for k, v in tensors.items():
        if v.numel() == 1:
            print(f"{k:40s} {v.item():.9f}")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: metrics_reference.py OUT_DIR")
    print("wrote", write(sys.argv[1]))
