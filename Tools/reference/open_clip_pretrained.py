"""Writes Tests/Fixtures/open_clip_pretrained.json: open_clip's pretrained tags for the built-in
configs (hub repository and QuickGELU flag), which Tests/HubTests compares with the Swift table.

Run by hand, never by CI. Needs only the open_clip package's source folder (no torch: only
pretrained.py, constants.py and version.py are loaded), e.g. the 3.3.0 wheel unpacked:
    pip download --no-deps open_clip_torch==3.3.0 -d /tmp/oc && python3 -m zipfile -e /tmp/oc/*.whl /tmp/oc/x
    python3 Tools/reference/open_clip_pretrained.py /tmp/oc/x/open_clip
(tqdm must be importable: pip install tqdm.)
"""
import argparse
import importlib
import importlib.util
import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "open_clip_pretrained.json")
CONFIGS = ["ViT-B-16-plus-240", "ViT-B-16", "ViT-B-32"]


def load_pretrained(source_dir):
    # A package stub named after the folder, so that pretrained.py's relative imports
    # (.constants, .version) resolve without running open_clip/__init__.py (which needs torch).
    package = types.ModuleType("open_clip_reference")
    package.__path__ = [source_dir]
    sys.modules["open_clip_reference"] = package
    return importlib.import_module("open_clip_reference.pretrained")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source_dir", help="open_clip's package folder (holding pretrained.py)")
    ap.add_argument("--out", default=FIXTURE)
    args = ap.parse_args()
    pretrained = load_pretrained(os.path.abspath(args.source_dir))
    version = importlib.import_module("open_clip_reference.version").__version__
    table = {}
    for config in CONFIGS:
        tags = []
        for tag in pretrained.list_pretrained_tags_by_model(config):
            cfg = pretrained.get_pretrained_cfg(config, tag)
            tags.append({"tag": tag, "hf_hub": cfg.get("hf_hub", ""), "quick_gelu": bool(cfg.get("quick_gelu", False))})
        table[config] = tags
    with open(args.out, "w") as f:
        json.dump({"open_clip_version": version, "file": pretrained.HF_SAFE_WEIGHTS_NAME, "configs": table}, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out} (open_clip {version})")


if __name__ == "__main__":
    main()
