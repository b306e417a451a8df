"""``dream-batch --samples DEST`` (or ``python -m dreamd.batch.samples DEST``): write a few
freely licensed sample photos to DEST.

The photos ship inside the package (``sample_photos/``, the checkout's ``samples/`` links to
it), so an installed wheel has them without network or scikit-image. They were made from
scikit-image's bundled data by :func:`make_samples`: Chelsea the cat and the coffee cup
(CC0), the astronaut Eileen Collins and a rocket launch (NASA, public domain), and the camera
man (gray), as JPEG, PNG with alpha and 16-bit PNG, so a first batch shows that format,
alpha and depth survive.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from dreamd import codec

#: scikit-image loader → file name
PHOTOS: dict[str, str] = {
    "chelsea": "chelsea.jpg",
    "coffee": "coffee.jpg",
    "rocket": "rocket.jpg",
    "astronaut": "astronaut-alpha.png",
    "camera": "camera-16bit.png",
}


#: The shipped photos' folder inside ``dreamd.batch``.
PHOTOS_DIR = "sample_photos"


def write_samples(dest: Path) -> list[Path]:
    """Copy the shipped sample photos (at most 320 pixels a side) into ``dest``; returns
    the paths."""
    dest.mkdir(parents=True, exist_ok=True)
    shipped = resources.files(__package__ or "dreamd.batch") / PHOTOS_DIR
    written = []
    for name in PHOTOS.values():
        with (shipped / name).open("rb") as src, (dest / name).open("wb") as out:
            shutil.copyfileobj(src, out)
        written.append(dest / name)
    return written


def make_samples(dest: Path, max_side: int = 320) -> list[Path]:
    """Make the sample photos from scikit-image's data, scaled to at most ``max_side``
    pixels (how the shipped ones were made); returns the paths."""
    try:
        from skimage import data
    except ImportError:
        raise SystemExit(
            "the sample photos come from scikit-image: pip install scikit-image "
            "(or point dream-batch at any folder of your own images)"
        ) from None
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for loader, name in PHOTOS.items():
        im = Image.fromarray(getattr(data, loader)())
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        path = dest / name
        if name.endswith("-alpha.png"):
            # a soft round vignette in the alpha channel
            w, h = im.size
            yy, xx = np.mgrid[0:h, 0:w]
            r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
            alpha = (np.clip(1.4 - r, 0, 1) * 255).astype(np.uint8)
            im = im.convert("RGB")
            im.putalpha(Image.fromarray(alpha))
            im.save(path)
        elif name.endswith("-16bit.png"):
            gray = codec.to_float(np.asarray(im.convert("L"), dtype=np.uint16) * 257)
            codec.write(gray[:, :, None], codec.ImageInfo.plain("PNG", 1, 16, im.size), path)
        else:
            im.convert("RGB").save(path, quality=92)
        written.append(path)
    return written


#: The sample clip: a slow pan across Chelsea, 2 s at 24 frames per second, with a tone.
CLIP = "chelsea-pan.mp4"


def write_clip(dest: Path, size: tuple[int, int] = (320, 180), frames: int = 48) -> Path:
    """Write :data:`CLIP` to ``dest``: a pan across Chelsea the cat (H.264, 24 fps) with a
    quiet 220 Hz tone (AAC), to try dream-batch on a video; returns its path."""
    from fractions import Fraction

    import av
    from skimage import data

    photo = Image.fromarray(data.chelsea())  # 451×300
    w, h = size
    span = photo.width - w - 1
    path = dest / CLIP
    dest.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.codec_context.options = {"crf": "16"}
        sound = out.add_stream("aac", rate=48000, layout="stereo")
        for k in range(frames):
            x = span * k / (frames - 1)  # a smooth, sub-pixel pan
            y = (photo.height - h) / 2
            crop = photo.resize((w, h), Image.Resampling.BICUBIC, box=(x, y, x + w, y + h))
            frame = av.VideoFrame.from_ndarray(np.asarray(crop), format="rgb24")
            frame.pts = k
            out.mux(video.encode(frame))
        out.mux(video.encode())
        rate = 48000
        t = np.arange(frames * rate // 24) / rate
        tone = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        for start in range(0, tone.size, 1024):
            piece = np.pad(tone[start : start + 1024], (0, max(0, start + 1024 - tone.size)))
            chunk = av.AudioFrame.from_ndarray(np.stack([piece, piece]), "fltp", "stereo")
            chunk.sample_rate, chunk.pts, chunk.time_base = rate, start, Fraction(1, rate)
            out.mux(sound.encode(chunk))
        out.mux(sound.encode())
    return path


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dreamd.batch.samples", description=__doc__)
    p.add_argument("dest", type=Path, help="folder to write the photos into")
    p.add_argument(
        "--max-side",
        type=int,
        help="make them anew from scikit-image's data at this longest side (shipped: 320)",
    )
    p.add_argument(
        "--clip",
        action="store_true",
        help=f"write only {CLIP}, a 2-second clip with sound, to try videos on",
    )
    args = p.parse_args(argv)
    if args.clip:
        print(write_clip(args.dest))
        return 0
    if args.max_side is None:
        paths = write_samples(args.dest)
    else:
        paths = make_samples(args.dest, args.max_side)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
