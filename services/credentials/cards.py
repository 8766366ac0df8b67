"""The card face: a signed QR reference, and the card rendered as PNG and PDF (one card
or a batch sheet)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from typing import Any

from shared.fair import fair


def badge_face(label: str) -> tuple[str, str, tuple[int, int, int]]:
    """A badge type's Chinese name, printed English line and colour, from the fair's profile
    (a type the profile does not know prints as its code, in grey)."""
    badge = fair().badge_types.get(label)
    if badge is None:
        return label, label.upper(), (60, 60, 60)
    red, green, blue = badge["colour"]
    return badge["label"]["zh"], badge["print"], (red, green, blue)


# What the QR code carries: "ACCR2:<credential no>:<issue>:<MAC>". The MAC (HMAC-SHA256 with
# the QR key, 128 bits, base32) covers the credential number, its holder (person id) and the
# issue, so a card verifies only for its own holder and only until it is reissued. The holder
# is bound by the MAC rather than carried, which keeps the payload to ~45 characters of the
# QR alphanumeric alphabet (upper case, digits, ':'): a version-3 code a phone reads at once.
# The gate always asks the server (scans are recorded, revocation and "already inside" live
# there), so a shared-key MAC suffices; a public-key signature would only add length.
QR_PREFIX = "ACCR2"
LEGACY_PREFIX = "ACCR1"  # number + MAC only: cards printed before issues were bound
MAX_ISSUE = 999_999


@dataclass(frozen=True)
class ScannedReference:
    """A QR payload that has the right shape; whether it is genuine depends on the card."""
    credential_no: str
    issue: int  # the legacy format stands for the first issue
    mac: str
    legacy: bool = False


def _mac(secret: bytes, credential_no: str, person_id: str, issue: int) -> str:
    message = f"{QR_PREFIX}|{credential_no}|{person_id}|{issue}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:16]
    return base64.b32encode(digest).decode().rstrip("=")


def _legacy_mac(secret: bytes, credential_no: str) -> str:
    mac = hmac.new(secret, credential_no.encode(), hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def qr_reference(credential_no: str, person_id: str, issue: int, secret: bytes) -> str:
    """The QR payload of one issue of a credential, for its holder."""
    return f"{QR_PREFIX}:{credential_no}:{issue}:{_mac(secret, credential_no, person_id, issue)}"


_CURRENT = re.compile(r"ACCR2:(\d{1,32}):([1-9]\d{0,5}):([A-Z2-7]{26})")
_LEGACY = re.compile(r"ACCR1:(\d{1,32}):([A-Za-z0-9_-]{16})")


def parse_reference(payload: str) -> ScannedReference | None:
    """The parts of a well-formed payload, or None for anything else (a torn or foreign
    code, an empty read); nothing is trusted until `is_genuine`."""
    text = payload.strip()
    if found := _CURRENT.fullmatch(text):
        return ScannedReference(found[1], int(found[2]), found[3])
    if found := _LEGACY.fullmatch(text):
        return ScannedReference(found[1], 1, found[2], legacy=True)
    return None


def is_genuine(reference: ScannedReference, person_id: str, secret: bytes) -> bool:
    """Was this payload made with our key for this credential number, holder and issue?"""
    if reference.legacy:
        expected = _legacy_mac(secret, reference.credential_no)
    else:
        expected = _mac(secret, reference.credential_no, person_id, reference.issue)
    return hmac.compare_digest(expected, reference.mac)


def gate_photo(photo: bytes | None) -> bytes | None:
    """The holder's photo as the gate shows it: a small JPEG (240x320 at most), made once at
    production so a scan does no image work and does not depend on registration."""
    if not photo:
        return None
    from PIL import Image
    try:
        source = Image.open(io.BytesIO(photo))
        source.draft("RGB", (240, 320))  # JPEG decodes at a reduced scale: much faster
        image = source.convert("RGB")
        image.thumbnail((240, 320))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def card_png(card: dict[str, Any], photo: bytes | None, reference: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont
    import qrcode
    width, height = 638, 1011  # CR80 portrait at 300 dpi
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    _, label_print, colour = badge_face(card["label"])
    draw.rectangle((0, 0, width, 120), fill=colour)
    font = ImageFont.load_default(size=28)
    small = ImageFont.load_default(size=22)
    draw.text((30, 40), card.get("fair", "CIIE 2026"), fill="white", font=font)
    if photo:
        try:
            face = Image.open(io.BytesIO(photo)).convert("RGB").resize((240, 320))
            image.paste(face, ((width - 240) // 2, 150))
        except OSError:
            pass
    y = 490
    for line in (card["name"], card["unit_name"], card.get("delegation") or "", label_print,
                 "Days: " + ", ".join(d[5:] for d in card.get("entry_dates", [])),
                 "Area: " + (card.get("exhibition_area") or "-"), f"No. {card['credential_no']}"):
        draw.text((40, y), line, fill="black", font=small)
        y += 34
    qr = qrcode.make(reference, box_size=4, border=2).convert("RGB").resize((200, 200))
    image.paste(qr, (width - 230, height - 230))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def cards_pdf(cards: list[tuple[dict[str, Any], bytes | None, str]], title: str,
              pngs: list[bytes] | None = None) -> bytes:
    """One page per card (a single card, or a batch sheet with its list first); `pngs`: the
    cards' images already rendered (a batch draws each card twice: its own PDF, the sheet)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(title)
    if len(cards) > 1:
        pdf.setFont("STSong-Light", 14)
        pdf.drawString(40, 800, title)
        pdf.setFont("STSong-Light", 9)
        for i, (card, _, _) in enumerate(cards[:70]):
            pdf.drawString(40, 770 - i * 10.5, f"{card['credential_no']}  {card['name']}  {card['unit_name']}  "
                                               f"{badge_face(card['label'])[0]}")
        pdf.showPage()
    for i, (card, photo, reference) in enumerate(cards):
        png = pngs[i] if pngs is not None else card_png(card, photo, reference)
        pdf.drawImage(ImageReader(io.BytesIO(png)), 150, 250, width=295, height=468)
        pdf.setFont("STSong-Light", 11)
        pdf.drawString(150, 230, f"{card['name']} · {badge_face(card['label'])[0]} · {card['credential_no']}")
        pdf.showPage()
    pdf.save()
    return out.getvalue()
