"""Writes Tests/Fixtures/hf-hub-cache: a cache that huggingface_hub's own `hf_hub_download`
fills from Tools/fake_hub.py. Tests/HubTests reads it offline (a file Python downloaded is
reused) and compares it with the cache the Swift client writes from the same fake hub (same
layout, links, refs and bytes).

Run by hand, never by CI (needs huggingface_hub: pip install huggingface_hub):
    python3 Tools/reference/hub_cache_fixture.py            # writes the fixture
    python3 Tools/reference/hub_cache_fixture.py --check DIR
--check DIR: huggingface_hub, offline, must find both files in the cache DIR (one written by
the Swift client, e.g. by `HF_HUB_CACHE=DIR winclip-coord fetch-weights --weights hf://...`).
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURE = os.path.join(ROOT, "Tests", "Fixtures", "hf-hub-cache")
REPO = "winclip/hub-parity"
FILES = ["open_clip_model.safetensors", "configs/open_clip_config.json"]


def payloads():
    # Small deterministic bytes: a blob whose SHA-256 is the LFS ETag, and a nested file.
    weights = hashlib.sha256(b"winclip hub parity").digest() * 96  # 3072 bytes
    config = b'{"model_cfg": "tiny", "note": "hub cache parity fixture"}\n'
    return {FILES[0]: weights, FILES[1]: config}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=FIXTURE)
    ap.add_argument("--check", default=None, help="a cache written by the Swift client to read offline")
    args = ap.parse_args()

    if args.check:
        os.environ["HF_HUB_OFFLINE"] = "1"
        from huggingface_hub import hf_hub_download
        for name, data in payloads().items():
            path = hf_hub_download(REPO, name, cache_dir=args.check)
            assert open(path, "rb").read() == data, path
            print(f"huggingface_hub found {name} offline: {path}")
        return

    staging = os.path.join(args.out + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.join(staging, "payload"))
    specs = []
    for name, data in payloads().items():
        local = os.path.join(staging, "payload", name.replace("/", "_"))
        with open(local, "wb") as f:
            f.write(data)
        specs += ["--file", f"{REPO}/{name}={local}"]
    hub = subprocess.Popen([sys.executable, os.path.join(ROOT, "Tools", "fake_hub.py")] + specs,
                           stdout=subprocess.PIPE, text=True)
    try:
        endpoint = next(t for t in hub.stdout.readline().split() if t.startswith("http://"))
        os.environ["HF_ENDPOINT"] = endpoint
        os.environ["HF_HUB_DISABLE_XET"] = "1"
        os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
        import huggingface_hub
        from huggingface_hub import hf_hub_download
        cache = os.path.join(staging, "cache")
        for name in FILES:
            hf_hub_download(REPO, name, cache_dir=cache)
    finally:
        hub.terminate()
        hub.wait()
    # Lock files are left empty by huggingface_hub; they are not part of the layout.
    shutil.rmtree(os.path.join(cache, ".locks"), ignore_errors=True)
    shutil.rmtree(args.out, ignore_errors=True)
    shutil.move(cache, args.out)
    shutil.rmtree(staging)
    with open(os.path.join(args.out, "..", "hf-hub-cache.version"), "w") as f:
        f.write(f"huggingface_hub {huggingface_hub.__version__}\n")
    print(f"wrote {args.out} with huggingface_hub {huggingface_hub.__version__}")


if __name__ == "__main__":
    main()
