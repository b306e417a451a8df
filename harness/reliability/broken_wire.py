"""Messages broken on the wire (hypothesis strategies): malformed msgpack, sizes that lie,
huge claimed dimensions, too many frames, giant frames."""

from __future__ import annotations

import math
from typing import Any

import msgpack
import numpy as np
from hypothesis import strategies as st

from .broken import (
    INT64_MIN,
    PIXELS,
    UINT64_MAX,
    Hostile,
    desc,
    map_of,
    pack,
    png_claiming,
    valid_dream,
)

_NON_MAP_STARTS = [
    0x00,
    0x7F,
    0x90,
    0x9F,
    0xA0,
    0xBF,
    0xC0,
    0xC1,
    0xC2,
    0xC3,
    0xC4,
    0xC7,
    0xCA,
    0xCB,
    0xCC,
    0xCF,
    0xD0,
    0xD3,
    0xD4,
    0xD9,
    0xDC,
    0xDD,
    0xE0,
    0xFF,
]
_BAD_SIDES = [0, -1, 524_289, 2**31, 2**32 + 1, 2**63 - 1, UINT64_MAX, INT64_MIN]


@st.composite
def malformed_msgpack(draw: st.DrawFn, job_id: str) -> Hostile:
    header = valid_dream(job_id)
    packed = pack(header)
    kind = draw(
        st.sampled_from(
            [
                "junk",
                "truncated",
                "trailing",
                "bin",
                "ext",
                "key",
                "repeated",
                "nested",
                "utf8",
                "oversized",
                "claims",
            ]
        )
    )
    items = [(pack(k), pack(v)) for k, v in header.items()]
    if kind == "junk":
        first = draw(st.sampled_from(_NON_MAP_STARTS))
        data = bytes([first]) + draw(st.binary(max_size=200))
    elif kind == "truncated":
        data = packed[: draw(st.integers(0, len(packed) - 1))]
    elif kind == "trailing":
        data = packed + draw(st.binary(min_size=1, max_size=40))
    elif kind == "bin":
        where = draw(st.sampled_from(["id", "type", "model", "image.dtype", "params.precision"]))
        blob = draw(st.binary(max_size=16))
        if "." in where:
            outer, inner = where.split(".")
            header[outer] = {**header[outer], inner: blob}
        else:
            header[where] = blob
        data = pack(header)
    elif kind == "ext":
        code = draw(st.integers(-128, 127))
        value: Any = (
            msgpack.Timestamp(draw(st.integers(0, 2**32)))
            if code == -1
            else msgpack.ExtType(code % 128, draw(st.binary(max_size=16)))
        )
        header[draw(st.sampled_from(["model", "priority", "extra"]))] = value
        data = pack(header)
    elif kind == "key":
        bad_key = draw(st.one_of(st.integers(INT64_MIN, UINT64_MAX), st.none(), st.booleans()))
        data = map_of([*items, (pack(bad_key), pack(1))])
    elif kind == "repeated":
        data = map_of([*items, draw(st.sampled_from(items))])
    elif kind == "nested":
        depth = draw(st.integers(2, 200_000))
        data = map_of([*items[:-1], (pack("params"), b"\x91" * depth + b"\xc0")])
    elif kind == "utf8":
        bad = draw(st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88"]))
        at = draw(st.integers(0, len(items) - 1))
        items[at] = (items[at][0], bytes([0xA0 | len(bad)]) + bad)
        data = map_of(items)
    elif kind == "oversized":
        header["params"] = {"layers": ["x" * 4000] * 17}  # 68 KB of header
        data = pack(header)
    else:  # lengths that claim gigabytes
        claim = draw(
            st.sampled_from(
                [
                    b"\xdf\xff\xff\xff\xff",
                    b"\xdd\xff\xff\xff\xff",
                    b"\xdb\xff\xff\xff\xff",
                    b"\xc6\xff\xff\xff\xff",
                ]
            )
        )
        data = map_of([*items[:-1], (pack("params"), claim + b"abc")])
    return Hostile("malformed msgpack", [data, PIXELS], detail=kind)


@st.composite
def lying_sizes(draw: st.DrawFn, job_id: str) -> Hostile:
    header = valid_dream(job_id)
    kind = draw(st.sampled_from(["raw", "png dims", "png truncated", "signature", "frames", "nan"]))
    decoder = True
    if kind == "raw":
        delta = draw(st.integers(-len(PIXELS), 4096).filter(lambda n: n != 0))
        frames = [pack(header), bytes(len(PIXELS) + delta)]
    elif kind == "png dims":
        w, h = draw(st.integers(1, 2**31 - 1)), draw(st.integers(1, 2**31 - 1))
        header["image"] = desc(enc="png")
        if (w, h) == (8, 8):
            w = 9
        frames = [pack(header), png_claiming(w, h)]
        decoder = False  # the file's header is read when the job is decoded
    elif kind == "png truncated":
        w, h = draw(st.integers(100, 999)), draw(st.integers(100, 999))
        header["image"] = desc(w, h, enc="png")
        frames = [pack(header), png_claiming(w, h)]
        decoder = False
    elif kind == "signature":
        enc = draw(st.sampled_from(["png", "jpeg", "webp", "tiff"]))
        c = 3 if enc != "tiff" else draw(st.integers(1, 4))
        header["image"] = desc(c=c, enc=enc)
        junk = draw(st.binary(min_size=0, max_size=64))
        # Never empty before the junk: hypothesis does find "II*\0", a TIFF's own start.
        start = draw(st.sampled_from([b"GIF89a", b"BM", b"\0\0", b"\xff\xd9"]))
        frames = [pack(header), start + junk]
    elif kind == "frames":
        which = draw(
            st.sampled_from(
                [
                    "guide without frame",
                    "style without frame",
                    "frame without descriptor",
                    "no image frame",
                ]
            )
        )
        if which == "guide without frame":
            header["guide"] = desc()
            frames = [pack(header), PIXELS]
        elif which == "style without frame":
            header["style"] = desc()
            frames = [pack(header), PIXELS]
        elif which == "frame without descriptor":
            frames = [pack(header), PIXELS, PIXELS]
        else:
            frames = [pack(header)]
    else:  # f32 samples that are not numbers
        header["image"] = desc(dtype="f32")
        arr = np.full((8, 8, 3), 0.5, "<f4")
        arr.flat[draw(st.integers(0, arr.size - 1))] = draw(
            st.sampled_from([math.nan, math.inf, -math.inf])
        )
        frames = [pack(header), arr.tobytes()]
        decoder = False
    return Hostile("lying sizes", frames, decoder, kind)


@st.composite
def huge_dimensions(draw: st.DrawFn, job_id: str) -> Hostile:
    header = valid_dream(job_id)
    kind = draw(st.sampled_from(["side", "pixels", "guide", "encoded"]))
    if kind == "side":
        w = draw(st.sampled_from(_BAD_SIDES))
        h = draw(st.one_of(st.sampled_from(_BAD_SIDES), st.integers(1, 64)))
        if draw(st.booleans()):
            w, h = h, w
        header["image"] = desc(w, h)
    elif kind == "pixels":
        w, h = draw(st.integers(1001, 524_288)), draw(st.integers(1001, 524_288))
        header["image"] = desc(w, h, draw(st.integers(1, 4)), draw(st.sampled_from(["u8", "f32"])))
    elif kind == "guide":
        header["guide"] = desc(draw(st.integers(4001, 524_288)), draw(st.integers(4001, 524_288)))
        return Hostile("huge claimed dimensions", [pack(header), PIXELS, PIXELS], detail=kind)
    else:
        w, h = draw(st.integers(1001, 524_288)), draw(st.integers(1001, 524_288))
        header["image"] = desc(w, h, enc="png")
        return Hostile("huge claimed dimensions", [pack(header), png_claiming(w, h)], detail=kind)
    return Hostile("huge claimed dimensions", [pack(header), PIXELS], detail=kind)


@st.composite
def too_many_frames(draw: st.DrawFn, job_id: str) -> Hostile:
    extra = draw(st.integers(9, 60))  # past 10 frames: header, image, guide, 4 styles, 3 of a frame
    filler = draw(st.sampled_from([b"", b"x", PIXELS]))
    return Hostile(
        "too many frames",
        [pack(valid_dream(job_id)), PIXELS] + [filler] * extra,
        detail=str(2 + extra),
    )


@st.composite
def giant_frames(draw: st.DrawFn, job_id: str) -> Hostile:
    header = valid_dream(job_id)
    # Mostly megabytes, now and then up to just under ZMQ_MAXMSGSIZE (16 MB here).
    size = draw(
        st.integers(1_000_000, 15_900_000)
        if draw(st.integers(0, 9)) == 0
        else st.integers(10_000, 1_000_000)
    )
    which = draw(st.sampled_from(["image", "guide", "encoded"]))
    if which == "guide":
        header["guide"] = desc()
        frames = [pack(header), PIXELS, bytes(size)]
    elif which == "encoded":
        header["image"] = desc(enc="png")
        frames = [pack(header), b"\x89PNG\r\n\x1a\n" + bytes(size)]
        return Hostile("giant frames", frames, False, f"png {size} bytes")
    else:
        frames = [pack(header), bytes(size)]
    return Hostile("giant frames", frames, detail=f"{which} {size} bytes")
