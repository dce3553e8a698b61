"""anomalib's WinClipModel on the small fixture models (and optionally the full-size one).

Which WinCLIP anomalib computes depends on the open_clip it runs on (docs/reference.md):
  open_clip < 2.26.1 (anomalib's pin, 2.24.0): every window attends within itself -> the
      product's default `window` mode -> Tests/Fixtures/NAME.winclip.safetensors
  open_clip >= 2.26.1 (e.g. 3.3.0, outside anomalib's range): windows attend across each
      other -> the product's `cross` mode -> Tests/Fixtures/NAME.winclip-cross.safetensors
so run this once per environment (make_fixtures.py --only winclip), see make_fixtures.py.

Writes, per fixture model NAME:
  pixels [N,3,S,S], ref_pixels [K,3,S,S]     preprocessed as anomalib's WinClip pre-processor
  text_embeddings [2,E]                       anomalib's _text_embeddings for the class name
  zero_scores [N], zero_maps [N,S,S]          zero-shot, each image on its own (batch size 1)
  few_scores [N], few_maps [N,S,S]            K-shot with the K reference images
  metadata: class_name, scales, images, reference_images, window_attention, and the versions
  of anomalib, open_clip and torch that computed it
"""
import json
import os
import time

import torch
import open_clip
from safetensors.torch import load_file, save_file

from preprocess import load_and_preprocess


def open_clip_version():
    import open_clip.version
    return open_clip.version.__version__


def window_attention():
    """The product's mode that equals anomalib on this open_clip."""
    major, minor, patch = (int(x) for x in open_clip_version().split(".")[:3])
    return "window" if (major, minor, patch) < (2, 26, 1) else "cross"


def fixture_suffix():
    return ".winclip.safetensors" if window_attention() == "window" else ".winclip-cross.safetensors"


def provenance():
    import anomalib
    return {"window_attention": window_attention(), "anomalib_version": anomalib.__version__,
            "open_clip_version": open_clip_version(), "torch_version": torch.__version__}

# Per fixture model: class name, scales, test images and reference images (substrings of
# file names in the fixture images folder).
CASES = {
    "tiny-vit-48": {"class_name": "transistor", "scales": (2, 3)},
    "tiny-vit-56-quickgelu": {"class_name": "écrou métallique ☕", "scales": (2, 4)},
}


def load_model(out_dir, name):
    with open(os.path.join(out_dir, f"{name}.json")) as f:
        cfg = json.load(f)
    model = open_clip.CLIP(embed_dim=cfg["embed_dim"], vision_cfg=cfg["vision_cfg"], text_cfg=cfg["text_cfg"],
                           quick_gelu=cfg.get("quick_gelu", False))
    state = {k: v.to(torch.float32) for k, v in load_file(os.path.join(out_dir, f"{name}.safetensors")).items()}
    model.load_state_dict(state)
    return model.eval(), cfg


def winclip(model, class_name, scales, references=None):
    """anomalib's WinClipModel around `model` (open_clip's factory replaced, as docs/reference.md says)."""
    import anomalib.models.image.winclip.torch_model as tm
    original = tm.open_clip.create_model_and_transforms
    tm.open_clip.create_model_and_transforms = lambda *a, **k: (model, None, None)
    try:
        return tm.WinClipModel(class_name=class_name, reference_images=references, scales=scales)
    finally:
        tm.open_clip.create_model_and_transforms = original


@torch.no_grad()
def run(model, size, class_name, scales, images, references):
    pixels = torch.stack([load_and_preprocess(f, size) for f in images])
    ref_pixels = torch.stack([load_and_preprocess(f, size) for f in references])
    out = {"pixels": pixels.contiguous(), "ref_pixels": ref_pixels.contiguous()}
    zs = winclip(model, class_name, scales)
    out["text_embeddings"] = zs.text_embeddings.contiguous()
    results = [zs(p[None]) for p in pixels]  # batch size 1, as the engine scores images
    out["zero_scores"] = torch.cat([r.pred_score for r in results]).contiguous()
    out["zero_maps"] = torch.cat([r.anomaly_map for r in results]).contiguous()
    fs = winclip(model, class_name, scales, references=ref_pixels)
    results = [fs(p[None]) for p in pixels]
    out["few_scores"] = torch.cat([r.pred_score for r in results]).contiguous()
    out["few_maps"] = torch.cat([r.anomaly_map for r in results]).contiguous()
    return out


def write(out_dir, images, references):
    for name, case in CASES.items():
        model, cfg = load_model(out_dir, name)
        out = run(model, cfg["vision_cfg"]["image_size"], case["class_name"], case["scales"], images, references)
        meta = {"class_name": case["class_name"], "scales": json.dumps(list(case["scales"])),
                "images": json.dumps([os.path.relpath(p, out_dir) for p in images]),
                "reference_images": json.dumps([os.path.relpath(p, out_dir) for p in references]), **provenance()}
        save_file(out, os.path.join(out_dir, name + fixture_suffix()), metadata=meta)


def write_full_size(full_dir, images, references, class_name="transistor"):
    """anomalib on the full-size random-weight export of clip_models.write_full_size."""
    model = open_clip.create_model("ViT-B-16-plus-240", pretrained=None)
    model.load_state_dict(load_file(os.path.join(full_dir, "ViT-B-16-plus-240.safetensors")))
    model.eval()
    t0 = time.perf_counter()
    winclip(model, class_name, (2, 3))
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = run(model, 240, class_name, (2, 3), images, references)
    total = time.perf_counter() - t0
    meta = {"class_name": class_name, "scales": "[2, 3]", "images": json.dumps([os.path.abspath(p) for p in images]),
            "reference_images": json.dumps([os.path.abspath(p) for p in references]),
            "anomalib_text_setup_seconds": f"{setup:.2f}", "anomalib_run_seconds": f"{total:.2f}", **provenance()}
    save_file(out, os.path.join(full_dir, "ViT-B-16-plus-240" + fixture_suffix()), metadata=meta)
    print(f"anomalib text setup (model built, 231 prompts): {setup:.2f} s; scoring run: {total:.2f} s")
