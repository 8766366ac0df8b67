"""Uploaded images (photos, qualification documents, transfer vouchers), taken apart
before anyone trusts them: the byte size is checked by the caller before this is asked,
the format and the pixel count are read from the header before anything is decoded (a
small file can claim gigapixels), the image is then decoded for real, and what is kept
carries no metadata (EXIF holds GPS positions and camera serials)."""
from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DomainError

MAX_SIDE = 12_000
# JPEG markers kept when metadata is stripped: JFIF (APP0), ICC colour profile (APP2), Adobe (APP14)
_KEPT_APP_MARKERS = {0xE0, 0xE2, 0xEE}
_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class CheckedImage:
    format: str  # "JPEG" or "PNG"
    width: int  # as displayed (EXIF orientation applied)
    height: int
    content: bytes  # the same picture without metadata

    @property
    def content_type(self) -> str:
        return "image/png" if self.format == "PNG" else "image/jpeg"


def check_image(content: bytes, field: str, formats: tuple[str, ...], max_pixels: int,
                wrong_format: DomainError) -> CheckedImage:
    """The image in `content` if it is one of `formats` within `max_pixels`; a DomainError on
    `field` otherwise. The caller has already refused a file too large in bytes."""
    unreadable = DomainError("not_an_image", "the file is not a readable image", field)
    too_many = DomainError("image_too_many_pixels", f"the image may have at most {max_pixels // 1_000_000} million "
                                                    "pixels", field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we judge the size ourselves
            image = Image.open(io.BytesIO(content))  # reads the header only
    except Image.DecompressionBombError:
        raise too_many from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise unreadable from None
    if image.format not in formats:
        raise wrong_format
    width, height = image.size
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE or width * height > max_pixels:
        raise too_many
    try:
        image.load()
        orientation = image.getexif().get(_ORIENTATION_TAG, 1) if image.format == "JPEG" else 1
        if orientation not in (1, None):
            return _reencoded(ImageOps.exif_transpose(image), image.format)
        stripped = _strip_jpeg(content) if image.format == "JPEG" else _reencoded(image, "PNG").content
    except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError):
        raise unreadable from None
    return CheckedImage(image.format, width, height, stripped)


def _reencoded(image: Image.Image, fmt: str) -> CheckedImage:
    out = io.BytesIO()
    icc = image.info.get("icc_profile")
    extra = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=92, **extra)
    else:
        image.save(out, "PNG", **extra)  # lossless; text and eXIf chunks are not written again
    return CheckedImage(fmt, image.width, image.height, out.getvalue())


def _strip_jpeg(content: bytes) -> bytes:
    """The JPEG's segments without EXIF, XMP, IPTC and comments, pixels untouched."""
    if content[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, i = bytearray(b"\xff\xd8"), 2
    while i < len(content):
        if content[i] != 0xFF:
            raise ValueError("JPEG segment expected")
        marker = content[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is image data
            out += content[i:]
            return bytes(out)
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            out += content[i:i + 2]
            i += 2
            continue
        (length,) = struct.unpack(">H", content[i + 2:i + 4])
        segment = content[i:i + 2 + length]
        is_metadata = (0xE0 <= marker <= 0xEF and marker not in _KEPT_APP_MARKERS) or marker == 0xFE
        if not is_metadata:
            out += segment
        i += 2 + length
    raise ValueError("JPEG without image data")
