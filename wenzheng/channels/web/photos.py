"""Photos from the citizen page: the bytes must really be an image, and the copy we keep has no EXIF
(GPS position, phone model, time) — re-encoded with Pillow, the well-kept imaging library."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from wenzheng.errors import InvalidInput

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
MAX_PIXELS = 40_000_000  # well above any phone camera, well below a decompression bomb
MAX_SIDE = 2048


def clean_photo(data: bytes) -> bytes:
    """A JPEG of the photo, upright, at most 2048 px on its longest side, with no metadata at all."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise _not_an_image()
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput("The photo has too many pixels; send a smaller one.", code="photo_too_large")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _not_an_image() from exc
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=85, optimize=True)  # saved without exif= : nothing carried over
    return out.getvalue()


def _not_an_image() -> InvalidInput:
    return InvalidInput("The file is not a photo we can read (JPEG, PNG, WebP or GIF).", code="not_an_image")
