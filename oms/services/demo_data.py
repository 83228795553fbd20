"""The demo data set behind ``make demo``: a Shanghai merchant with stock, channels and logins.

The loader writes through the same doors as every other write (stock arrives through
``stock_receive``, so the ledger, the audit chain and the outbox agree with the stock
rows) and it is idempotent, so ``make demo`` may run it on every start: rows are found
by their natural keys (merchant name, location/sales channel code, slug, SKU, username),
and opening stock is received only where a (variant, location) has no stock row yet.

The catalog is a pure function of ``seed``: the plan is drawn from one
``random.Random(seed)`` in product order, so a smaller load is a prefix of a larger one.
"""

# Chinese copy uses full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import io
import random
import textwrap
from dataclasses import dataclass
from functools import lru_cache

from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont

from hub.kernel.roles import Role
from oms.errors import InvalidInput
from oms.models import (
    Location,
    Merchant,
    Product,
    ProductVariant,
    SalesChannel,
    StaffMembership,
    StockLevel,
)
from oms.services.stock import stock_receive

DEMO_MERCHANT_NAME = "LiveHub Demo Mall"
CURRENCY = "CNY"
EMAIL_DOMAIN = "demo.livehub.local"
IMAGE_SIZE = 480

#: (username, role); every demo password equals its username
DEMO_LOGINS: tuple[tuple[str, Role], ...] = (
    ("admin", Role.MERCHANT_ADMIN),
    ("staff", Role.STORE_STAFF),
    ("host", Role.HOST),
    ("shopper", Role.SHOPPER),
)


@dataclass(frozen=True)
class DemoSummary:
    """Totals of the demo data after the load, and what this run added."""

    locations: int
    sales_channels: int
    products: int
    variants: int
    stock_levels: int
    units_on_hand: int
    users: int
    products_created: int
    variants_created: int
    images_generated: int
    stock_receipts: int


# ==== Locations and sales channels =======================================================

_STORE_HOURS = {day: ["10:00", "22:00"] for day in ("mon", "tue", "wed", "thu", "sun")} | {
    "fri": ["10:00", "22:30"],
    "sat": ["10:00", "22:30"],
}
_WAREHOUSE_HOURS = {day: ["08:00", "20:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}

#: code -> field values; the stores first, in the order staff memberships use
_LOCATIONS: dict[str, dict[str, object]] = {
    "sh-jingan": {
        "kind": Location.Kind.STORE,
        "name_en": "LiveHub Jing'an Flagship Store",
        "name_zh": "LiveHub 静安旗舰店",
        "address": "1601 West Nanjing Road, Jing'an District · 静安区南京西路1601号",
        "city": "Shanghai",
        "latitude": 31.2304,
        "longitude": 121.4737,
        "opening_hours": _STORE_HOURS,
        "ships": True,
        "pickup": True,
        "accepts_returns": True,
        "priority": 20,
    },
    "sh-xuhui": {
        "kind": Location.Kind.STORE,
        "name_en": "LiveHub Xujiahui Store",
        "name_zh": "LiveHub 徐家汇店",
        "address": "1111 Zhaojiabang Road, Xuhui District · 徐汇区肇嘉浜路1111号",
        "city": "Shanghai",
        "latitude": 31.1880,
        "longitude": 121.4365,
        "opening_hours": _STORE_HOURS,
        "ships": True,
        "pickup": True,
        "accepts_returns": True,
        "priority": 30,
    },
    "sh-pudong": {
        "kind": Location.Kind.STORE,
        "name_en": "LiveHub Lujiazui Store",
        "name_zh": "LiveHub 陆家嘴店",
        "address": "168 Lujiazui Ring Road, Pudong New Area · 浦东新区陆家嘴环路168号",
        "city": "Shanghai",
        "latitude": 31.2397,
        "longitude": 121.4998,
        "opening_hours": _STORE_HOURS,
        "ships": True,
        "pickup": True,
        "accepts_returns": True,
        "priority": 40,
    },
    "ks-warehouse": {
        "kind": Location.Kind.WAREHOUSE,
        "name_en": "LiveHub Kunshan Distribution Centre",
        "name_zh": "LiveHub 昆山配送中心",
        "address": "88 Huangpujiang South Road, Kunshan Development Zone · 昆山开发区黄浦江南路88号",  # noqa: E501
        "city": "Kunshan",
        "latitude": 31.3856,
        "longitude": 120.9807,
        "opening_hours": _WAREHOUSE_HOURS,
        "ships": True,
        "pickup": False,
        "accepts_returns": False,
        "priority": 10,
    },
}
_STORE_CODES = tuple(code for code, v in _LOCATIONS.items() if v["kind"] == Location.Kind.STORE)
_ALL_CODES = tuple(_LOCATIONS)

#: code -> (field values, location codes)
_SALES_CHANNELS: dict[str, tuple[dict[str, object], tuple[str, ...]]] = {
    "web": ({"name": "Web shop", "kind": SalesChannel.Kind.WEB}, _ALL_CODES),
    "app": ({"name": "App", "kind": SalesChannel.Kind.APP}, _ALL_CODES),
    "pos": ({"name": "Store POS", "kind": SalesChannel.Kind.POS}, _STORE_CODES),
    "live": ({"name": "Live room", "kind": SalesChannel.Kind.LIVE}, _ALL_CODES),
    "shopify": (
        {
            "name": "Shopify",
            "kind": SalesChannel.Kind.MARKETPLACE,
            "safety_stock": 2,
            "allow_split": False,
            "routing": SalesChannel.Routing.PRIORITY,
        },
        _ALL_CODES,
    ),
}


# ==== Catalog word lists =================================================================

Words = tuple[tuple[str, str], ...]  #: (English, Chinese) pairs


@dataclass(frozen=True)
class _Colour:
    code: str
    en: str
    zh: str


_COLOURS = (
    _Colour("RED", "red", "红色"),
    _Colour("BLACK", "black", "黑色"),
    _Colour("WHITE", "white", "白色"),
    _Colour("NAVY", "navy", "藏青色"),
    _Colour("BEIGE", "beige", "米色"),
    _Colour("GREEN", "green", "墨绿色"),
    _Colour("PINK", "pink", "粉色"),
    _Colour("GREY", "grey", "灰色"),
    _Colour("BLUE", "blue", "蓝色"),
    _Colour("YELLOW", "yellow", "黄色"),
)

#: list prices in fen; a category draws from a slice, bigger packs step up the list
_PRICE_POINTS = (
    1990, 2990, 3990, 4990, 5990, 6990, 7990, 8990, 9900, 12900, 14900, 16900, 19900,
    22900, 25900, 29900, 34900, 39900, 45900, 49900, 59900, 69900, 79900, 89900,
)  # fmt: skip


@dataclass(frozen=True)
class _Category:
    slug: str
    prefix: str
    label_en: str
    background: tuple[int, int, int]
    adjectives: Words
    materials: Words
    items: Words
    #: sentence naming the material, English and Chinese; {m} as written, {ml} lower case
    material_line: tuple[str, str]
    features: Words
    price_slice: tuple[int, int]  #: indexes into _PRICE_POINTS, inclusive
    #: "sized" (colour x size), "measure" (pack sizes), "colour", "colour_or_single", "single"
    variants: str
    sizes: tuple[str, ...] = ()
    measure_key: str = ""


# The word lists are tables: keep several pairs a line.
# fmt: off
_CATEGORIES = (
    _Category(
        slug="apparel",
        prefix="APP",
        label_en="Apparel",
        background=(196, 62, 72),
        adjectives=(
            ("Classic", "经典"), ("Oversized", "宽松"), ("Slim-Fit", "修身"),
            ("Vintage", "复古"), ("Embroidered", "刺绣"), ("Everyday", "日常"),
        ),
        materials=(
            ("Silk Blend", "真丝混纺"), ("Cotton", "纯棉"), ("Linen", "亚麻"),
            ("Cashmere", "羊绒"), ("Denim", "牛仔"), ("Wool Blend", "羊毛混纺"),
        ),
        items=(
            ("Qipao Dress", "旗袍裙"), ("T-Shirt", "T恤"), ("Hoodie", "连帽卫衣"),
            ("Shirt", "衬衫"), ("Cardigan", "开衫"), ("Trousers", "长裤"),
            ("Midi Skirt", "半身裙"), ("Jacket", "夹克"), ("Trench Coat", "风衣"),
        ),
        material_line=("Made from {ml}.", "{m}面料。"),
        features=(
            ("Cut for a relaxed, easy fit.", "版型宽松舒适。"),
            ("Soft on the skin all day long.", "亲肤柔软，全天舒适。"),
            ("Machine washable at 30°C.", "可30°C机洗。"),
            ("Finished with hand-stitched details.", "手工缝制细节。"),
            ("Designed in Shanghai.", "上海设计。"),
            ("Pairs well with sneakers or heels.", "搭配运动鞋或高跟鞋皆宜。"),
        ),
        price_slice=(8, 23),
        variants="sized",
        sizes=("S", "M", "L", "XL"),
    ),
    _Category(
        slug="shoes",
        prefix="SHO",
        label_en="Shoes",
        background=(90, 74, 60),
        adjectives=(
            ("Lightweight", "轻便"), ("Cushioned", "缓震"), ("Retro", "复古"),
            ("Handmade", "手工"), ("Breathable", "透气"),
        ),
        materials=(
            ("Leather", "真皮"), ("Suede", "麂皮"), ("Canvas", "帆布"),
            ("Mesh", "网面"), ("Knit", "针织"),
        ),
        items=(
            ("Sneakers", "运动鞋"), ("Loafers", "乐福鞋"), ("Slip-Ons", "一脚蹬"),
            ("Ankle Boots", "短靴"), ("Running Shoes", "跑鞋"), ("Sandals", "凉鞋"),
            ("Cloth Shoes", "布鞋"),
        ),
        material_line=("Upper in {ml}.", "{m}鞋面。"),
        features=(
            ("Memory-foam insole.", "记忆棉鞋垫。"),
            ("Non-slip rubber sole.", "防滑橡胶大底。"),
            ("True to size.", "尺码标准。"),
            ("Light enough for a full day of walking.", "轻盈，适合全天行走。"),
            ("Stitched by craftsmen in Wenzhou.", "温州匠人缝制。"),
        ),
        price_slice=(12, 23),
        variants="sized",
        sizes=("36", "37", "38", "39", "40", "41", "42"),
    ),
    _Category(
        slug="beauty",
        prefix="BEA",
        label_en="Beauty",
        background=(232, 160, 180),
        adjectives=(
            ("Hydrating", "保湿"), ("Brightening", "亮肤"), ("Soothing", "舒缓"),
            ("Gentle", "温和"), ("Repairing", "修护"),
        ),
        materials=(
            ("Green Tea", "绿茶"), ("Rice", "大米"), ("Camellia", "山茶花"),
            ("Ginseng", "人参"), ("Hyaluronic Acid", "玻尿酸"), ("Pearl", "珍珠"),
        ),
        items=(
            ("Face Serum", "精华液"), ("Sheet Mask", "面膜"), ("Lip Balm", "润唇膏"),
            ("Sunscreen", "防晒霜"), ("Hand Cream", "护手霜"), ("Cleansing Oil", "卸妆油"),
            ("Toner", "爽肤水"),
        ),
        material_line=("Formulated with {m}.", "添加{m}成分。"),
        features=(
            ("Suitable for sensitive skin.", "敏感肌适用。"),
            ("Fragrance free.", "无香精。"),
            ("Dermatologist tested.", "经皮肤科测试。"),
            ("Absorbs quickly without residue.", "吸收迅速，不油腻。"),
            ("Not tested on animals.", "无动物实验。"),
        ),
        price_slice=(3, 17),
        variants="measure",
        sizes=("30ml", "50ml", "100ml"),
        measure_key="capacity",
    ),
    _Category(
        slug="snacks",
        prefix="SNK",
        label_en="Snacks",
        background=(240, 176, 64),
        adjectives=(
            ("Crispy", "香脆"), ("Spicy", "香辣"), ("Hand-Made", "手工"),
            ("Classic", "经典"), ("Roasted", "烘焙"),
        ),
        materials=(
            ("Sichuan Pepper", "花椒"), ("Salted Egg Yolk", "咸蛋黄"), ("Sesame", "芝麻"),
            ("Red Bean", "红豆"), ("Osmanthus", "桂花"), ("Black Sugar", "黑糖"),
        ),
        items=(
            ("Mooncakes", "月饼"), ("Beef Jerky", "牛肉干"), ("Seaweed Crisps", "海苔脆"),
            ("Rice Crackers", "米饼"), ("Sunflower Seeds", "瓜子"), ("Egg Rolls", "蛋卷"),
            ("Peanut Brittle", "花生糖"),
        ),
        material_line=("{m} flavour.", "{m}口味。"),
        features=(
            ("Individually wrapped.", "独立包装。"),
            ("No artificial colours.", "不含人工色素。"),
            ("Made fresh in small batches.", "小批量新鲜制作。"),
            ("A favourite from the live room.", "直播间人气单品。"),
            ("Best before 6 months from production.", "保质期6个月。"),
        ),
        price_slice=(0, 9),
        variants="measure",
        sizes=("100g", "250g", "500g"),
        measure_key="weight",
    ),
    _Category(
        slug="tea",
        prefix="TEA",
        label_en="Tea",
        background=(74, 128, 84),
        adjectives=(
            ("First-Flush", "明前"), ("Aged", "陈年"), ("Premium", "特级"),
            ("Hand-Rolled", "手工揉捻"), ("High Mountain", "高山"),
        ),
        materials=(
            ("Longjing Green", "龙井绿茶"), ("Tieguanyin Oolong", "铁观音乌龙"),
            ("Pu'er", "普洱"), ("Jasmine", "茉莉花"), ("Dianhong Black", "滇红"),
            ("White Peony", "白牡丹"),
        ),
        items=(
            ("Tea Tin", "罐装茶"), ("Tea Bags", "袋泡茶"), ("Tea Cake", "茶饼"),
            ("Loose Leaf Tea", "散茶"), ("Gift Box", "礼盒"),
        ),
        material_line=("{m} tea, single origin.", "精选{m}，单一产区。"),
        features=(
            ("Picked and packed at origin.", "产地采摘，原产地包装。"),
            ("Brew at 85°C for two minutes.", "85°C冲泡两分钟。"),
            ("Re-steeps up to five times.", "可续泡五次。"),
            ("Sealed to keep the aroma.", "密封锁香。"),
            ("A classic gift for family and friends.", "送礼佳选。"),
        ),
        price_slice=(2, 21),
        variants="measure",
        sizes=("50g", "100g", "250g"),
        measure_key="weight",
    ),
    _Category(
        slug="electronics",
        prefix="ELE",
        label_en="Electronics accessories",
        background=(52, 84, 140),
        adjectives=(
            ("Fast-Charge", "快充"), ("Compact", "小巧"), ("Magnetic", "磁吸"),
            ("Durable", "耐用"), ("Ultra-Slim", "超薄"),
        ),
        materials=(
            ("Aluminium", "铝合金"), ("Silicone", "硅胶"), ("Braided Nylon", "编织尼龙"),
            ("Vegan Leather", "素皮"), ("Recycled Plastic", "再生塑料"),
        ),
        items=(
            ("Power Bank", "充电宝"), ("Wireless Earbuds", "无线耳机"), ("Phone Case", "手机壳"),
            ("USB-C Cable", "数据线"), ("Phone Stand", "手机支架"), ("Ring Light", "补光灯"),
            ("Wireless Charger", "无线充电器"),
        ),
        material_line=("Made of {ml}.", "{m}材质。"),
        features=(
            ("Works with iPhone and Android.", "兼容苹果与安卓。"),
            ("12-month warranty.", "保修12个月。"),
            ("CCC certified.", "通过3C认证。"),
            ("Built for streaming all day.", "专为全天直播打造。"),
            ("Fits in any pocket.", "轻松放入口袋。"),
        ),
        price_slice=(1, 19),
        variants="colour",
    ),
    _Category(
        slug="home",
        prefix="HOM",
        label_en="Home",
        background=(140, 180, 196),
        adjectives=(
            ("Minimalist", "极简"), ("Handcrafted", "手作"), ("Nordic", "北欧"),
            ("Oriental", "东方"), ("Cozy", "温馨"),
        ),
        materials=(
            ("Celadon", "青瓷"), ("Bamboo", "竹制"), ("Linen", "亚麻"),
            ("Blue-and-White Porcelain", "青花瓷"), ("Rattan", "藤编"), ("Glass", "玻璃"),
        ),
        items=(
            ("Tea Cup Set", "茶杯套装"), ("Throw Pillow", "抱枕"), ("Table Runner", "桌旗"),
            ("Vase", "花瓶"), ("Bowl Set", "碗具套装"), ("Candle Holder", "烛台"),
            ("Storage Basket", "收纳篮"),
        ),
        material_line=("Made of {ml}.", "{m}材质。"),
        features=(
            ("Made by artisans in Jingdezhen.", "景德镇匠人制作。"),
            ("Easy to clean.", "易于清洁。"),
            ("Arrives gift-wrapped.", "礼盒包装。"),
            ("Adds calm to any room.", "为家增添宁静。"),
            ("Each piece is slightly unique.", "每件略有不同，独一无二。"),
        ),
        price_slice=(1, 17),
        variants="colour_or_single",
    ),
    _Category(
        slug="toys",
        prefix="TOY",
        label_en="Toys",
        background=(250, 214, 80),
        adjectives=(
            ("Educational", "益智"), ("Mini", "迷你"), ("Deluxe", "豪华"),
            ("Glow-in-the-Dark", "夜光"), ("Classic", "经典"),
        ),
        materials=(
            ("Panda", "熊猫"), ("Dragon", "龙"), ("Space", "太空"),
            ("Dinosaur", "恐龙"), ("Jade Rabbit", "玉兔"), ("Lion Dance", "舞狮"),
        ),
        items=(
            ("Building Blocks", "积木"), ("Plush Toy", "毛绒玩具"), ("Kite", "风筝"),
            ("Jigsaw Puzzle", "拼图"), ("Wooden Train", "木质火车"),
            ("Blind Box Figure", "盲盒手办"),
        ),
        material_line=("{m} theme.", "{m}主题。"),
        features=(
            ("For ages 3 and up.", "适合3岁以上儿童。"),
            ("Non-toxic paints.", "无毒环保涂料。"),
            ("A bestseller in the live room.", "直播间爆款。"),
            ("Comes in a gift box.", "附赠礼盒。"),
            ("Meets GB 6675 toy safety standards.", "符合GB 6675玩具安全标准。"),
        ),
        price_slice=(0, 15),
        variants="single",
    ),
)
# fmt: on


# ==== The plan: pure, drawn from the seed ================================================


@dataclass(frozen=True)
class _VariantPlan:
    sku: str
    barcode: str
    attributes: dict[str, str]
    price_amount: int
    #: (location code, units); zero draws are left out
    opening_stock: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class _ProductPlan:
    number: int
    slug: str
    category: _Category
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    variants: tuple[_VariantPlan, ...]


def _ean13(first_twelve: str) -> str:
    """Append the EAN-13 check digit (weights 1, 3, 1, 3, ... from the left)."""
    if len(first_twelve) != 12 or not first_twelve.isdigit():
        raise ValueError(f"an EAN-13 body is 12 digits, not {first_twelve!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)


def _pick(rng: random.Random, words: Words) -> tuple[str, str]:
    return words[rng.randrange(len(words))]


def _colour_attributes(colour: _Colour) -> dict[str, str]:
    return {"colour": colour.en, "colour_zh": colour.zh}


def _variant_options(
    rng: random.Random, category: _Category, base_price_index: int
) -> list[tuple[str, dict[str, str], int]]:
    """(SKU suffix, attributes, price index) for each variant of one product."""
    kind = category.variants
    if kind == "colour_or_single":
        kind = "colour" if rng.random() < 0.5 else "single"
    if kind == "sized":
        colours = rng.sample(_COLOURS, rng.randint(1, 3))
        run = rng.randint(1, min(len(category.sizes), 6 // len(colours)))
        start = rng.randint(0, len(category.sizes) - run)
        sizes = category.sizes[start : start + run]
        return [
            (f"-{c.code}-{size}", {"size": size, **_colour_attributes(c)}, base_price_index)
            for c in colours
            for size in sizes
        ]
    if kind == "measure":
        count = rng.randint(1, len(category.sizes))
        last = len(_PRICE_POINTS) - 1
        return [
            (
                f"-{measure.upper()}",
                {category.measure_key: measure},
                min(base_price_index + 2 * step, last),
            )
            for step, measure in enumerate(category.sizes[:count])
        ]
    if kind == "colour":
        colours = rng.sample(_COLOURS, rng.randint(1, 3))
        return [(f"-{c.code}", _colour_attributes(c), base_price_index) for c in colours]
    return [("", {}, base_price_index)]


def _product_plan(rng: random.Random, number: int) -> _ProductPlan:
    category = _CATEGORIES[(number - 1) % len(_CATEGORIES)]
    adjective, material, item = (
        _pick(rng, category.adjectives),
        _pick(rng, category.materials),
        _pick(rng, category.items),
    )
    name_en = f"{adjective[0]} {material[0]} {item[0]}"
    name_zh = f"{adjective[1]}{material[1]}{item[1]}"
    features = rng.sample(category.features, 2)
    line_en, line_zh = category.material_line
    description_en = " ".join(
        [line_en.format(m=material[0], ml=material[0].lower()), *(en for en, _ in features)]
    )
    description_zh = line_zh.format(m=material[1]) + "".join(zh for _, zh in features)
    lo, hi = category.price_slice
    base_price_index = rng.randint(lo, hi)
    variants = []
    for index, (suffix, attributes, price_index) in enumerate(
        _variant_options(rng, category, base_price_index), start=1
    ):
        locations = rng.sample(_ALL_CODES, rng.randint(2, 4))
        draws = [(code, rng.randint(0, 40)) for code in locations]
        variants.append(
            _VariantPlan(
                sku=f"{category.prefix}-{number:04d}{suffix}",
                # 693: a GS1 China prefix; then product number and variant index
                barcode=_ean13(f"693{number:05d}{index:04d}"),
                attributes=attributes,
                price_amount=_PRICE_POINTS[price_index],
                opening_stock=tuple((code, units) for code, units in draws if units > 0),
            )
        )
    return _ProductPlan(
        number=number,
        slug=f"{slugify(name_en)}-{number:04d}",
        category=category,
        name_en=name_en,
        name_zh=name_zh,
        description_en=description_en,
        description_zh=description_zh,
        variants=tuple(variants),
    )


def _catalog_plan(*, products: int, seed: int) -> list[_ProductPlan]:
    rng = random.Random(seed)
    return [_product_plan(rng, number) for number in range(1, products + 1)]


# ==== Product images =====================================================================


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _product_image_png(*, name_en: str, category: _Category) -> bytes:
    """A flat card in the category's colour with the product's English name on it."""
    background = category.background
    luminance = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    ink = (32, 32, 32) if luminance > 150 else (250, 250, 250)
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), background)
    draw = ImageDraw.Draw(image)
    margin = 36
    draw.rectangle(
        (margin // 2, margin // 2, IMAGE_SIZE - margin // 2, IMAGE_SIZE - margin // 2),
        outline=ink,
        width=3,
    )
    title_font = _font(44)
    lines = textwrap.wrap(name_en, width=16)
    line_height = 54
    top = (IMAGE_SIZE - line_height * len(lines)) // 2
    for row, line in enumerate(lines):
        draw.text(
            (IMAGE_SIZE / 2, top + row * line_height + line_height / 2),
            line,
            font=title_font,
            fill=ink,
            anchor="mm",
        )
    small = _font(22)
    draw.text((margin, margin), category.label_en.upper(), font=small, fill=ink)
    corner = IMAGE_SIZE - margin
    draw.text((corner, corner), "LiveHub demo", font=small, fill=ink, anchor="rs")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


# ==== Writers ============================================================================


def _merchant_ensure() -> Merchant:
    merchant = Merchant.objects.filter(name=DEMO_MERCHANT_NAME).order_by("id").first()
    if merchant is None:
        merchant = Merchant.objects.create(name=DEMO_MERCHANT_NAME, default_currency=CURRENCY)
    return merchant


def _locations_ensure(merchant: Merchant) -> dict[str, Location]:
    return {
        code: Location.objects.update_or_create(
            code=code, defaults={"merchant": merchant, **fields}
        )[0]
        for code, fields in _LOCATIONS.items()
    }


def _sales_channels_ensure(locations: dict[str, Location]) -> None:
    for code, (fields, location_codes) in _SALES_CHANNELS.items():
        channel, _ = SalesChannel.objects.update_or_create(
            code=code, defaults={"currency": CURRENCY, "safety_stock": 0, **fields}
        )
        channel.locations.set([locations[c] for c in location_codes])


def _image_present(product: Product) -> bool:
    """The product has an image and its file is still there (media may have been wiped)."""
    name = product.image.name
    return name is not None and name != "" and product.image.storage.exists(name)


@dataclass
class _CatalogCounts:
    products_created: int = 0
    variants_created: int = 0
    images_generated: int = 0
    stock_receipts: int = 0


def _catalog_ensure(
    *, merchant: Merchant, plans: list[_ProductPlan], locations: dict[str, Location]
) -> _CatalogCounts:
    counts = _CatalogCounts()
    stocked = set(
        StockLevel.objects.filter(location__in=locations.values()).values_list(
            "variant_id", "location_id"
        )
    )
    for plan in plans:
        product, created = Product.objects.get_or_create(
            slug=plan.slug,
            defaults={
                "merchant": merchant,
                "name_en": plan.name_en,
                "name_zh": plan.name_zh,
                "description_en": plan.description_en,
                "description_zh": plan.description_zh,
                "category": plan.category.slug,
            },
        )
        counts.products_created += created
        if not _image_present(product):
            png = _product_image_png(name_en=plan.name_en, category=plan.category)
            product.image.save(f"{plan.slug}.png", ContentFile(png), save=False)
            product.save(update_fields=["image"])
            counts.images_generated += 1
        for variant_plan in plan.variants:
            variant, created = ProductVariant.objects.get_or_create(
                sku=variant_plan.sku,
                defaults={
                    "product": product,
                    "barcode": variant_plan.barcode,
                    "attributes": variant_plan.attributes,
                    "price_amount": variant_plan.price_amount,
                    "currency": CURRENCY,
                },
            )
            counts.variants_created += created
            for code, units in variant_plan.opening_stock:
                location = locations[code]
                if (variant.pk, location.pk) in stocked:
                    continue
                stock_receive(
                    variant=variant,
                    location=location,
                    quantity=units,
                    reason="demo opening stock",
                    reference="demo",
                )
                stocked.add((variant.pk, location.pk))
                counts.stock_receipts += 1
    return counts


def _users_ensure(*, first_store: Location) -> int:
    groups = {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}
    for username, role in DEMO_LOGINS:
        is_admin = role == Role.MERCHANT_ADMIN
        user, _ = User.objects.get_or_create(username=username)
        user.email = f"{username}@{EMAIL_DOMAIN}"
        user.is_staff = is_admin
        user.is_superuser = is_admin
        user.is_active = True
        # Set every run so the demo logins always work, even after a password change.
        user.set_password(username)
        user.save()
        user.groups.add(groups[role])
        if role == Role.STORE_STAFF:
            StaffMembership.objects.get_or_create(user=user, location=first_store)
    return len(DEMO_LOGINS)


def demo_data_load(*, products: int = 220, seed: int = 7) -> DemoSummary:
    """Create or complete the demo data set; a second run with the same seed adds nothing."""
    if products < 0:
        raise InvalidInput("products must be zero or more")
    plans = _catalog_plan(products=products, seed=seed)
    with transaction.atomic():
        merchant = _merchant_ensure()
        locations = _locations_ensure(merchant)
        _sales_channels_ensure(locations)
        counts = _catalog_ensure(merchant=merchant, plans=plans, locations=locations)
        users = _users_ensure(first_store=locations[_STORE_CODES[0]])
        stock = StockLevel.objects.filter(variant__product__merchant=merchant)
        return DemoSummary(
            locations=Location.objects.filter(merchant=merchant).count(),
            sales_channels=SalesChannel.objects.filter(code__in=_SALES_CHANNELS).count(),
            products=Product.objects.filter(merchant=merchant).count(),
            variants=ProductVariant.objects.filter(product__merchant=merchant).count(),
            stock_levels=stock.count(),
            units_on_hand=stock.aggregate(units=Sum("on_hand"))["units"] or 0,
            users=users,
            products_created=counts.products_created,
            variants_created=counts.variants_created,
            images_generated=counts.images_generated,
            stock_receipts=counts.stock_receipts,
        )
