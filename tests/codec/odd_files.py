"""Files of every kind an image reader meets, made on the spot from real photos
(scikit-image): odd modes, depths, alpha, metadata, orientation, and broken files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from dreamd import codec
from harness.batch import photo


def srgb_icc() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return profile.tobytes()


def exif_with(orientation: int | None = None) -> Image.Exif:
    ex = Image.Exif()
    ex[0x010F] = "TestCam"  # Make
    ex[0x0110] = "Model 1"  # Model
    ex.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"  # DateTimeOriginal
    if orientation is not None:
        ex[0x0112] = orientation
    return ex


def write_odd_images(folder: Path) -> dict[str, dict[str, object]]:
    """Every kind of input a batch meets; returns name → what the output must keep."""
    folder.mkdir(parents=True, exist_ok=True)
    cat = photo("chelsea")
    astro = photo("astronaut", (56, 56))
    gray = photo("camera")
    expect: dict[str, dict[str, object]] = {}

    def save(name: str, im: Image.Image, **kw: object) -> None:
        im.save(folder / name, **kw)

    save("rgb.jpg", Image.fromarray(cat), exif=exif_with().tobytes(), icc_profile=srgb_icc())
    expect["rgb.jpg"] = {"mode": "RGB", "size": (64, 48), "icc": True, "exif_make": "TestCam"}

    alpha = np.tile(np.linspace(0, 255, 56, dtype=np.uint8), (56, 1))
    rgba = np.dstack([astro, alpha])
    save("rgba.png", Image.fromarray(rgba))
    expect["rgba.png"] = {"mode": "RGBA", "size": (56, 56), "alpha": alpha}

    save("gray.png", Image.fromarray(gray))
    expect["gray.png"] = {"mode": "L", "size": (64, 48)}

    la = np.dstack([gray, np.full_like(gray, 200)])
    save("gray alpha.png", Image.fromarray(la))
    expect["gray alpha.png"] = {"mode": "LA", "size": (64, 48), "alpha": la[:, :, 1]}

    save("palette.png", Image.fromarray(cat).quantize(64))
    expect["palette.png"] = {"mode": "P", "size": (64, 48)}

    save("palette.gif", Image.fromarray(astro).quantize(32))
    expect["palette.gif"] = {"mode": "P", "size": (56, 56)}

    clear = np.zeros((56, 56), np.uint8)
    clear[8:48, 8:48] = 255
    indexed = Image.fromarray(astro).quantize(15)
    idx = np.asarray(indexed).copy()
    idx[clear == 0] = 15
    transparent = Image.fromarray(idx, "P")
    transparent.putpalette([*(indexed.getpalette() or [])[:45], 0, 0, 0])
    save("transparent.gif", transparent, transparency=15)
    expect["transparent.gif"] = {"mode": "P", "size": (56, 56), "alpha": clear}
    save("transparent palette.png", transparent, transparency=15)
    expect["transparent palette.png"] = {"mode": "P", "size": (56, 56), "alpha": clear}

    save("cmyk.jpg", Image.fromarray(cat).convert("CMYK"))
    expect["cmyk.jpg"] = {"mode": "CMYK", "size": (64, 48)}

    deep = (np.linspace(0, 1, 64 * 48 * 3).reshape(48, 64, 3) * 65535).astype(np.uint16)
    deep = (deep // 2 + cat.astype(np.uint16) * 128).astype(np.uint16)
    info = codec.ImageInfo.plain("PNG", 3, 16, (64, 48))
    info.texts["Author"] = "test"
    codec.write(codec.to_float(deep), info, folder / "deep16.png")
    expect["deep16.png"] = {"mode": "RGB", "size": (64, 48), "depth": 16, "text": "Author"}

    import tifffile

    tifffile.imwrite(folder / "deep16.tif", deep, photometric="rgb", compression="zlib")
    expect["deep16.tif"] = {"mode": "RGB", "size": (64, 48), "depth": 16}

    g16 = (gray.astype(np.uint16) * 257 + 100).astype(np.uint16)
    save("gray16.png", Image.fromarray(g16))
    expect["gray16.png"] = {"mode": "I;16", "size": (64, 48), "depth": 16}
    save("gray16.tif", Image.fromarray(g16))
    expect["gray16.tif"] = {"mode": "I;16", "size": (64, 48), "depth": 16}

    # stored 64×48 with "rotate 90° clockwise to view": shown 48×64
    save("rotated.jpg", Image.fromarray(cat), exif=exif_with(6).tobytes())
    expect["rotated.jpg"] = {"mode": "RGB", "size": (48, 64), "orientation_gone": True}

    save("one pixel.png", Image.fromarray(np.array([[[200, 10, 30]]], dtype=np.uint8)))
    expect["one pixel.png"] = {"mode": "RGB", "size": (1, 1)}

    wide = np.asarray(Image.fromarray(cat).resize((400, 6)))
    save("wide.png", Image.fromarray(wide))
    expect["wide.png"] = {"mode": "RGB", "size": (400, 6)}

    save("bilevel.png", Image.fromarray(gray).convert("1"))
    expect["bilevel.png"] = {"mode": "1", "size": (64, 48)}

    save("float.tif", Image.fromarray(gray.astype(np.float32) / 255.0))
    expect["float.tif"] = {"mode": "F", "size": (64, 48)}

    save("lossless.webp", Image.fromarray(rgba), lossless=True, exif=exif_with().tobytes())
    expect["lossless.webp"] = {"mode": "RGBA", "size": (56, 56), "exif_make": "TestCam"}

    save("photo.bmp", Image.fromarray(cat))
    expect["photo.bmp"] = {"mode": "RGB", "size": (64, 48)}

    save("kätzchen über.png", Image.fromarray(cat))
    expect["kätzchen über.png"] = {"mode": "RGB", "size": (64, 48)}
    return expect


def write_bad_files(folder: Path) -> dict[str, str]:
    """Files that must each fail with a reason; returns name → a word the reason contains."""
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray(photo()).save(buf, "JPEG")
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("this is not an image\n")
    (folder / "bomb.png").write_bytes(_png_header(60_000, 60_000))
    return {
        "truncated.jpg": "decode",
        "empty.png": "empty",
        "text.png": "not an image",
        "bomb.png": "too large",
    }


def _png_header(w: int, h: int) -> bytes:
    """A PNG that claims to be w×h (only its first IDAT is there)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 10_000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
