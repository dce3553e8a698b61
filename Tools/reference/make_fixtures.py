"""Writes the parity fixtures of Tests/Fixtures from open_clip (and, later, anomalib).

Run by hand, never by CI (it needs torch):
    python3 -m venv ../refenv && ../refenv/bin/pip install torch open_clip_torch anomalib safetensors scikit-image
    ../refenv/bin/python Tools/reference/make_fixtures.py [--full-size DIR]

--full-size DIR also exports ViT-B-16-plus-240 with random weights (about 830 MB, not
committed) and its expected outputs, for the full-size parity check.
"""
import argparse
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "Fixtures")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=FIXTURES)
    ap.add_argument("--full-size", default=None, help="folder for the full-size random-weight model (not committed)")
    ap.add_argument("--only", choices=["tokens", "images", "models"], default=None)
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    if args.only in (None, "tokens"):
        import tokens
        tokens.write(out)
    if args.only in (None, "images"):
        import images
        images.write(out)
    if args.only in (None, "models"):
        import clip_models
        files = sorted(glob.glob(os.path.join(out, "images", "*")))
        # A few of the real images of several sizes and colour types (see images.py).
        chosen = [f for f in files if any(k in os.path.basename(f) for k in MODEL_IMAGES)]
        if not chosen:
            chosen = files[:4]
        clip_models.write(out, chosen, args.full_size)


# Substrings of image file names used for the model fixtures (kept small: 4 images).
MODEL_IMAGES = ["rgb8", "gray8", "rgba", "jpeg_rgb"]

if __name__ == "__main__":
    main()
