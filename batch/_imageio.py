"""Image files in and out.

Reading turns anything Pillow opens into float32 (H, W, C) in [0, 1] — EXIF orientation
applied, 16-bit kept whole — and remembers what the file was (format, mode, bit depth,
alpha, ICC profile, EXIF, text chunks, JPEG tables). Writing puts the dreamed pixels back
in that same form, atomically, with the parameters that made them recorded inside the file
(PNG text chunk ``dream-batch``, EXIF UserComment for JPEG/WebP, ImageDescription for TIFF,
the comment of a GIF), so :func:`read_params` can read them back.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, JpegImagePlugin, PngImagePlugin, TiffImagePlugin, UnidentifiedImageError

from dreamd import protocol

from . import _deep
from ._errors import ImageError, ImageTooLarge, UnreadableImage, WriteFailed

#: Key of the PNG text chunk (and marker inside the other containers) holding the parameters.
PARAMS_KEY = "dream-batch"
_USER_COMMENT_PREFIX = b"ASCII\x00\x00\x00"
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_ORIENTATION = 0x0112
_DESCRIPTION = 0x010E
#: IFD0 tags carried from a TIFF source into a TIFF output (the rest describe the layout).
_TIFF_KEEP = (271, 272, 305, 306, 315, 33432)  # Make, Model, Software, DateTime, Artist, ©
TMP_SUFFIX = ".dream-tmp"

#: Output formats dream-batch writes (Pillow name → canonical suffix); other formats → PNG.
WRITE_FORMATS: dict[str, str] = {
    "PNG": ".png",
    "JPEG": ".jpg",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "BMP": ".bmp",
    "GIF": ".gif",
    "PPM": ".ppm",
    "TGA": ".tga",
}
#: ``--format`` spellings.
FORMAT_NAMES: dict[str, str] = {
    "png": "PNG",
    "jpeg": "JPEG",
    "jpg": "JPEG",
    "webp": "WEBP",
    "tiff": "TIFF",
    "tif": "TIFF",
    "bmp": "BMP",
    "gif": "GIF",
}
_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF", "GIF", "TGA", "BMP"})
_DEEP_FORMATS = frozenset({"PNG", "TIFF"})


@dataclass(frozen=True)
class Limits:
    """What an input may be before it is refused without decoding.

    ``max_pixels`` bounds the pixels dreamed: an image whose short side is under
    ``min_work_side`` is dreamed upscaled, so it counts at that size.
    """

    max_pixels: int = 100_000_000
    min_work_side: int = 64

    def check(self, path: Path, size: tuple[int, int]) -> None:
        w, h = size
        if w < 1 or h < 1:
            raise UnreadableImage(path, f"image has no pixels ({w}×{h})")
        short = min(w, h)
        scale = max(1.0, self.min_work_side / short)
        work = w * h * scale * scale
        if w * h > self.max_pixels or work > self.max_pixels:
            what = "" if w * h > self.max_pixels else " once its short side is upscaled to dream"
            raise ImageTooLarge(
                path,
                f"{w}×{h} is too large{what}: over {self.max_pixels / 1e6:g} megapixels "
                "(refused without decoding; raise --max-megapixels if it is genuine)",
            )


@dataclass
class ImageInfo:
    """What an input file was, so the output can be the same kind of file."""

    format: str
    mode: str  # the Pillow mode to write back (La → LA, RGBX → RGB, 16-bit colour → RGB …)
    depth: int  # bits per sample: 1, 8, 16 or 32 (float)
    channels: int  # channels of the float pixels: 1–4
    size: tuple[int, int]  # (width, height) after orientation
    icc: bytes | None = None
    exif: Image.Exif | None = None  # orientation tag removed (it has been applied)
    texts: dict[str, str] = field(default_factory=dict)
    dpi: tuple[float, float] | None = None
    jpeg_tables: Any = None
    jpeg_subsampling: int = -1
    progressive: bool = False
    webp_lossless: bool = False
    tiff_compression: str | None = None
    transparency: bool = False
    frames: int = 1
    orientation: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def has_alpha(self) -> bool:
        return self.channels in (2, 4)


@dataclass
class LoadedImage:
    path: Path
    pixels: np.ndarray  # float32 (H, W, C) in [0, 1]
    info: ImageInfo


# ------------------------------------------------------------------------------- reading


def read_image(path: str | Path, limits: Limits | None = None) -> LoadedImage:
    """Decode ``path`` to float32 pixels and an :class:`ImageInfo`.

    Raises:
        UnreadableImage: missing, empty, corrupt, truncated, not an image, odd mode.
        ImageTooLarge: a decompression bomb or an absurd size, refused before decoding.
    """
    p = Path(path)
    limits = limits or Limits()
    try:
        if p.stat().st_size == 0:
            raise UnreadableImage(p, "empty file")
    except FileNotFoundError:
        raise UnreadableImage(p, "no such file") from None
    except OSError as exc:
        raise UnreadableImage(p, exc.strerror or str(exc)) from None
    try:
        with Image.open(p) as im:
            limits.check(p, im.size)
            if im.format == "PNG" and protocol.png_truncated(p.read_bytes()):
                raise UnreadableImage(p, "truncated: its pixel data stops early")
            return _read_open(p, im)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(p, f"too large, refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise UnreadableImage(p, "not an image, or a format Pillow cannot read") from None
    except MemoryError:
        raise ImageTooLarge(p, "not enough memory to decode it") from None
    except Exception as exc:  # Pillow raises many kinds on corrupt data; none may stop a batch
        raise UnreadableImage(p, f"cannot decode: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read_open(path: Path, im: Image.Image) -> LoadedImage:
    fmt = im.format or "PNG"
    deep = _deep.deep_rawmode(im)  # before anything loads the image and drops its tiles
    frames = int(getattr(im, "n_frames", 1) or 1)
    notes: list[str] = []
    if frames > 1:
        im.seek(0)
        notes.append(f"{fmt} has {frames} frames: only the first is dreamed")
    exif = im.getexif()
    orientation = int(exif.get(_ORIENTATION, 1) or 1)
    if orientation not in range(1, 9):
        orientation = 1
    arr, mode, depth = _decode(path, im, deep, notes)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    pixels = _to_float(arr)
    pixels = np.ascontiguousarray(orient(pixels, orientation))
    info = ImageInfo(
        format=fmt,
        mode=mode,
        depth=depth,
        channels=pixels.shape[2],
        size=(pixels.shape[1], pixels.shape[0]),
        icc=im.info.get("icc_profile") or None,
        exif=_kept_exif(exif, fmt),
        texts=_texts(im),
        dpi=_dpi(im),
        frames=frames,
        orientation=orientation,
        transparency="transparency" in im.info,
        notes=notes,
    )
    if fmt in ("JPEG", "MPO"):
        info.jpeg_tables = getattr(im, "quantization", None)
        info.jpeg_subsampling = JpegImagePlugin.get_sampling(im)
        info.progressive = bool(im.info.get("progressive") or im.info.get("progression"))
    elif fmt == "WEBP":
        info.webp_lossless = _webp_lossless(path)
    elif fmt == "TIFF":
        info.tiff_compression = im.info.get("compression")
    return LoadedImage(path, pixels, info)


def _decode(
    path: Path, im: Image.Image, deep: bool, notes: list[str]
) -> tuple[np.ndarray, str, int]:
    """Pixels as uint8 / uint16 / float32 and the (mode, depth) to write back."""
    mode = im.mode
    if deep:
        arr = _deep.read_deep(str(path), 0)
        return arr, {2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[2]], 16
    im.load()
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im), mode, 8
    if mode == "1":
        return np.asarray(im.convert("L")), "1", 1
    if mode in ("La", "RGBa", "RGBX", "YCbCr", "HSV"):
        target = {"La": "LA", "RGBa": "RGBA"}.get(mode, "RGB")
        return np.asarray(im.convert(target)), target, 8
    if mode in ("P", "PA"):
        alpha = (
            mode == "PA"
            or "transparency" in im.info
            or (im.palette is not None and im.palette.mode == "RGBA")
        )
        rgb = im.convert("RGBA" if alpha else "RGB")
        return np.asarray(rgb), "P" if mode == "P" else "RGBA", 8
    if mode == "CMYK":
        return np.asarray(im.convert("RGB")), "CMYK", 8
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16), "I;16", 16
    if mode == "I":
        a = np.asarray(im)
        if a.size and (a.min() < 0 or a.max() > 65535):
            notes.append("32-bit integer samples outside 0–65535 were clipped to 16 bits")
        return np.clip(a, 0, 65535).astype(np.uint16), "I;16", 16
    if mode == "F":
        return np.asarray(im, dtype=np.float32), "F", 32
    try:
        alpha = "A" in mode
        conv = im.convert("RGBA" if alpha else "RGB")
    except (ValueError, OSError):
        raise UnreadableImage(path, f"unsupported image mode {mode}") from None
    notes.append(f"mode {mode} converted to {conv.mode}")
    return np.asarray(conv), conv.mode, 8


def _to_float(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    out = arr.astype(np.float32)
    out[~np.isfinite(out)] = 0.0
    return out


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1–8) to an (H, W, C) array, as a viewer would show it."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(pixels, -1)
    if orientation == 7:
        return pixels[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(pixels, 1)
    return pixels


def _kept_exif(exif: Image.Exif, fmt: str) -> Image.Exif | None:
    if not len(exif):
        return None
    if fmt == "TIFF":
        # a TIFF's "EXIF" is its own directory (strip offsets …): keep the descriptive tags
        kept = Image.Exif()
        for tag in _TIFF_KEEP:
            if tag in exif:
                kept[tag] = exif[tag]
        return kept if len(kept) else None
    exif.get_ifd(_EXIF_IFD)  # load the sub-directory so it is written back
    if _ORIENTATION in exif:
        del exif[_ORIENTATION]
    return exif


def _texts(im: Image.Image) -> dict[str, str]:
    text = getattr(im, "text", None)
    if not isinstance(text, Mapping):
        return {}
    return {str(k): str(v) for k, v in text.items() if k != PARAMS_KEY}


def _dpi(im: Image.Image) -> tuple[float, float] | None:
    dpi = im.info.get("dpi")
    try:
        if dpi and len(dpi) == 2 and float(dpi[0]) > 0 and float(dpi[1]) > 0:
            return float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        pass
    return None


def _webp_lossless(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return head[12:16] == b"VP8L" or (head[12:16] == b"VP8X" and b"VP8L" in head)


# ---------------------------------------------------------------------------- destinations


def output_format(path: Path) -> str:
    """The format an output file with this name is written in."""
    Image.init()
    fmt = Image.registered_extensions().get(path.suffix.lower(), "")
    fmt = "JPEG" if fmt == "MPO" else fmt
    return fmt if fmt in WRITE_FORMATS else "PNG"


def output_rel(rel: Path, fmt: str | None = None) -> Path:
    """Relative output name for a relative input name.

    With ``fmt`` (a Pillow format name) the suffix becomes that format's; without it the
    name is kept when dream-batch can write that format, else ``.png`` is appended.
    """
    if fmt is not None:
        if output_format(rel) == fmt and rel.suffix:
            return rel
        return (
            rel.with_suffix(WRITE_FORMATS[fmt])
            if rel.suffix
            else rel.with_name(rel.name + WRITE_FORMATS[fmt])
        )
    Image.init()
    known = Image.registered_extensions().get(rel.suffix.lower())
    if known in WRITE_FORMATS or known == "MPO":
        return rel
    return rel.with_name(rel.name + ".png")


# ------------------------------------------------------------------------------- writing

_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


def write_image(
    pixels: np.ndarray,
    info: ImageInfo,
    dest: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    quality: int | None = None,
) -> list[str]:
    """Write float32 ``pixels`` to ``dest`` as the same kind of file as ``info`` describes.

    The format is the one ``dest``'s suffix names (see :func:`output_format`). The file
    appears complete or not at all: it is written to a hidden temporary file beside
    ``dest`` and renamed over it.

    Returns:
        Notes worth telling the user (alpha dropped, depth reduced, no metadata container).

    Raises:
        WriteFailed: nothing was written.
    """
    out = Path(dest)
    fmt = output_format(out)
    notes: list[str] = []
    text = params_text(params) if params is not None else None
    out.parent.mkdir(parents=True, exist_ok=True)
    with _counter_lock:
        n = next(_counter)
    tmp = out.with_name(f".{out.name}.{os.getpid()}-{n}{TMP_SUFFIX}")
    try:
        with open(tmp, "xb") as fh:
            _encode(fh, pixels, info, fmt, text, quality, notes)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, (OSError, ValueError, TypeError, KeyError)):
            errno = exc.errno if isinstance(exc, OSError) else None
            raise WriteFailed(out, f"cannot write: {_reason(exc)}", errno) from None
        raise
    return notes


def clean_stale_temps(folder: Path) -> int:
    """Remove temporary files left in ``folder`` by dream-batch processes no longer alive."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        if not (e.name.startswith(".") and e.name.endswith(TMP_SUFFIX)):
            continue
        try:
            pid = int(e.name[: -len(TMP_SUFFIX)].rsplit(".", 1)[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            try:
                os.unlink(e.path)
                removed += 1
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _encode(
    fh: IO[bytes],
    pixels: np.ndarray,
    info: ImageInfo,
    fmt: str,
    text: str | None,
    quality: int | None,
    notes: list[str],
) -> None:
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    c = pixels.shape[2]
    alpha_ok = fmt in _ALPHA_FORMATS
    if c in (2, 4) and not alpha_ok:
        notes.append(f"alpha dropped: {fmt} has no alpha channel")
        pixels = pixels[:, :, : c - 1]
        c -= 1
    deep = info.depth == 16 or (info.depth == 32 and fmt == "PNG")
    if deep and fmt in _DEEP_FORMATS and (c > 1 or fmt == "PNG"):
        u16 = np.rint(np.clip(pixels, 0, 1) * 65535.0).astype(np.uint16)
        if fmt == "PNG":
            _deep.write_png(
                fh,
                u16,
                icc=info.icc,
                exif=_exif_bytes(info.exif, None),
                texts=_png_texts(info, text),
                dpi=info.dpi,
            )
        else:
            _deep.write_tiff(
                fh, u16, icc=info.icc, description=text, dpi=info.dpi, software=PARAMS_KEY
            )
        return
    if info.depth in (16, 32) and fmt not in _DEEP_FORMATS:
        notes.append(f"saved with 8 bits per sample: {fmt} has no {info.depth}-bit form")
    im = _pil_image(pixels, info, fmt)
    kw = _save_options(im, info, fmt, text, quality, notes)
    try:
        im.save(fh, format=fmt, **kw)
    except OSError as exc:
        if "cannot write mode" not in str(exc):
            raise
        target = "RGBA" if ("A" in im.mode or im.mode == "P") and alpha_ok else "RGB"
        notes.append(f"{fmt} cannot hold mode {im.mode}: saved as {target}")
        fh.seek(0)
        fh.truncate()
        im = im.convert(target)
        im.save(fh, format=fmt, **_save_options(im, info, fmt, text, quality, notes))


def _pil_image(pixels: np.ndarray, info: ImageInfo, fmt: str) -> Image.Image:
    c = pixels.shape[2]
    if info.depth == 16 and c == 1 and fmt == "TIFF":
        u16 = np.rint(np.clip(pixels[:, :, 0], 0, 1) * 65535.0).astype(np.uint16)
        return Image.fromarray(u16)
    if info.depth == 32 and c == 1 and fmt == "TIFF":
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0], dtype=np.float32))
    u8 = np.rint(np.clip(pixels, 0, 1) * 255.0).astype(np.uint8)
    im = Image.fromarray(u8[:, :, 0] if c == 1 else u8, mode=None)
    im = (
        im
        if im.mode == {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[c]
        else im.convert({1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[c])
    )
    mode = info.mode
    if mode == "1" and c == 1 and fmt != "JPEG":
        return im.convert("1")
    if mode == "P" and fmt != "JPEG":
        alpha = np.asarray(im)[:, :, 3] if im.mode == "RGBA" else None
        if alpha is not None and (fmt == "GIF" or np.isin(alpha, (0, 255)).all()):
            # one transparent palette index (all GIF has): 255 colours plus "clear"
            rgb = im.convert("RGB").quantize(255, method=Image.Quantize.MEDIANCUT)
            idx = np.asarray(rgb).copy()
            idx[alpha < 128] = 255
            pal = Image.fromarray(idx, "P")
            colours = (rgb.getpalette() or [])[: 255 * 3]
            pal.putpalette(colours + [0] * (768 - len(colours)))  # index 255 must exist
            pal.info["transparency"] = 255
            return pal
        if alpha is not None:
            return im.quantize(256, method=Image.Quantize.FASTOCTREE)
        return im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    if mode == "CMYK" and c == 3 and fmt in ("JPEG", "TIFF"):
        return im.convert("CMYK")
    if fmt == "JPEG" and im.mode not in ("L", "RGB"):
        return im.convert("RGB")
    return im


def _save_options(
    im: Image.Image,
    info: ImageInfo,
    fmt: str,
    text: str | None,
    quality: int | None,
    notes: list[str],
) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if info.icc and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        kw["icc_profile"] = info.icc
    if info.dpi and fmt in ("PNG", "JPEG", "TIFF", "BMP"):
        kw["dpi"] = info.dpi
    if fmt == "PNG":
        pnginfo = PngImagePlugin.PngInfo()
        for k, v in _png_texts(info, text).items():
            pnginfo.add_itxt(k, v) if not _latin1(v) else pnginfo.add_text(k, v)
        kw["pnginfo"] = pnginfo
        exif = _exif_bytes(info.exif, None)
        if exif:
            kw["exif"] = exif
    elif fmt in ("JPEG", "WEBP"):
        exif = _exif_bytes(info.exif, text)
        if exif:
            kw["exif"] = exif
        if fmt == "JPEG":
            if quality is not None:
                kw["quality"] = quality
            elif info.format in ("JPEG", "MPO") and info.jpeg_tables and im.mode != "CMYK":
                kw["qtables"] = info.jpeg_tables
                if info.jpeg_subsampling >= 0:
                    kw["subsampling"] = info.jpeg_subsampling
            else:
                kw["quality"] = 95
            if info.progressive:
                kw["progressive"] = True
        else:
            if quality is not None:
                kw["quality"] = quality
            elif info.format == "WEBP" and info.webp_lossless:
                kw["lossless"] = True
            else:
                kw["quality"] = 90
    elif fmt == "TIFF":
        if text:
            kw["description"] = text
        if info.exif is not None and info.format == "TIFF":
            ifd = TiffImagePlugin.ImageFileDirectory_v2()
            for tag in _TIFF_KEEP:
                if tag in info.exif:
                    ifd[tag] = info.exif[tag]
            kw["tiffinfo"] = ifd
        comp = info.tiff_compression if info.format == "TIFF" else "tiff_deflate"
        if comp == "jpeg" and im.mode not in ("RGB", "L", "CMYK"):
            comp = "tiff_deflate"
        if comp and comp != "raw":
            kw["compression"] = comp
        if comp == "jpeg" and quality is not None:
            kw["quality"] = quality
    elif fmt == "GIF":
        if text:
            kw["comment"] = text
    elif text:
        notes.append(f"{fmt} has no place for metadata: parameters not recorded in the file")
    if quality is not None and fmt not in ("JPEG", "WEBP", "TIFF"):
        notes.append(f"--quality has no effect on {fmt}")
    return kw


def _latin1(s: str) -> bool:
    try:
        s.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _png_texts(info: ImageInfo, text: str | None) -> dict[str, str]:
    texts = {k: v for k, v in info.texts.items() if k != PARAMS_KEY}
    if text:
        texts[PARAMS_KEY] = text
    return texts


def _exif_bytes(exif: Image.Exif | None, text: str | None) -> bytes | None:
    """EXIF to embed: the source's (orientation applied), with the parameters in UserComment."""
    if exif is None and text is None:
        return None
    out = Image.Exif()
    if exif is not None:
        out.load(exif.tobytes())
    if text is not None:
        out.get_ifd(_EXIF_IFD)[_USER_COMMENT] = _USER_COMMENT_PREFIX + text.encode("ascii")
    return out.tobytes()


# ---------------------------------------------------------------------------- parameters


def params_text(params: Mapping[str, Any]) -> str:
    """The recorded form: one line of ASCII JSON."""
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def read_params(path: str | Path) -> dict[str, Any] | None:
    """The parameters dream-batch recorded in an output file, or None."""
    with Image.open(path) as im:
        candidates: list[Any] = []
        text = getattr(im, "text", None)
        if isinstance(text, Mapping):
            candidates.append(text.get(PARAMS_KEY))
        candidates.append(im.info.get("comment"))
        exif = im.getexif()
        candidates.append(exif.get(_DESCRIPTION))
        candidates.append(exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT))
    for c in candidates:
        if isinstance(c, bytes):
            c = c[len(_USER_COMMENT_PREFIX) :] if c.startswith(_USER_COMMENT_PREFIX) else c
            c = c.decode("utf-8", "replace")
        if isinstance(c, str) and c.startswith("{"):
            try:
                value = json.loads(c.rstrip("\x00"))
            except ValueError:
                continue
            if isinstance(value, dict) and value.get("tool") == PARAMS_KEY:
                return value
    return None
