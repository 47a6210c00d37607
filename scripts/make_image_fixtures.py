#!/usr/bin/env python3
"""Generates the image fixtures for Tests/LatteFormatsTests/Image*.swift with Pillow.

Writes into Tests/LatteFormatsTests/Fixtures/images/:
  sources/    small deterministic test images (RGB, gray, RGBA) as 8-bit PNGs
  resize/     Pillow's Image.resize output for each source, size and filter (BILINEAR, BICUBIC)
  png/        the same picture in every PNG layout we decode (bit depths, palette, tRNS, 16-bit,
              Adam7 interlace), each with the expected 8-bit decode beside it as *.expected.png
  jpeg/       baseline, progressive, grayscale and CMYK JPEGs with Pillow's decode as *.expected.png
  convert/    Pillow's RGB -> L conversion
  manifest.json  lists every case and the parameters the Swift tests need

Usage: pip install pillow numpy; python3 scripts/make_image_fixtures.py
Deterministic: re-running gives byte-identical files for a given Pillow version.
"""
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image, features

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "LatteFormatsTests", "Fixtures", "images")


def out(*parts):
    path = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def rel(path):
    return os.path.relpath(path, ROOT)


def make_sources(rng):
    """Gradients, hard edges, a thin diagonal line and noise: every frequency a resampler can get wrong."""
    h, w = 29, 37
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // (w - 1)).astype(np.int32)
    g = (y * 255 // (h - 1)).astype(np.int32)
    b = np.where((x // 5 + y // 5) % 2 == 0, 230, 20)
    rgb = np.stack([r, g, b], axis=-1)
    rgb[np.abs(x - y) < 1] = [255, 255, 255]
    rgb[20:26, 3:12] = [250, 10, 10]
    rgb = np.clip(rgb + rng.integers(-12, 13, size=rgb.shape), 0, 255).astype(np.uint8)

    gh, gw = 31, 23
    gy, gx = np.mgrid[0:gh, 0:gw]
    gray = (127 + 100 * np.sin(gx / 2.1) * np.cos(gy / 3.3) + rng.integers(-20, 21, size=(gh, gw)))
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    gray[10:14, :] = 255

    ah, aw = 24, 20
    ay, ax = np.mgrid[0:ah, 0:aw]
    rgba = np.zeros((ah, aw, 4), np.uint8)
    rgba[..., 0] = (ax * 12) % 256
    rgba[..., 1] = 200
    rgba[..., 2] = (ay * 10) % 256
    alpha = np.clip(255 - np.hypot(ax - 10, ay - 12) * 22, 0, 255)
    alpha[alpha < 40] = 0  # fully transparent corners, where premultiplication matters
    rgba[..., 3] = alpha.astype(np.uint8)
    return {
        "rgb": Image.fromarray(rgb, "RGB"),
        "gray": Image.fromarray(gray, "L"),
        "rgba": Image.fromarray(rgba, "RGBA"),
    }


def resize_cases(sources):
    cases = []
    filters = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}
    for name, image in sources.items():
        w, h = image.size
        sizes = [(w // 2, h // 2), (w // 3, h // 4), (5, 7), (1, 1), (w * 2, h * 2), (w + 13, h + 5),
                 (w // 2, h * 2), (w, h // 3), (w * 3 // 2, h),
                 # Pillow ≥ 13 resizes vertically first when the height shrinks by more than twice the width
                 (w - 1, h // 3), (w - 3, h // 4), (w + 4, h // 2)]
        for tw, th in sizes:
            for fname, f in filters.items():
                path = out("resize", f"{name}_{tw}x{th}_{fname}.png")
                image.resize((tw, th), f).save(path)
                cases.append({"source": rel(out("sources", f"{name}.png")), "width": tw, "height": th,
                              "filter": fname, "expected": rel(path)})
    return cases


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_raw_png(path, samples, color_type, bit_depth, interlace, palette=None, trns=None):
    """A minimal PNG writer for layouts Pillow cannot write (16-bit colour, Adam7, low-bit gray).

    samples: (h, w, c) integer array of raw sample values (palette indices for colour type 3).
    """
    h, w, c = samples.shape

    def pack_rows(block):
        rows = []
        for row in block:
            flat = row.reshape(-1)
            if bit_depth == 16:
                data = flat.astype(">u2").tobytes()
            elif bit_depth == 8:
                data = flat.astype(np.uint8).tobytes()
            else:
                per_byte = 8 // bit_depth
                padded = np.zeros(((len(flat) + per_byte - 1) // per_byte) * per_byte, np.uint8)
                padded[: len(flat)] = flat
                packed = np.zeros(len(padded) // per_byte, np.uint8)
                for i in range(per_byte):
                    packed |= (padded[i::per_byte] << (8 - bit_depth * (i + 1))).astype(np.uint8)
                data = packed.tobytes()
            rows.append(b"\x00" + data)  # filter type 0 (None)
        return b"".join(rows)

    if interlace:
        # Adam7: (x0, y0, dx, dy) per pass.
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b"".join(pack_rows(samples[y0::dy, x0::dx]) for x0, y0, dx, dy in passes
                       if samples[y0::dy, x0::dx].size > 0)
    else:
        raw = pack_rows(samples)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    chunks = [png_chunk(b"IHDR", ihdr)]
    if palette is not None:
        chunks.append(png_chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1))))
    if trns is not None:
        chunks.append(png_chunk(b"tRNS", trns))
    chunks.append(png_chunk(b"IDAT", zlib.compress(raw, 9)))
    chunks.append(png_chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"".join(chunks))


def png_cases(sources, rng):
    cases = []
    rgb = np.asarray(sources["rgb"])
    rgba = np.asarray(sources["rgba"])
    gray = np.asarray(sources["gray"])

    def add(name, expected_array, mode, **kw):
        expected = out("png", f"{name}.expected.png")
        Image.fromarray(expected_array, mode).save(expected)
        cases.append({"file": rel(out("png", f"{name}.png")), "expected": rel(expected), **kw})

    # Layouts Pillow writes itself; the expected decode is Pillow's own reading of the file.
    for name, image in [("rgb8", sources["rgb"]), ("rgba8", sources["rgba"]), ("gray8", sources["gray"]),
                        ("graya8", sources["rgba"].convert("LA"))]:
        image.save(out("png", f"{name}.png"))
        reread = Image.open(out("png", f"{name}.png"))
        add(name, np.asarray(reread), reread.mode, channels=len(reread.getbands()))

    # Palette with per-entry transparency (tRNS) -> RGBA.
    pal_image = sources["rgb"].quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    pal_image.save(out("png", "palette_trns.png"), transparency=bytes([0, 128] + [255] * 14))
    decoded = Image.open(out("png", "palette_trns.png")).convert("RGBA")
    add("palette_trns", np.asarray(decoded), "RGBA", channels=4)

    # Palette without tRNS -> RGB.
    pal_image.save(out("png", "palette.png"))
    decoded = Image.open(out("png", "palette.png")).convert("RGB")
    add("palette", np.asarray(decoded), "RGB", channels=3)

    # 1-, 2- and 4-bit gray: libpng scales samples to 8 bits by bit replication (v * 255 / max).
    for bits in (1, 2, 4):
        levels = (1 << bits) - 1
        raw = (gray.astype(np.int32) * levels + 127) // 255
        write_raw_png(out("png", f"gray{bits}.png"), raw[..., None], 0, bits, False)
        add(f"gray{bits}", (raw * 255 // levels).astype(np.uint8), "L", channels=1)

    # Gray with a tRNS key colour -> gray + alpha (alpha 0 where the sample equals the key).
    key = int(gray[0, 0])
    write_raw_png(out("png", "gray8_trns.png"), gray[..., None], 0, 8, False, trns=struct.pack(">H", key))
    la = np.stack([gray, np.where(gray == key, 0, 255).astype(np.uint8)], axis=-1)
    add("gray8_trns", la, "LA", channels=2)

    # 16-bit RGB and RGBA (interlaced and not); expected 8-bit = round(v * 255 / 65535).
    rgb16 = (rgb.astype(np.uint32) * 257 + rng.integers(0, 257, size=rgb.shape)).astype(np.uint16)
    rgba16 = (rgba.astype(np.uint32) * 257 + rng.integers(0, 257, size=rgba.shape)).astype(np.uint16)
    gray16 = (gray.astype(np.uint32) * 257 + rng.integers(0, 257, size=gray.shape)).astype(np.uint16)
    to8 = lambda a: ((a.astype(np.uint64) * 255 + 32767) // 65535).astype(np.uint8)
    for name, arr, ct, mode in [("rgb16", rgb16, 2, "RGB"), ("rgba16", rgba16, 6, "RGBA"), ("gray16", gray16[..., None], 0, "L")]:
        for interlace in (False, True):
            full = name + ("_adam7" if interlace else "")
            write_raw_png(out("png", f"{full}.png"), arr, ct, 16, interlace)
            expected8 = to8(arr if arr.shape[-1] > 1 else arr[..., 0])
            # The exact 16-bit samples, little-endian, for decode16.
            raw16 = out("png", f"{full}.expected16.bin")
            with open(raw16, "wb") as f:
                f.write(arr.astype("<u2").tobytes())
            add(full, expected8, mode, channels=arr.shape[-1], expected16=rel(raw16))

    # Adam7 at 8 bits, odd sizes so every pass has partial blocks.
    write_raw_png(out("png", "rgb8_adam7.png"), rgb, 2, 8, True)
    add("rgb8_adam7", rgb, "RGB", channels=3)
    write_raw_png(out("png", "gray2_adam7.png"), ((gray.astype(np.int32) * 3 + 127) // 255)[..., None], 0, 2, True)
    add("gray2_adam7", (((gray.astype(np.int32) * 3 + 127) // 255) * 85).astype(np.uint8), "L", channels=1)

    # RGB with a tRNS key colour -> RGBA (alpha 0 exactly where all three samples equal the key).
    key_rgb = rgb[20, 5].astype(np.int64)
    write_raw_png(out("png", "rgb8_trns.png"), rgb, 2, 8, False, trns=struct.pack(">HHH", *key_rgb))
    alpha = np.where(np.all(rgb == key_rgb, axis=-1), 0, 255).astype(np.uint8)
    add("rgb8_trns", np.concatenate([rgb, alpha[..., None]], axis=-1), "RGBA", channels=4)

    # 16-bit gray + alpha, interlaced.
    ga16 = np.stack([gray16, (gray16 // 3 + 1000).astype(np.uint16)], axis=-1)
    write_raw_png(out("png", "graya16_adam7.png"), ga16, 4, 16, True)
    raw16 = out("png", "graya16_adam7.expected16.bin")
    with open(raw16, "wb") as f:
        f.write(ga16.astype("<u2").tobytes())
    add("graya16_adam7", to8(ga16), "LA", channels=2, expected16=rel(raw16))
    return cases


def jpeg_cases(sources):
    cases = []
    variants = [
        ("baseline", sources["rgb"], dict(quality=90)),
        ("progressive", sources["rgb"], dict(quality=85, progressive=True)),
        ("gray", sources["gray"], dict(quality=90)),
        ("subsampled420", sources["rgb"].resize((64, 48), Image.Resampling.BICUBIC), dict(quality=75, subsampling=2)),
        ("cmyk", sources["rgb"].convert("CMYK"), dict(quality=95)),
    ]
    for name, image, options in variants:
        path = out("jpeg", f"{name}.jpg")
        image.save(path, **options)
        decoded = Image.open(path)
        if decoded.mode == "CMYK":
            decoded = decoded.convert("RGB")
        expected = out("jpeg", f"{name}.expected.png")
        decoded.save(expected)
        cases.append({"file": rel(path), "expected": rel(expected), "channels": len(decoded.getbands()),
                      # Pillow's CMYK -> RGB rounds differently from ours by at most one level.
                      "tolerance": 1 if name == "cmyk" else 0})
    return cases


def convert_cases(sources):
    path = out("convert", "rgb_to_gray.png")
    sources["rgb"].convert("L").save(path)
    return [{"source": rel(out("sources", "rgb.png")), "expected": rel(path), "conversion": "rgb_to_gray"}]


def main():
    rng = np.random.default_rng(20261126)
    sources = make_sources(rng)
    for name, image in sources.items():
        image.save(out("sources", f"{name}.png"))
    manifest = {
        "generator": "scripts/make_image_fixtures.py",
        "pillow": Image.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "resize": resize_cases(sources),
        "png": png_cases(sources, rng),
        "jpeg": jpeg_cases(sources),
        "convert": convert_cases(sources),
    }
    with open(out("manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {sum(len(v) for v in manifest.values() if isinstance(v, list))} cases into {os.path.normpath(ROOT)}")


if __name__ == "__main__":
    main()
