"""Uploaded images: the pixel count is read before anything is decoded, and what is kept
has no metadata (no GPS position, no camera serial)."""
from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from shared.errors import DomainError
from shared.images import check_image

WRONG = DomainError("wrong_type", "PNG or JPG", "file")
GPS_IFD = 0x8825


def jpeg_with_exif(width: int, height: int, orientation: int = 1) -> bytes:
    image = Image.new("RGB", (width, height), (200, 180, 160))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Spy Camera Co"  # Make
    exif[GPS_IFD] = {1: "N", 2: (31.0, 12.0, 30.0)}  # latitude of the exhibition centre
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"shot at home")
    return out.getvalue()


def test_exif_and_comments_are_stripped_and_the_pixels_kept():
    original = jpeg_with_exif(480, 640)
    assert Image.open(io.BytesIO(original)).getexif()
    kept = check_image(original, "photo", ("JPEG",), 10_000_000, WRONG)
    assert (kept.format, kept.width, kept.height) == ("JPEG", 480, 640)
    again = Image.open(io.BytesIO(kept.content))
    assert not again.getexif() and "comment" not in again.info
    assert b"Spy Camera" not in kept.content and b"shot at home" not in kept.content
    assert again.tobytes() == Image.open(io.BytesIO(original)).tobytes()  # lossless: same pixels


def test_a_rotated_phone_photo_is_turned_upright_and_measured_as_shown():
    sideways = jpeg_with_exif(640, 480, orientation=6)  # stored landscape, shown portrait
    kept = check_image(sideways, "photo", ("JPEG",), 10_000_000, WRONG)
    assert (kept.width, kept.height) == (480, 640)
    assert not Image.open(io.BytesIO(kept.content)).getexif()


def test_png_text_chunks_are_dropped():
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("Author", "someone's home address")
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (1, 2, 3)).save(out, "PNG", pnginfo=info)
    kept = check_image(out.getvalue(), "document", ("PNG", "JPEG"), 10_000_000, WRONG)
    assert kept.content_type == "image/png" and b"home address" not in kept.content


def test_a_small_file_claiming_a_huge_picture_is_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (11_000, 11_000)).save(out, "PNG")  # 121 megapixels in a few kilobytes
    bomb = out.getvalue()
    assert len(bomb) < 200_000
    started = time.monotonic()
    with pytest.raises(DomainError) as refused:
        check_image(bomb, "document", ("PNG", "JPEG"), 40_000_000, WRONG)
    assert refused.value.code == "image_too_many_pixels" and refused.value.field == "document"
    assert time.monotonic() - started < 1.0  # refused from the header, not after decoding


@pytest.mark.parametrize("content", [b"", b"GIF89a", b"\xff\xd8\xff\xe1\x00\x10Exif" + b"\x00" * 40, b"\x89PNG\r\n"])
def test_broken_files_are_refused_as_not_images(content):
    with pytest.raises(DomainError) as refused:
        check_image(content, "photo", ("JPEG",), 10_000_000, WRONG)
    assert refused.value.code in ("not_an_image", "wrong_type")


def test_the_wrong_format_is_refused_with_the_callers_error():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(DomainError) as refused:
        check_image(out.getvalue(), "photo", ("JPEG",), 10_000_000, WRONG)
    assert refused.value is WRONG
