"""Reference fixtures for WinCLIP's image input (PNG/JPEG decoding and CLIP preprocessing).

write(out_dir) creates
  out_dir/images/<stem>.png|.jpg   small real test images (crops/downsizes of scikit-image's
                                   bundled photos) in every PNG pixel format and a few JPEG kinds;
  out_dir/images/unsupported_cmyk.jpg  a CMYK JPEG (not in the file list) that must be refused;
  out_dir/images.safetensors       per image stem X:
                                     X.rgb  Pillow's Image.open(p).convert("RGB") pixels, [H, W, 3]
                                            (stored as F16, which holds 0..255 exactly)
                                     X.s48, X.s64  the torchvision v2 CLIP pipeline output,
                                            float32 [3, S, S]
                                   and __metadata__ {"files": json list of image file names}.

Run:  /work/refenv/bin/python Tools/reference/images.py Tests/Fixtures
"""

import io
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import save_file
from skimage import data as skdata
from torchvision.transforms import v2

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIZES = (48, 64)


# ----------------------------------------------------------------------------- PNG writer
# Pillow cannot write 2/4-bit grey, 16-bit RGB(A) or grey+alpha, or interlaced PNGs, so those
# are encoded here (all five filter types used in turn, so every libpng unfilter path runs).

_ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def _pack_row(samples, bit_depth):
    if bit_depth == 16:
        return samples.astype(">u2").tobytes()
    if bit_depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // bit_depth
    n = len(samples)
    padded = np.zeros(-(-n // per_byte) * per_byte, dtype=np.uint16)
    padded[:n] = samples
    padded = padded.reshape(-1, per_byte)
    packed = np.zeros(len(padded), dtype=np.uint16)
    for k in range(per_byte):
        packed |= padded[:, k] << (8 - bit_depth * (k + 1))
    return packed.astype(np.uint8).tobytes()


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _filter_rows(rows, bpp, first_filter):
    out = []
    prev = np.zeros(len(rows[0]), dtype=np.int32) if rows else None
    for y, raw in enumerate(rows):
        cur = np.frombuffer(raw, dtype=np.uint8).astype(np.int32)
        left = np.concatenate([np.zeros(bpp, np.int32), cur[:-bpp]]) if len(cur) > bpp else np.zeros_like(cur)
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]]) if len(cur) > bpp else np.zeros_like(cur)
        ftype = (first_filter + y) % 5
        if ftype == 0:
            f = cur
        elif ftype == 1:
            f = cur - left
        elif ftype == 2:
            f = cur - prev
        elif ftype == 3:
            f = cur - (left + prev) // 2
        else:
            f = cur - _paeth(left, prev, upleft)
        out.append(bytes([ftype]) + (f & 0xFF).astype(np.uint8).tobytes())
        prev = cur
    return b"".join(out)


def encode_png(arr, color_type, bit_depth, palette=None, trns=None, interlace=False, extra=()):
    """arr: integer samples [h, w] or [h, w, c] already in the file's range."""
    arr = np.asarray(arr)
    h, w = arr.shape[:2]
    ch = _CHANNELS[color_type]
    arr = arr.reshape(h, w, ch)
    bpp = max(1, ch * bit_depth // 8)

    def encode(sub, first_filter):
        rows = [_pack_row(sub[y].reshape(-1), bit_depth) for y in range(sub.shape[0])]
        return _filter_rows(rows, bpp, first_filter)

    if interlace:
        raw = b""
        for k, (x0, y0, dx, dy) in enumerate(_ADAM7):
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += encode(sub, k)
    else:
        raw = encode(arr, 0)
    out = b"\x89PNG\r\n\x1a\n"
    out += _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    for kind, payload in extra:
        out += _chunk(kind, payload)
    if palette is not None:
        out += _chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += _chunk(b"tRNS", trns)
    comp = zlib.compress(raw, 9)
    # Split the image data over several IDAT chunks, as large files have.
    for i in range(0, len(comp), 4096):
        out += _chunk(b"IDAT", comp[i:i + 4096])
    out += _chunk(b"IEND", b"")
    return out


# ----------------------------------------------------------------------------- sources

def _resize(arr, w, h):
    mode = "L" if arr.ndim == 2 else ("RGBA" if arr.shape[2] == 4 else "RGB")
    return np.asarray(Image.fromarray(arr, mode).resize((w, h), Image.LANCZOS))


def _crop(arr, y, x, h, w):
    return np.ascontiguousarray(arr[y:y + h, x:x + w])


def _ruler(w, h):
    """Black ticks on white, 1-px lines every 2 px, longer ticks every 10 and 50: aliasing bait."""
    img = np.full((h, w, 3), 255, dtype=np.uint8)
    for x in range(0, w, 2):
        length = h if x % 50 == 0 else (h * 2 // 3 if x % 10 == 0 else h // 3)
        img[h - length:, x] = (0, 0, 0)
    img[:2, :] = (200, 30, 30)       # a hard red edge along the top
    img[:, -3:] = (20, 20, 160)      # and a blue one on the right
    return img


def _sources():
    astro = skdata.astronaut()
    coffee = skdata.coffee()
    chelsea = skdata.chelsea()
    camera = skdata.camera()
    rocket = skdata.rocket()
    coins = skdata.coins()
    logo = skdata.logo()            # RGBA with real transparency
    return dict(astro=astro, coffee=coffee, chelsea=chelsea, camera=camera, rocket=rocket, coins=coins, logo=logo)


def _images():
    """(file name, encoded bytes) of every fixture image."""
    s = _sources()
    rng = np.random.default_rng(1234)
    out = []

    def pil_png(name, img, **kw):
        b = io.BytesIO()
        img.save(b, "PNG", **kw)
        out.append((name + ".png", b.getvalue()))

    def pil_jpeg(name, img, **kw):
        b = io.BytesIO()
        img.save(b, "JPEG", **kw)
        out.append((name + ".jpg", b.getvalue()))

    def raw_png(name, *args, **kw):
        out.append((name + ".png", encode_png(*args, **kw)))

    # Greyscale at every bit depth.
    cam = _resize(_crop(s["camera"], 40, 120, 300, 200), 100, 150)        # 100x150 grey
    raw_png("grey1", (_resize(s["camera"], 63, 41) > 110).astype(np.uint8), 0, 1)
    raw_png("grey2", _resize(_crop(s["coins"], 0, 0, 300, 380), 95, 75) >> 6, 0, 2)
    raw_png("grey4", _resize(s["camera"], 120, 90) >> 4, 0, 4)
    pil_png("grey8", Image.fromarray(cam, "L"))
    # 16-bit grey: Pillow clips I;16 to 255 on convert, so use a range straddling it (0..~600).
    g16 = (_resize(s["camera"], 80, 60).astype(np.uint16) * 2 + rng.integers(0, 90, (60, 80))).astype(np.uint16)
    raw_png("grey16", g16, 0, 16)
    raw_png("grey8_trns", _resize(s["coins"], 70, 55), 0, 8, trns=struct.pack(">H", 120))
    raw_png("grey2_interlaced", _resize(s["camera"], 37, 29) >> 6, 0, 2, interlace=True)

    # Grey + alpha.
    la = np.dstack([_resize(s["coins"], 90, 70), _resize(s["camera"], 90, 70)])
    pil_png("la8", Image.fromarray(la, "LA"))
    la16 = (la.astype(np.uint16) * 257 + rng.integers(0, 257, la.shape)).astype(np.uint16)
    raw_png("la16", la16, 4, 16)

    # Palette images.
    cat = Image.fromarray(_resize(_crop(s["chelsea"], 0, 60, 300, 340), 136, 120), "RGB")
    pil_png("palette8", cat.quantize(256))
    pil_png("palette8_trns", cat.quantize(64), transparency=bytes(range(0, 256, 4)))
    q16 = Image.fromarray(_resize(s["coffee"], 90, 60), "RGB").quantize(16)
    raw_png("palette4", np.asarray(q16), 3, 4, palette=np.asarray(q16.getpalette()[:48]))
    q4 = Image.fromarray(_resize(s["astro"], 51, 77), "RGB").quantize(4)
    raw_png("palette2_interlaced", np.asarray(q4), 3, 2, palette=np.asarray(q4.getpalette()[:12]), interlace=True)
    q2 = (_resize(s["camera"], 70, 33) > 128).astype(np.uint8)
    raw_png("palette1_trns", q2, 3, 1, palette=[[30, 60, 90], [250, 200, 10]], trns=bytes([0]))
    # Indices past the end of a 5-entry palette (Pillow shows them black).
    oor = (_resize(s["camera"], 40, 30) // 26).astype(np.uint8)  # 0..9
    raw_png("palette8_short", oor, 3, 8, palette=[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255]])

    # Truecolour.
    astro = _resize(_crop(s["astro"], 0, 100, 400, 300), 300, 200)        # wide 300x200 (downscale)
    pil_png("rgb8", Image.fromarray(astro, "RGB"))
    pil_png("rgb8_small", Image.fromarray(_resize(s["coffee"], 31, 47), "RGB"))   # 31x47, upscale
    pil_png("rgb8_exact48", Image.fromarray(_resize(s["chelsea"], 48, 48), "RGB"))  # no-op resize for S=48
    pil_png("rgb8_w64", Image.fromarray(_resize(s["rocket"], 64, 100), "RGB"))  # width already 64
    raw_png("rgb8_trns_gama", _resize(s["coffee"], 77, 52), 2, 8, trns=struct.pack(">HHH", 10, 20, 30),
            extra=[(b"gAMA", struct.pack(">I", 100000)), (b"tEXt", b"Comment\x00gamma 1.0 is ignored by Pillow")])
    raw_png("rgb8_interlaced", _resize(s["rocket"], 83, 61), 2, 8, interlace=True)
    rgb16 = (_resize(s["chelsea"], 60, 45).astype(np.uint16) * 257 + rng.integers(0, 257, (45, 60, 3))).astype(np.uint16)
    raw_png("rgb16", rgb16, 2, 16)
    pil_png("rgba8", Image.fromarray(_resize(s["logo"], 110, 110), "RGBA"))
    rgba16 = (_resize(s["logo"], 57, 43).astype(np.uint16) * 257 + rng.integers(0, 257, (43, 57, 4))).astype(np.uint16)
    raw_png("rgba16", rgba16, 6, 16)
    raw_png("rgba16_interlaced", rgba16[:, :41], 6, 16, interlace=True)
    pil_png("ruler", Image.fromarray(_ruler(257, 61), "RGB"))

    # JPEG.
    pil_jpeg("jpeg_rgb420", Image.fromarray(astro, "RGB"), quality=90)
    pil_jpeg("jpeg_rgb444", Image.fromarray(_resize(s["coffee"], 150, 100), "RGB"), quality=92, subsampling=0)
    pil_jpeg("jpeg_rgb422_odd", Image.fromarray(_resize(s["rocket"], 97, 61), "RGB"), quality=85, subsampling=1)
    pil_jpeg("jpeg_progressive", Image.fromarray(_resize(s["chelsea"], 160, 106), "RGB"), quality=88, progressive=True)
    pil_jpeg("jpeg_grey", Image.fromarray(_resize(s["camera"], 90, 120), "L"), quality=90)
    pil_jpeg("jpeg_grey_progressive", Image.fromarray(_resize(s["coins"], 43, 35), "L"), quality=80, progressive=True)
    pil_jpeg("jpeg_ruler", Image.fromarray(_ruler(200, 40), "RGB"), quality=75)
    return out


# ----------------------------------------------------------------------------- references

def _pipeline(size):
    return v2.Compose([
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Resize((size, size), interpolation=v2.InterpolationMode.BICUBIC, antialias=True),
        v2.Normalize(mean=CLIP_MEAN, std=CLIP_STD),
    ])


def write(out_dir):
    image_dir = os.path.join(out_dir, "images")
    os.makedirs(image_dir, exist_ok=True)
    pipelines = {s: _pipeline(s) for s in SIZES}
    tensors = {}
    files = []
    total = 0
    for name, payload in _images():
        path = os.path.join(image_dir, name)
        with open(path, "wb") as f:
            f.write(payload)
        total += len(payload)
        files.append(name)
        stem = os.path.splitext(name)[0]
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        pixels = np.asarray(rgb)
        tensors[f"{stem}.rgb"] = pixels.astype(np.float16)
        for s, pipe in pipelines.items():
            x = pipe(rgb)
            tensors[f"{stem}.s{s}"] = np.ascontiguousarray(x.numpy().astype(np.float32))
    # Not a fixture of the file list: a CMYK JPEG, which the loader must refuse.
    b = io.BytesIO()
    Image.fromarray(_resize(skdata.coffee(), 40, 30), "RGB").convert("CMYK").save(b, "JPEG", quality=85)
    with open(os.path.join(image_dir, "unsupported_cmyk.jpg"), "wb") as f:
        f.write(b.getvalue())
    reference = os.path.join(out_dir, "images.safetensors")
    save_file(tensors, reference, metadata={"files": json.dumps(files)})
    os.chmod(reference, 0o644)
    return files, total


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    files, total = write(sys.argv[1])
    print(f"wrote {len(files)} images ({total} bytes) and images.safetensors to {sys.argv[1]}")
