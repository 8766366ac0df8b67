"""Images uploaded by units, decoded for real before any rule looks at them."""
from __future__ import annotations

import io
from typing import Any


from shared.errors import DomainError



def decode_image(content: bytes, field: str) -> Any:
    """Decode for real (never trust an extension or a content type)."""
    from PIL import Image, UnidentifiedImageError
    try:
        image = Image.open(io.BytesIO(content))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise DomainError("not_an_image", "the file is not a readable image", field) from None
    return image
