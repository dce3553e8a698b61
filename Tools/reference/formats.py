"""Reference fixtures for WinCLIP's BMP, TIFF and WebP decoding (and 16-bit grey scaling).

write(out_dir) creates
  out_dir/formats/<stem>.bmp|.tif|.webp  small test images of every supported kind, written by
                                         Pillow where it can, by tifffile (TIFF layouts Pillow
                                         cannot write: tiles, planes, big-endian, predictors,
                                         2/4-bit, orientation) or by the small BMP writer below
                                         (RLE, 4-bit, 16-bit, bit fields, top-down, OS/2 headers);
  out_dir/formats/unsupported_*          files Pillow reads but the loader refuses (not listed);
  out_dir/formats.safetensors            per file stem X:
                                           X.rgb    Pillow's Image.open(p).convert("RGB") pixels
                                                    [H, W, 3] (F16 holds 0..255 exactly)
                                           X.scale  for 16-bit grey files only: the high byte of
                                                    each sample as Pillow reads it (mode I;16),
                                                    the loader's `--sixteen-bit scale` result
                                         and __metadata__ {"files": json list, "pillow", "libwebp",
                                         "libtiff": versions}.
The 16-bit grey PNG of images.py (images/grey16.png) gets its X.scale here too, as "png_grey16".

Needs Pillow, numpy, tifffile, imagecodecs, scikit-image, safetensors (no torch):
    python3 -m venv /work/venv-formats
    /work/venv-formats/bin/pip install pillow==13.0.0 numpy tifffile imagecodecs scikit-image safetensors
    /work/venv-formats/bin/python Tools/reference/formats.py Tests/Fixtures
"""

import io
import json
import os
import struct
import sys

import numpy as np
import tifffile
from PIL import Image, features
from safetensors.numpy import save_file
from skimage import data as skdata


def _resize(arr, w, h):
    mode = "L" if arr.ndim == 2 else ("RGBA" if arr.shape[2] == 4 else "RGB")
    return np.asarray(Image.fromarray(arr, mode).resize((w, h), Image.LANCZOS))


def _with_alpha(rgb):
    """RGBA with real transparency: a radial ramp from opaque to fully transparent corners."""
    h, w = rgb.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    r = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2))
    alpha = np.clip((1.2 - r) * 400, 0, 255).astype(np.uint8)
    return np.concatenate([rgb, alpha[:, :, None]], axis=2)


# ----------------------------------------------------------------------------- BMP writer

def _pack_indices(row, bits):
    """Pack one row of small integers MSB first and pad to 4 bytes."""
    row = np.asarray(row, dtype=np.uint16)
    if bits == 8:
        out = row.astype(np.uint8).tobytes()
    else:
        per = 8 // bits
        padded = np.zeros(-(-len(row) // per) * per, dtype=np.uint16)
        padded[:len(row)] = row
        padded = padded.reshape(-1, per)
        packed = np.zeros(len(padded), dtype=np.uint16)
        for k in range(per):
            packed |= padded[:, k] << (8 - bits * (k + 1))
        out = packed.astype(np.uint8).tobytes()
    return out + b"\0" * (-len(out) % 4)


def bmp(width, height, bits, rows, header_size=40, compression=0, palette=None, colors=None,
        masks=None, top_down=False, data_offset=None):
    """rows: the pixel data already encoded, rows in file order (bytes), or one bytes blob (RLE)."""
    pixel_data = rows if isinstance(rows, (bytes, bytearray)) else b"".join(rows)
    entry = 3 if header_size == 12 else 4
    pal = b""
    if palette is not None:
        for r, g, b in palette:
            pal += bytes([b, g, r]) + (b"\0" if entry == 4 else b"")
    if header_size == 12:
        info = struct.pack("<IHHHH", 12, width, height, 1, bits)
        extra = b""
    else:
        n_colors = colors if colors is not None else (len(palette) if palette is not None else 0)
        info = struct.pack("<IiiHHIIiiII", header_size, width, -height if top_down else height, 1, bits,
                           compression, len(pixel_data), 2835, 2835, n_colors, 0)
        extra = b""
        if masks is not None and header_size == 40:
            extra = struct.pack("<III", *masks[:3])
        elif header_size > 40:
            m = list(masks or (0, 0, 0, 0)) + [0] * 4
            info += struct.pack("<IIII", *m[:4])
            info += b"\0" * (header_size - len(info))
    offset = 14 + len(info) + len(extra) + len(pal)
    header = b"BM" + struct.pack("<IHHI", offset + len(pixel_data), 0, 0,
                                 offset if data_offset is None else data_offset)
    return header + info + extra + pal + pixel_data


def _rle8_rows(indices):
    """RLE8 with encoded runs, absolute runs (odd and even lengths), a delta and end-of-line codes."""
    out = bytearray()
    h, w = indices.shape
    for y in range(h):                       # file order: bottom-up
        row = list(indices[h - 1 - y])
        x = 0
        if y == 3:                           # a delta of 4 pixels right (Pillow fills index 0)
            out += bytes([0, 2, 4, 0])
            x = 4
        while x < w:
            run = 1
            while x + run < w and row[x + run] == row[x] and run < 255:
                run += 1
            if run >= 3 or w - x < 3:
                n = min(run, w - x)
                out += bytes([n, row[x]])
                x += n
            else:
                n = 3
                while x + n < w and n < 255 and not (x + n + 2 < w and row[x + n] == row[x + n + 1] == row[x + n + 2]):
                    n += 1
                out += bytes([0, n]) + bytes(row[x:x + n])
                if n % 2:
                    out += b"\0"
                x += n
        out += bytes([0, 0])
    out += bytes([0, 1])
    return bytes(out)


def _rle4_rows(indices):
    """RLE4: encoded runs of two alternating indices, absolute runs, end-of-line codes."""
    out = bytearray()
    h, w = indices.shape
    for y in range(h):
        row = [int(v) for v in indices[h - 1 - y]]
        x = 0
        while x < w:
            # An encoded run while the pattern a, b, a, b... holds.
            n = 1
            while x + n < w and n < 255 and row[x + n] == row[x + (n % 2)]:
                n += 1
            if n >= 4 or w - x < 4:
                n = min(max(n, 1), w - x)
                second = row[x + 1] if n > 1 else 0
                out += bytes([n, (row[x] << 4) | second])
                x += n
            else:
                n = min(w - x, 7 + (y % 5))      # absolute runs of several lengths, odd and even
                nibbles = row[x:x + n] + [0]
                packed = bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, n, 2))
                out += bytes([0, n]) + packed
                if len(packed) % 2:
                    out += b"\0"
                x += n
        out += bytes([0, 0])
    out += bytes([0, 1])
    return bytes(out)


def _bmp_files(s):
    out = []
    rng = np.random.default_rng(77)
    cat = Image.fromarray(_resize(s["chelsea"], 53, 37), "RGB")
    coffee = _resize(s["coffee"], 47, 31)

    def pil(name, img, **kw):
        b = io.BytesIO()
        img.save(b, "BMP", **kw)
        out.append((name + ".bmp", b.getvalue()))

    # Written by Pillow: 24-bit, 32-bit (alpha), 8-bit palette, 8-bit grey, 1-bit.
    pil("bmp_rgb24", cat)
    pil("bmp_rgba32", Image.fromarray(_with_alpha(_resize(s["coffee"], 41, 29)), "RGBA"))
    pil("bmp_p8", cat.quantize(200))
    pil("bmp_l8", Image.fromarray(_resize(s["camera"], 45, 33), "L"))
    pil("bmp_bilevel", Image.fromarray(_resize(s["camera"], 43, 21) > 100))

    # Palette images from the writer above.
    q16 = Image.fromarray(coffee, "RGB").quantize(16)
    pal16 = np.asarray(q16.getpalette()[:48]).reshape(16, 3)
    idx16 = np.asarray(q16)
    rows4 = [_pack_indices(idx16[y], 4) for y in range(idx16.shape[0] - 1, -1, -1)]
    out.append(("bmp_p4.bmp", bmp(47, 31, 4, rows4, palette=pal16)))
    out.append(("bmp_p4_topdown.bmp", bmp(47, 31, 4, [_pack_indices(r, 4) for r in idx16], palette=pal16, top_down=True)))
    q2 = (_resize(s["camera"], 61, 27) > 128).astype(np.uint8)
    out.append(("bmp_p1_colour.bmp", bmp(61, 27, 1, [_pack_indices(q2[y], 1) for y in range(26, -1, -1)],
                                         palette=[(200, 30, 40), (20, 220, 90)])))
    # A 5-entry palette with indices 0..9: Pillow shows indices past the palette as black.
    short = (_resize(s["camera"], 30, 20) // 26).astype(np.uint8)
    out.append(("bmp_p8_short_palette.bmp", bmp(30, 20, 8, [_pack_indices(short[y], 8) for y in range(19, -1, -1)],
                                                palette=[(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)])))
    # A grey ramp of 100 entries: Pillow reads mode L, so indices past 99 show as their own value.
    ramp = _resize(s["camera"], 33, 25)
    out.append(("bmp_l8_ramp100.bmp", bmp(33, 25, 8, [_pack_indices(ramp[y], 8) for y in range(24, -1, -1)],
                                          palette=[(i, i, i) for i in range(100)])))
    # A black-and-white palette on 8-bit pixels: Pillow reads mode "1", one bit per pixel of the rows.
    bw = (_resize(s["camera"], 30, 20) // 9).astype(np.uint8)
    out.append(("bmp_p8_bw_palette.bmp", bmp(30, 20, 8, [_pack_indices(bw[y], 8) for y in range(19, -1, -1)],
                                             palette=[(0, 0, 0), (255, 255, 255)])))
    # RLE8 with a black-and-white palette (any non-zero index is white) and with a short grey ramp.
    out.append(("bmp_rle8_bw_palette.bmp", bmp(30, 20, 8, _rle8_rows(bw), compression=1, palette=[(0, 0, 0), (255, 255, 255)])))
    out.append(("bmp_rle8_grey_ramp.bmp", bmp(30, 20, 8, _rle8_rows(bw), compression=1, palette=[(i, i, i) for i in range(8)])))
    # OS/2 1.x core header (12 bytes, 3-byte palette entries), 8-bit.
    q256 = Image.fromarray(_resize(s["astro"], 39, 26), "RGB").quantize(256)
    idx = np.asarray(q256)
    pal = np.asarray(q256.getpalette()[:768]).reshape(-1, 3)
    out.append(("bmp_os2_p8.bmp", bmp(39, 26, 8, [_pack_indices(idx[y], 8) for y in range(25, -1, -1)],
                                      header_size=12, palette=pal)))
    # RLE8 and RLE4.
    q8 = Image.fromarray(_resize(s["coffee"], 50, 28), "RGB").quantize(24)
    out.append(("bmp_rle8.bmp", bmp(50, 28, 8, _rle8_rows(np.asarray(q8)), compression=1,
                                    palette=np.asarray(q8.getpalette()[:72]).reshape(-1, 3))))
    q4 = Image.fromarray(_resize(s["chelsea"], 45, 26), "RGB").quantize(16)
    out.append(("bmp_rle4.bmp", bmp(45, 26, 4, _rle4_rows(np.asarray(q4)), compression=2,
                                    palette=np.asarray(q4.getpalette()[:48]).reshape(-1, 3))))

    # 16-bit: every 5-bit (and 6-bit green) value appears. Columns x, rows y.
    y, x = np.mgrid[0:64, 0:32]
    r5, g5, b5 = x % 32, y % 32, (x + y) % 32
    w555 = (r5 << 10 | g5 << 5 | b5).astype("<u2")
    rows = [w555[yy].tobytes() for yy in range(63, -1, -1)]
    out.append(("bmp_rgb555.bmp", bmp(32, 64, 16, rows)))
    w565 = (r5 << 11 | (y % 64) << 5 | b5).astype("<u2")
    out.append(("bmp_rgb565_bitfields.bmp", bmp(32, 64, 16, [w565[yy].tobytes() for yy in range(63, -1, -1)],
                                                compression=3, masks=(0xF800, 0x07E0, 0x001F))))
    out.append(("bmp_rgb555_v4.bmp", bmp(32, 64, 16, rows, header_size=108, compression=3,
                                         masks=(0x7C00, 0x03E0, 0x001F, 0))))
    # 24-bit top-down, odd width (row padding).
    c = _resize(s["rocket"], 35, 23)
    out.append(("bmp_rgb24_topdown.bmp", bmp(35, 23, 24, [c[yy][:, ::-1].tobytes() + b"\0" * (-35 * 3 % 4) for yy in range(23)],
                                             top_down=True)))
    # 32-bit: plain BGRX with a non-zero fourth byte, XBGR bit fields, and v5 BGRA with alpha.
    a = _resize(s["astro"], 29, 19)
    alpha = rng.integers(0, 256, (19, 29, 1), dtype=np.uint8)
    bgrx = np.concatenate([a[:, :, ::-1], alpha], axis=2)
    out.append(("bmp_bgrx32.bmp", bmp(29, 19, 32, [bgrx[yy].tobytes() for yy in range(18, -1, -1)])))
    xbgr = np.concatenate([alpha, a[:, :, ::-1]], axis=2)  # bytes X B G R: R in the top byte
    out.append(("bmp_xbgr32_bitfields.bmp", bmp(29, 19, 32, [xbgr[yy].tobytes() for yy in range(18, -1, -1)], compression=3,
                                                masks=(0xFF000000, 0x00FF0000, 0x0000FF00))))
    out.append(("bmp_bgra32_v5.bmp", bmp(29, 19, 32, [bgrx[yy].tobytes() for yy in range(18, -1, -1)], header_size=124,
                                         compression=3, masks=(0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000))))
    # Pixel data offset 0 (Pillow reads right after the palette).
    out.append(("bmp_p4_offset0.bmp", bmp(47, 31, 4, rows4, palette=pal16, data_offset=0)))
    return out


# ----------------------------------------------------------------------------- TIFF

def _tiff_bytes(arr, **kw):
    b = io.BytesIO()
    tifffile.imwrite(b, arr, **kw)
    return b.getvalue()


def _tiff_files(s):
    out = []
    rng = np.random.default_rng(99)
    rgb = _resize(s["astro"], 52, 38)
    grey = _resize(s["camera"], 50, 36)

    def pil(name, img, **kw):
        b = io.BytesIO()
        img.save(b, "TIFF", **kw)
        out.append((name + ".tif", b.getvalue()))

    # Written by Pillow (libtiff): each compression, grey, 16-bit grey, bilevel, palette, RGBA.
    im = Image.fromarray(rgb, "RGB")
    pil("tiff_rgb8_raw", im)
    pil("tiff_rgb8_lzw", im, compression="tiff_lzw")
    pil("tiff_rgb8_deflate", im, compression="tiff_adobe_deflate")
    pil("tiff_rgb8_packbits", im, compression="packbits")
    pil("tiff_grey8_lzw", Image.fromarray(grey, "L"), compression="tiff_lzw")
    g16 = (grey.astype(np.uint16) * 2 + rng.integers(0, 90, grey.shape)).astype(np.uint16)  # straddles 255
    pil("tiff_grey16_lzw", Image.fromarray(g16), compression="tiff_lzw")
    pil("tiff_bilevel_packbits", Image.fromarray(_resize(s["camera"], 45, 30) > 90), compression="packbits")
    pil("tiff_palette8_deflate", Image.fromarray(_resize(s["coffee"], 48, 32), "RGB").quantize(64), compression="tiff_adobe_deflate")
    pil("tiff_rgba8_lzw", Image.fromarray(_with_alpha(_resize(s["coffee"], 40, 40)), "RGBA"), compression="tiff_lzw")

    # Written by tifffile: layouts Pillow does not write.
    full16 = (grey.astype(np.uint16) * 257 + rng.integers(0, 257, grey.shape)).astype(np.uint16)  # full range
    out.append(("tiff_grey16_full_deflate.tif", _tiff_bytes(full16, photometric="minisblack", compression="zlib")))
    out.append(("tiff_grey16_be_tiled.tif", _tiff_bytes(full16, photometric="minisblack", byteorder=">", tile=(16, 16),
                                                       compression="lzw", predictor=True)))
    out.append(("tiff_grey8_miniswhite.tif", _tiff_bytes(grey, photometric="miniswhite")))
    out.append(("tiff_grey8_tiled_packbits.tif", _tiff_bytes(grey, photometric="minisblack", tile=(16, 32), compression="packbits")))
    out.append(("tiff_grey4.tif", _tiff_bytes(grey >> 4, photometric="minisblack", bitspersample=4)))
    out.append(("tiff_grey2_miniswhite.tif", _tiff_bytes(grey >> 6, photometric="miniswhite", bitspersample=2)))
    out.append(("tiff_rgb8_tiled_lzw.tif", _tiff_bytes(rgb, photometric="rgb", tile=(16, 16), compression="lzw")))
    out.append(("tiff_rgb8_be_predictor.tif", _tiff_bytes(rgb, photometric="rgb", byteorder=">", compression="zlib",
                                                          predictor=True, rowsperstrip=7)))
    out.append(("tiff_rgb8_planar_lzw.tif", _tiff_bytes(np.moveaxis(rgb, 2, 0).copy(), photometric="rgb",
                                                        planarconfig="separate", compression="lzw")))
    rgb16 = (rgb.astype(np.uint16) * 257 + rng.integers(0, 257, rgb.shape)).astype(np.uint16)
    out.append(("tiff_rgb16_deflate.tif", _tiff_bytes(rgb16, photometric="rgb", compression="zlib")))
    out.append(("tiff_rgb16_be_tiled.tif", _tiff_bytes(rgb16, photometric="rgb", byteorder=">", tile=(16, 16))))
    rgbx = np.concatenate([rgb, rng.integers(0, 256, rgb.shape[:2] + (1,), dtype=np.uint8)], axis=2)
    out.append(("tiff_rgbx8_unspecified.tif", _tiff_bytes(rgbx, photometric="rgb", extrasamples=[0])))
    rgba16 = np.concatenate([rgb16, rng.integers(0, 65536, rgb.shape[:2] + (1,), dtype=np.uint16)], axis=2)
    out.append(("tiff_rgba16_lzw.tif", _tiff_bytes(rgba16, photometric="rgb", extrasamples=[2], compression="lzw")))
    # A palette whose 16-bit ColorMap has low bytes Pillow drops (value // 256).
    q = Image.fromarray(_resize(s["chelsea"], 44, 30), "RGB").quantize(40)
    cmap = rng.integers(0, 65536, (3, 256)).astype(np.uint16)
    cmap[:, :40] = (np.asarray(q.getpalette()[:120]).reshape(40, 3).T * 257 + rng.integers(0, 257, (3, 40))).astype(np.uint16)
    out.append(("tiff_palette8_colormap16.tif", _tiff_bytes(np.asarray(q), photometric="palette", colormap=cmap, compression="packbits")))
    # Orientation tag (Pillow transposes on load), every value but 1.
    small = _resize(s["rocket"], 13, 9)
    for orientation in range(2, 9):
        out.append((f"tiff_orientation{orientation}.tif",
                    _tiff_bytes(small, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])))
    # Two pages: only the first is read.
    b = io.BytesIO()
    with tifffile.TiffWriter(b) as w:
        w.write(rgb, photometric="rgb")
        w.write(grey, photometric="minisblack")
    out.append(("tiff_two_pages.tif", b.getvalue()))
    return out


def _unsupported(s):
    """Files Pillow cannot read or the loader refuses (checked to fail, not listed)."""
    rgb = _resize(s["astro"], 20, 14)
    cmyk = Image.fromarray(rgb, "RGB").convert("CMYK")
    b = io.BytesIO()
    cmyk.save(b, "TIFF")
    rgba = np.concatenate([rgb, np.full((14, 20, 1), 128, np.uint8)], axis=2)
    # A 4-bit image whose 16 palette entries are the grey ramp 0..15: Pillow reads mode L with one
    # byte per pixel from rows of half a byte per pixel and fails ("codec configuration error").
    ramp = (np.arange(20 * 10).reshape(10, 20) % 16).astype(np.uint8)
    grey16 = bmp(20, 10, 4, [_pack_indices(ramp[y], 4) for y in range(9, -1, -1)], palette=[(i, i, i) for i in range(16)])
    return [
        ("unsupported_bmp_p4_grey_ramp.bmp", grey16),
        ("unsupported_cmyk.tif", b.getvalue()),
        ("unsupported_float32.tif", _tiff_bytes(rgb[:, :, 0].astype(np.float32) / 255, photometric="minisblack")),
        ("unsupported_premultiplied.tif", _tiff_bytes(rgba, photometric="rgb", extrasamples=[1])),
    ]


# ----------------------------------------------------------------------------- WebP

def _webp_files(s):
    out = []

    def pil(name, img, **kw):
        b = io.BytesIO()
        img.save(b, "WEBP", **kw)
        out.append((name + ".webp", b.getvalue()))

    rgb = Image.fromarray(_resize(s["chelsea"], 64, 45), "RGB")
    logo = Image.fromarray(_with_alpha(_resize(s["coffee"], 48, 48)), "RGBA")
    pil("webp_lossy", rgb, quality=80)
    pil("webp_lossy_odd", Image.fromarray(_resize(s["coffee"], 37, 23), "RGB"), quality=90)
    pil("webp_lossy_alpha", logo, quality=85)
    pil("webp_lossless", rgb, lossless=True)
    pil("webp_lossless_alpha", logo, lossless=True)
    pil("webp_lossless_alpha_exact", logo, lossless=True, exact=True)
    frames = [rgb, Image.fromarray(_resize(s["astro"], 64, 45), "RGB")]
    pil("webp_animated", frames[0], save_all=True, append_images=frames[1:], duration=100, lossless=True)
    return out


# ----------------------------------------------------------------------------- references

def _sources():
    return dict(astro=skdata.astronaut(), coffee=skdata.coffee(), chelsea=skdata.chelsea(), camera=skdata.camera(),
                rocket=skdata.rocket())


def write(out_dir):
    s = _sources()
    folder = os.path.join(out_dir, "formats")
    os.makedirs(folder, exist_ok=True)
    tensors = {}
    files = []
    total = 0
    for name, payload in _bmp_files(s) + _tiff_files(s) + _webp_files(s):
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(payload)
        total += len(payload)
        files.append(name)
        stem = os.path.splitext(name)[0]
        with Image.open(path) as im:
            raw_mode = im.mode
            if raw_mode in ("I;16", "I;16B"):
                tensors[f"{stem}.scale"] = np.repeat((np.asarray(im).astype(np.uint16) >> 8)[:, :, None], 3, axis=2).astype(np.float16)
            rgb = np.asarray(im.convert("RGB"))
        tensors[f"{stem}.rgb"] = rgb.astype(np.float16)
    for name, payload in _unsupported(s):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(payload)
        if name.endswith(".bmp"):  # Pillow itself cannot read these
            try:
                Image.open(os.path.join(folder, name)).convert("RGB")
            except OSError:
                pass
            else:
                raise AssertionError(f"Pillow reads {name}")
    png16 = os.path.join(out_dir, "images", "grey16.png")
    with Image.open(png16) as im:
        assert im.mode == "I;16", im.mode
        tensors["png_grey16.scale"] = np.repeat((np.asarray(im).astype(np.uint16) >> 8)[:, :, None], 3, axis=2).astype(np.float16)
    reference = os.path.join(out_dir, "formats.safetensors")
    save_file(tensors, reference, metadata={
        "files": json.dumps(files),
        "pillow": Image.__version__ if hasattr(Image, "__version__") else "",
        "libwebp": features.version("webp") or "",
        "libtiff": features.version("libtiff") or "",
    })
    os.chmod(reference, 0o644)
    return files, total


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    files, total = write(sys.argv[1])
    print(f"wrote {len(files)} images ({total} bytes) and formats.safetensors to {sys.argv[1]}")
