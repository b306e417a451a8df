"""Every size and count cap that validation enforces, in one object."""

from __future__ import annotations

from dataclasses import dataclass, fields

_MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps checked before anything is allocated for a message.

    The defaults are the daemon's; its command-line flags build a different ``Limits`` and
    pass it to :func:`~protocol.decode_request`. A client decodes replies with
    :meth:`permissive`, since the daemon it talks to has already applied its own limits.
    """

    #: frames in one message: header, image, guide, up to 4 style images (1.0: one), a
    #: video frame's content, previous and previous_weight (1.2).
    max_frames: int = 10
    #: bytes of the msgpack header (frame 0).
    max_header_bytes: int = 64 * 1024
    #: width × height of the main image.
    max_pixels: int = 100_000_000
    #: width × height of a guide image (its features are matched position by position).
    max_guide_pixels: int = 16_000_000
    #: width × height of a style image.
    max_style_pixels: int = 16_000_000
    #: width or height of any image (GIMP's own maximum).
    max_side: int = 524_288
    #: bytes of one encoded (png/jpeg/webp/tiff) image frame.
    max_encoded_bytes: int = 512 * _MiB
    #: octave_count × steps_per_octave × iterations: a bound on the work one job may ask for.
    max_total_steps: int = 100_000
    #: length of any string in a header (msgpack ``max_str_len``).
    max_string: int = 4096
    #: entries of any array in a header (msgpack ``max_array_len``).
    max_array: int = 4096
    #: entries of any map in a header (msgpack ``max_map_len``).
    max_map: int = 256

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{f.name} must be a positive integer, got {value!r}")

    @property
    def max_frame_bytes(self) -> int:
        """The largest frame any valid message can have: set it as ``ZMQ_MAXMSGSIZE`` so
        that libzmq drops a bigger frame before it is ever buffered whole."""
        raw = self.max_pixels * 4 * 4  # 4 channels of f32, the widest pixel
        return max(self.max_header_bytes, raw, self.max_encoded_bytes)

    @classmethod
    def permissive(cls) -> Limits:
        """Limits for decoding replies on the client side: large enough for anything a
        daemon with raised limits may send back, still bounded so that a broken or hostile
        peer cannot make the client allocate without end."""
        return cls(
            max_frames=10,
            max_header_bytes=16 * _MiB,
            max_pixels=1 << 32,
            max_guide_pixels=1 << 32,
            max_style_pixels=1 << 32,
            max_side=1 << 24,
            max_encoded_bytes=1 << 36,
            max_total_steps=1 << 40,
            max_string=1 * _MiB,
            max_array=1 << 20,
            max_map=1 << 20,
        )


DEFAULT_LIMITS = Limits()
