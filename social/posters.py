"""Share posters: a PNG with the product image, name, price and the sharer's QR code.

For places where links do not travel (WeChat Moments): the QR code encodes the sharer's
own /s/<code> URL, so a scan is a tracked click like any other.
"""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

from social.selectors import Preview

WIDTH, HEIGHT = 750, 1100
#: Fonts tried in order; the first with CJK glyphs lets Chinese names render.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """A font and whether it has CJK glyphs."""
    for path in CJK_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size), True
    if Path(LATIN_FONT).exists():
        return ImageFont.truetype(LATIN_FONT, size), False
    return ImageFont.load_default(size), False


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def render_poster(*, preview: Preview, fallback_title: str, url: str) -> bytes:
    """The poster PNG for one share link; ``url`` is the absolute /s/<code> address."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    if preview.image_path:
        source = Path(settings.MEDIA_ROOT) / preview.image_path
        if source.exists():
            with Image.open(source) as img:
                photo = img.convert("RGB")
                photo.thumbnail((WIDTH - 60, 620))
                canvas.paste(photo, ((WIDTH - photo.width) // 2, 30))
    else:
        draw.rectangle((30, 30, WIDTH - 30, 650), fill="#f3f0eb")
    title_font, cjk = _font(40)
    title = preview.title
    if _has_cjk(title) and not cjk:
        title = fallback_title  # no CJK font installed: the English name renders instead
    draw.text((40, 690), title[:28], fill="#222222", font=title_font)
    if preview.price_amount is not None:
        price_font, _ = _font(48)
        price = f"{preview.currency} {preview.price_amount / 100:.2f}"
        draw.text((40, 760), price, fill="#d0021b", font=price_font)
    qr = qrcode.QRCode(box_size=8, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(url)
    qr.make(fit=True)
    code = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    code = code.resize((240, 240))
    canvas.paste(code, (WIDTH - 280, HEIGHT - 280))
    hint_font, _ = _font(24)
    draw.text(
        (40, HEIGHT - 160),
        "Scan to shop / 扫码购买" if cjk else "Scan to shop",
        fill="#666666",
        font=hint_font,
    )
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()
