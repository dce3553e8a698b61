"""A small MVTec-AD-layout category for the decision tests (thresholds, pred_label, predicted
masks through `submit`): real texture (scikit-image's gravel), drawn defects of two types with
their masks, images of two sizes (non-square ones too, so masks are squashed to the model's square
input as anomalib's pre-processor does), and masks that are not plain 0/255 (values 1 and RGB),
which anomalib's `read_mask` (`convert("L") > 0`) still reads as defects.

    gravel/train/good/000..003.png                 (72 x 56)
    gravel/test/good/000..004.png                  (72 x 56, 004: 60 x 60)
    gravel/test/hole/000..002.png                  dark ellipses; ground_truth/hole/<stem>_mask.png
    gravel/test/scratch/000..001.png               bright lines; ground_truth/scratch/<stem>_mask.png

Only PNG, as anomalib's MVTec reader lists only PNG files, so anomalib's own
`make_mvtec_ad_dataset` finds the same images and masks (Tools/reference/job_thresholds_reference.py).

Usage: python mvtec_decisions.py OUT_DIR   (e.g. Tests/Fixtures)
"""
import os
import sys

import numpy as np
from PIL import Image, ImageDraw
from skimage import data


def write(out_dir):
    root = os.path.join(out_dir, "mvtec-decisions", "gravel")
    for d in ["train/good", "test/good", "test/hole", "test/scratch", "ground_truth/hole", "ground_truth/scratch"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    grey = data.gravel()  # 512 x 512
    rgb = np.stack([grey, (grey * 0.9).astype(np.uint8), (grey * 0.7 + 30).astype(np.uint8)], axis=-1)

    def crop(y, x, w=72, h=56):
        return Image.fromarray(rgb[y:y + h, x:x + w])

    spots = [(10 + 45 * i, 20 + 37 * i) for i in range(10)] + [(300, 60), (60, 300), (420, 420), (200, 380)]
    for i in range(4):
        crop(*spots[i]).save(os.path.join(root, f"train/good/{i:03d}.png"))
    for i in range(5):
        size = (60, 60) if i == 4 else (72, 56)
        crop(*spots[4 + i], *size).save(os.path.join(root, f"test/good/{i:03d}.png"))

    holes = [((14, 10, 34, 26), 255, "L"), ((40, 28, 66, 50), 1, "L"), ((5, 30, 20, 52), 255, "RGB")]
    for i, (box, value, mode) in enumerate(holes):
        img = crop(*spots[9 + i])
        ImageDraw.Draw(img).ellipse(box, fill=(25, 20, 15))
        mask = Image.new("L", img.size, 0)
        ImageDraw.Draw(mask).ellipse(box, fill=value)
        img.save(os.path.join(root, f"test/hole/{i:03d}.png"))
        (mask.convert("RGB") if mode == "RGB" else mask).save(os.path.join(root, f"ground_truth/hole/{i:03d}_mask.png"))

    lines = [[(4, 50), (40, 20), (68, 8)], [(10, 6), (30, 40), (36, 54)]]
    for i, line in enumerate(lines):
        img = crop(*spots[12 + i])
        ImageDraw.Draw(img).line(line, fill=(250, 250, 240), width=3)
        mask = Image.new("L", img.size, 0)
        ImageDraw.Draw(mask).line(line, fill=255, width=3)
        img.save(os.path.join(root, f"test/scratch/{i:03d}.png"))
        mask.save(os.path.join(root, f"ground_truth/scratch/{i:03d}_mask.png"))
    return root


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: mvtec_decisions.py OUT_DIR")
    print("wrote", write(sys.argv[1]))
