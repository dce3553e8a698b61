"""A tiny MVTec-AD-layout dataset of real images (scikit-image's brick texture) for the
cluster tests, and anomalib's WinClipModel results on it for the fixture model.

    tile/train/good/000.png..002.png
    tile/test/good/000.png, 001.png
    tile/test/crack/000.png, 001.jpg  (a drawn crack) + ground_truth/crack/000_mask.png, 001_mask.png
    tile/test/crack/002.png           (truncated file: must become an error row)
    tile/readme.txt                   (not an image: skipped)

Expected results (tile.winclip.safetensors, or tile.winclip-cross.safetensors on open_clip >=
2.26.1: see winclip_reference.py): anomalib on tiny-vit-48, zero-shot and 2-shot (train/good
000, 001), for every decodable test image in sorted relative-path order.
"""
import json
import os

import numpy as np
from PIL import Image, ImageDraw
from skimage import data


def crop(img, y, x, size=64):
    return Image.fromarray(img[y:y + size, x:x + size])


def write(out_dir):
    root = os.path.join(out_dir, "mvtec-tiny", "tile")
    for d in ["train/good", "test/good", "test/crack", "ground_truth/crack"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    brick = data.brick()  # 512x512 grey
    rgb = np.stack([brick, (brick * 0.8).astype(np.uint8), (brick * 0.6).astype(np.uint8)], axis=-1)
    spots = [(0, 0), (64, 200), (300, 40), (128, 128), (400, 400), (200, 300), (350, 150)]
    for i in range(3):
        crop(rgb, *spots[i]).save(os.path.join(root, f"train/good/{i:03d}.png"))
    for i in range(2):
        crop(rgb, *spots[3 + i]).save(os.path.join(root, f"test/good/{i:03d}.png"))
    for i, ext in enumerate(["png", "jpg"]):
        img = crop(rgb, *spots[5 + i])
        mask = Image.new("L", img.size, 0)
        draw, mdraw = ImageDraw.Draw(img), ImageDraw.Draw(mask)
        line = [(10 + 7 * i, 8), (30, 30 + 5 * i), (50, 44)]
        draw.line(line, fill=(20, 20, 20), width=4)
        mdraw.line(line, fill=255, width=4)
        img.save(os.path.join(root, f"test/crack/{i:03d}.{ext}"), **({"quality": 92} if ext == "jpg" else {}))
        mask.save(os.path.join(root, f"ground_truth/crack/{i:03d}_mask.png"))
    good = open(os.path.join(root, "test/good/000.png"), "rb").read()
    with open(os.path.join(root, "test/crack/002.png"), "wb") as f:
        f.write(good[: len(good) // 2])
    mask = Image.new("L", (64, 64), 0)
    mask.save(os.path.join(root, "ground_truth/crack/002_mask.png"))
    with open(os.path.join(root, "readme.txt"), "w") as f:
        f.write("not an image\n")
    write_expected(out_dir)


def write_expected(out_dir):
    """anomalib's results on the dataset written by `write` (which must exist)."""
    root = os.path.join(out_dir, "mvtec-tiny", "tile")
    import winclip_reference as wr
    import torch
    from safetensors.torch import save_file
    model, cfg = wr.load_model(out_dir, "tiny-vit-48")
    tests = ["test/crack/000.png", "test/crack/001.jpg", "test/good/000.png", "test/good/001.png"]
    refs = ["train/good/000.png", "train/good/001.png"]
    out = wr.run(model, cfg["vision_cfg"]["image_size"], "tile", (2, 3),
                 [os.path.join(root, t) for t in tests], [os.path.join(root, r) for r in refs])
    keep = {k: out[k] for k in ["zero_scores", "zero_maps", "few_scores", "few_maps"]}
    save_file(keep, os.path.join(out_dir, "mvtec-tiny", "tile" + wr.fixture_suffix()),
              metadata={"images": json.dumps(tests), "references": json.dumps(refs), "class_name": "tile", **wr.provenance()})
