"""Writes every parity fixture of Tests/Fixtures from open_clip, anomalib, torchvision, Pillow.

Run by hand, never by CI (it needs torch), from the repository root. The reference is anomalib
as it pins itself (its `clip` extra: open_clip_torch 2.24.0); see docs/reference.md:
    python3 -m venv ../refenv
    ../refenv/bin/pip install torch "anomalib[clip]" safetensors scikit-image matplotlib
    ../refenv/bin/python Tools/reference/make_fixtures.py [--full-size DIR]
The fixtures of the opt-in `cross` window attention come from the same environment with
open_clip 3.3.0 put in front of it (outside anomalib's range, so not installed into the venv):
    ../refenv/bin/pip install --no-deps --target ../openclip-3.3 open_clip_torch==3.3.0
    PYTHONPATH=../openclip-3.3 ../refenv/bin/python Tools/reference/make_fixtures.py --only winclip

--full-size DIR also exports ViT-B-16-plus-240 with random weights (about 830 MB, not
committed), open_clip's and anomalib's outputs for it, and anomalib's text-setup time; the
Swift tests read it when WINCLIP_FULLSIZE_DIR=DIR is set.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "Fixtures")

# Real images of several sizes and colour types (written by images.py).
MODEL_IMAGES = ["rgb8.png", "grey8.png", "rgba8.png", "jpeg_rgb420.jpg"]
REFERENCE_IMAGES = ["la8.png", "jpeg_rgb444.jpg"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=FIXTURES)
    ap.add_argument("--full-size", default=None, help="folder for the full-size random-weight model (not committed)")
    ap.add_argument("--only", choices=["tokens", "images", "formats", "masks", "metrics", "thresholds", "pictures", "models", "winclip", "mvtec", "full-size"],
                    default=None, help="write one part only (full-size: only the --full-size export)")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    def want(part):
        return args.only in (None, part)

    if want("tokens"):
        import tokens
        tokens.write(out)
    if want("images"):
        import images
        images.write(out)
    if want("formats"):
        try:
            import formats  # needs tifffile and imagecodecs besides Pillow (see formats.py)
        except ImportError as e:
            if args.only == "formats":
                raise
            print(f"formats fixtures NOT rewritten ({e}); pip install tifffile imagecodecs, then --only formats")
        else:
            formats.write(out)
    if want("masks"):
        import masks
        masks.main()
    if want("metrics"):
        import metrics_reference
        metrics_reference.write(out)
    if want("thresholds"):
        import thresholds_reference
        thresholds_reference.write(out)
    if want("pictures"):  # matplotlib's jet as Swift source, Pillow blending and contours
        import picture_reference
        picture_reference.main(os.path.join(HERE, "..", ".."))
    chosen = [os.path.join(out, "images", f) for f in MODEL_IMAGES]
    refs = [os.path.join(out, "images", f) for f in REFERENCE_IMAGES]
    if want("models"):
        import clip_models
        clip_models.write(out, chosen)
    if want("winclip"):
        import winclip_reference
        import mvtec_tiny
        print(f"WinCLIP fixtures from open_clip {winclip_reference.open_clip_version()}: "
              f"window attention '{winclip_reference.window_attention()}'")
        winclip_reference.write(out, chosen, refs)
        if args.only == "winclip":
            mvtec_tiny.write_expected(out)
    if want("mvtec"):
        import mvtec_tiny
        mvtec_tiny.write(out)
    if args.full_size:
        import clip_models
        import winclip_reference
        clip_models.write_full_size(args.full_size, chosen)
        winclip_reference.write_full_size(args.full_size, chosen, refs)


if __name__ == "__main__":
    main()
