"""Small open_clip models with random weights, and what open_clip computes with them.

Writes, per model NAME, into the fixture folder:
  NAME.json                  open_clip model config (the engine reads it by path)
  NAME.safetensors           weights with open_clip state-dict names (F32, or F16 for one model)
  NAME.expected.safetensors  inputs and open_clip's float32 outputs:
     pixels [B,3,S,S]           preprocessed real images (the images' files are in metadata)
     tokens_before_ln_pre [B,T,W]
     image_embeddings [B,E]     encode_image (not normalised)
     patch_tokens [B,G*G,W]     patch tokens after ln_post (output_tokens=True)
     seq_lengths [N], seq_rows [R] row indices into image 0's tokens for a ragged batch of
     sequences (class token + a subset of patches, like WinCLIP's windows);
     seq_embeddings [N,E]       ln_pre -> transformer -> ln_post -> class token -> proj, per sequence
     text_ids [P,77], text_embeddings [P,E]  encode_text (not normalised)
"""
import json
import os

import numpy as np
import torch
import open_clip
from safetensors.torch import save_file

from preprocess import load_and_preprocess

MODELS = {
    # Plain GELU, weights stored as F32; grid 6.
    "tiny-vit-48": {
        "dtype": "F32",
        "config": {
            "embed_dim": 32,
            "vision_cfg": {"image_size": 48, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 2},
        },
    },
    # QuickGELU, LayerScale, mlp_ratio 2, grid 7; weights stored as F16.
    "tiny-vit-56-quickgelu": {
        "dtype": "F16",
        "config": {
            "embed_dim": 24,
            "quick_gelu": True,
            "vision_cfg": {"image_size": 56, "layers": 2, "width": 48, "patch_size": 8, "head_width": 16,
                           "mlp_ratio": 2.0, "ls_init_value": 0.5},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1,
                         "ls_init_value": 0.5},
        },
    },
}

TEXTS = [
    "a photo of a flawless object.",
    "a cropped photo of the damaged transistor.",
    "a bright photo of a metal nut with defect.",
    "café crème — naïve façade",
    "",
    "word " * 90,
]


def build(cfg, seed):
    torch.manual_seed(seed)
    model = open_clip.CLIP(
        embed_dim=cfg["embed_dim"],
        vision_cfg=cfg["vision_cfg"],
        text_cfg=cfg["text_cfg"],
        quick_gelu=cfg.get("quick_gelu", False),
    )
    # Random init leaves some tensors at constants (biases 0, LN 1/0, LayerScale gamma):
    # perturb everything so that a wrong name or order cannot go unnoticed.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            p.add_(torch.randn_like(p) * 0.02)
    return model.eval()


def round_to(model, dtype):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


@torch.no_grad()
def run_transformer(visual, x):
    """The vision transformer on [N, L, D]: open_clip >= 2.26.1 is batch-first; older
    releases (2.24.0, anomalib's pin) take [L, N, D]."""
    if getattr(visual.transformer, "batch_first", False):
        return visual.transformer(x)
    return visual.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)


def expected(model, cfg, image_files):
    size = cfg["vision_cfg"]["image_size"]
    pixels = torch.stack([load_and_preprocess(f, size) for f in image_files])
    visual = model.visual
    captured = {}
    hook = visual.patch_dropout.register_forward_hook(lambda m, i, o: captured.setdefault("x", i[0].clone()))
    visual.output_tokens = True
    embeddings, patch_tokens = visual(pixels)
    hook.remove()
    before = captured["x"]  # [B, T, W]

    # A ragged batch of sequences from image 0: class token + patch subsets (1-based rows).
    g = size // cfg["vision_cfg"]["patch_size"]
    subsets = [[1, 2, 1 + g, 2 + g], list(range(1, 1 + g * g, 3)), [g * g], list(range(1, 10))]
    seq_rows, seq_lengths, seq_embeddings = [], [], []
    for s in subsets:
        rows = [0] + s
        x = before[0, rows].unsqueeze(0)
        x = visual.ln_pre(x)
        x = run_transformer(visual, x)
        x = visual.ln_post(x)
        seq_embeddings.append((x[:, 0] @ visual.proj)[0])
        seq_rows += rows
        seq_lengths.append(len(rows))

    tokenizer = open_clip.get_tokenizer("ViT-B-16-plus-240")
    ids = tokenizer(TEXTS)
    text_embeddings = model.encode_text(ids)
    return {
        "pixels": pixels.contiguous(),
        "tokens_before_ln_pre": before.contiguous(),
        "image_embeddings": embeddings.contiguous(),
        "patch_tokens": patch_tokens.contiguous(),
        "seq_rows": torch.tensor(seq_rows, dtype=torch.int64),
        "seq_lengths": torch.tensor(seq_lengths, dtype=torch.int64),
        "seq_embeddings": torch.stack(seq_embeddings).contiguous(),
        "text_ids": ids.to(torch.int64).contiguous(),
        "text_embeddings": text_embeddings.contiguous(),
    }


def write_model(out_dir, name, spec, image_files, seed):
    cfg = spec["config"]
    model = build(cfg, seed)
    store = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[spec["dtype"]]
    round_to(model, store)  # the reference computes with exactly the stored values
    state = {k: v.detach().to(store).contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(out_dir, f"{name}.safetensors"))
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    exp = expected(model, cfg, image_files)
    rel = [os.path.relpath(p, out_dir) for p in image_files]
    save_file(exp, os.path.join(out_dir, f"{name}.expected.safetensors"),
              metadata={"images": json.dumps(rel), "texts": json.dumps(TEXTS)})
    return model


def write(out_dir, image_files, full_size_dir=None):
    for seed, (name, spec) in enumerate(MODELS.items()):
        write_model(out_dir, name, spec, image_files, seed)
    if full_size_dir:
        write_full_size(full_size_dir, image_files)


def write_full_size(out_dir, image_files, seed=100):
    """ViT-B-16-plus-240 with random weights (about 830 MB): not committed; for the closing check."""
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(seed)
    model, _, _ = open_clip.create_model_and_transforms("ViT-B-16-plus-240", pretrained=None)
    model.eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              os.path.join(out_dir, "ViT-B-16-plus-240.safetensors"))
    cfg = open_clip.get_model_config("ViT-B-16-plus-240")
    exp = expected(model, cfg, image_files)
    rel = [os.path.abspath(p) for p in image_files]
    save_file(exp, os.path.join(out_dir, "ViT-B-16-plus-240.expected.safetensors"),
              metadata={"images": json.dumps(rel), "texts": json.dumps(TEXTS)})
