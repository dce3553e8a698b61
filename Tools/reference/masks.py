"""Writes Tests/Fixtures/masks/: ground-truth masks and what anomalib makes of them at S x S.

Each source mask goes through anomalib's `read_mask(path, as_tensor=True)` (Pillow convert("L"),
then > 0) and WinClip's pre-processor Resize((S, S), antialias=True, interpolation=BICUBIC),
which torchvision v2 applies to a tv_tensors.Mask with NEAREST. The result is stored as an 8-bit
greyscale PNG (0 or 255) named <source stem>.<S>.png.

Run with the reference environment: /work/refenv/bin/python Tools/reference/masks.py
"""

from pathlib import Path

import numpy as np
from PIL import Image
from torchvision.transforms.v2 import InterpolationMode, Resize

from anomalib.data.utils import read_mask

OUT = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "masks"
SIZES = (7, 16, 46, 50, 240)


def sources() -> dict[str, Image.Image]:
    rng = np.random.default_rng(7)
    # 37 wide, 23 high, greyscale: a filled ellipse of 255, scattered 1s (set: > 0) and a block.
    yy, xx = np.mgrid[0:23, 0:37]
    grey = np.where(((xx - 20) / 11.0) ** 2 + ((yy - 10) / 6.0) ** 2 <= 1, 255, 0).astype(np.uint8)
    grey[rng.integers(0, 23, 12), rng.integers(0, 37, 12)] = 1
    grey[18:22, 2:6] = 128
    # 29 wide, 41 high, RGB: values just around Pillow's L threshold (L = (19595 R + 38470 G +
    # 7471 B + 0x8000) >> 16), e.g. (0, 0, 1) -> 0, (0, 1, 0) -> 1, (2, 0, 0) -> 1, (1, 0, 1) -> 0.
    colours = np.array([(0, 0, 0), (0, 0, 1), (1, 0, 0), (0, 1, 0), (2, 0, 0), (1, 0, 1),
                        (0, 0, 4), (0, 0, 5), (255, 255, 255), (3, 0, 0)], dtype=np.uint8)
    rgb = colours[rng.integers(0, len(colours), (41, 29))]
    rgb[5:30, 8:20] = (255, 255, 255)
    return {"grey37x23": Image.fromarray(grey, "L"), "rgb29x41": Image.fromarray(rgb, "RGB")}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for stem, image in sources().items():
        path = OUT / f"{stem}.png"
        image.save(path)
        mask = read_mask(path, as_tensor=True)
        for size in SIZES:
            resize = Resize((size, size), antialias=True, interpolation=InterpolationMode.BICUBIC)
            resized = resize(mask)
            assert type(resized).__name__ == "Mask" and tuple(resized.shape) == (size, size)
            out = (resized.numpy() > 0).astype(np.uint8) * 255
            Image.fromarray(out, "L").save(OUT / f"{stem}.{size}.png", optimize=True)
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
