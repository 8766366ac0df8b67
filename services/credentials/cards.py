"""The card face: a signed QR reference, and the card rendered as PNG and PDF (one card
or a batch sheet)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
from typing import Any

LABEL_TEXT = {"visitor": ("专业观众", "PROFESSIONAL VISITOR"), "staff": ("工作人员", "STAFF"), "vip": ("贵宾", "VIP")}
LABEL_COLOUR = {"visitor": (0, 94, 184), "staff": (0, 140, 80), "vip": (190, 30, 45)}


def qr_reference(credential_no: str, secret: bytes) -> str:
    """What the QR code carries: the number and a MAC, so a forged card does not verify."""
    mac = hmac.new(secret, credential_no.encode(), hashlib.sha256).digest()[:12]
    return f"ACCR1:{credential_no}:{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def read_reference(reference: str, secret: bytes) -> str | None:
    """The credential number of a genuine reference, or None."""
    parts = reference.strip().split(":")
    if len(parts) != 3 or parts[0] != "ACCR1":
        return None
    expected = qr_reference(parts[1], secret)
    return parts[1] if hmac.compare_digest(expected, reference.strip()) else None


def card_png(card: dict[str, Any], photo: bytes | None, reference: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont
    import qrcode
    width, height = 638, 1011  # CR80 portrait at 300 dpi
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    colour = LABEL_COLOUR.get(card["label"], (60, 60, 60))
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
    for line in (card["name"], card["unit_name"], card.get("delegation") or "", LABEL_TEXT[card["label"]][1],
                 "Days: " + ", ".join(d[5:] for d in card.get("entry_dates", [])),
                 "Area: " + (card.get("exhibition_area") or "-"), f"No. {card['credential_no']}"):
        draw.text((40, y), line, fill="black", font=small)
        y += 34
    qr = qrcode.make(reference, box_size=4, border=2).convert("RGB").resize((200, 200))
    image.paste(qr, (width - 230, height - 230))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def cards_pdf(cards: list[tuple[dict[str, Any], bytes | None, str]], title: str) -> bytes:
    """One page per card (a single card, or a batch sheet with its list first)."""
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
                                               f"{LABEL_TEXT[card['label']][0]}")
        pdf.showPage()
    for card, photo, reference in cards:
        png = card_png(card, photo, reference)
        pdf.drawImage(ImageReader(io.BytesIO(png)), 150, 250, width=295, height=468)
        pdf.setFont("STSong-Light", 11)
        pdf.drawString(150, 230, f"{card['name']} · {LABEL_TEXT[card['label']][0]} · {card['credential_no']}")
        pdf.showPage()
    pdf.save()
    return out.getvalue()
