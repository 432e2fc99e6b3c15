"""Named polish shades and the colour science to match pixels to them.

`SHADES` is the one table of shade names an image's palette is mapped to (the colour tags a
design gets when its sidecar names none), each with a reference sRGB colour: the typical
swatch of that polish, not a CSS keyword. Names are lower case, as designers write them in
sidecars, so a tag read from the pixels and one typed share a colour page (/colours/<slug>/);
every name has a swatch of about its colour (nailfolio.gallery.views.css_colour: a polish
name, or a CSS keyword where CSS means the same colour).
Colours are compared in CIELAB (D65) with CIEDE2000, the difference the eye sees, so "navy"
is matched by how dark and blue it looks rather than by its nearest RGB numbers.

Bump nailfolio.gallery.palette.PALETTE_VERSION when this table changes: stored palettes are
then read again from each design's photo (nothing is encoded again).
"""

from __future__ import annotations

import math
from functools import lru_cache

Lab = tuple[float, float, float]
# What a skip by `surely_apart` leaves to rounding: far above float error (~1e-14), far
# below any difference a reading tells apart.
BOUND_SLACK = 1e-9

SHADES: dict[str, str] = {
    # neutrals
    "black": "#141414", "charcoal": "#3a3f44", "grey": "#8e8e8e", "silver": "#c4c4cc",
    "white": "#f5f5f2", "cream": "#f2e6c9", "pearl": "#e6e0ea", "nude": "#e2bc9e",
    "taupe": "#8b7d6b",
    # browns and metals
    "brown": "#6b4226", "chocolate": "#3f2518", "bronze": "#a8692c",
    "copper": "#b87333", "gold": "#d4af37", "rose gold": "#b76e79",
    # reds and pinks
    "red": "#d11f2a", "cherry": "#a8132c", "ruby": "#8f0f22", "burgundy": "#6a0f24",
    "coral": "#f4735f", "blush": "#e3a0a6", "pink": "#f3a6c2", "magenta": "#c2187a",
    "mauve": "#b784a7",
    # oranges and yellows
    "tangerine": "#f28500", "peach": "#fbc6a0", "yellow": "#f6d816", "lime": "#9acd32",
    # greens and blues
    "mint": "#a3dcbc", "sage": "#9caf88", "green": "#2f9e44", "emerald": "#14704a",
    "teal": "#0f7f80", "sky blue": "#8cc3ea", "blue": "#2457c5", "navy": "#1c2550",
    # purples
    "lavender": "#b7a7e8", "lilac": "#cba6d4", "violet": "#7b3fb2", "plum": "#5e2350",
}  # fmt: skip


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """(r, g, b) of "#rrggbb"."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def rgb_to_hex(rgb: tuple[int, int, int]) -> str:
    """ "#rrggbb" of (r, g, b)."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


@lru_cache(maxsize=65536)  # a gallery's palettes repeat few colours; each costs ~2 µs anyway
def srgb_to_lab(rgb: tuple[int, int, int]) -> Lab:
    """CIELAB (D65 white) of an 8-bit sRGB colour."""
    linear = [_linear(channel / 255) for channel in rgb]
    x = (0.4124564 * linear[0] + 0.3575761 * linear[1] + 0.1804375 * linear[2]) / 0.95047
    y = 0.2126729 * linear[0] + 0.7151522 * linear[1] + 0.0721750 * linear[2]
    z = (0.0193339 * linear[0] + 0.1191920 * linear[1] + 0.9503041 * linear[2]) / 1.08883
    fx, fy, fz = _f(x), _f(y), _f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def hex_to_lab(colour: str) -> Lab:
    """CIELAB of "#rrggbb"."""
    return srgb_to_lab(hex_to_rgb(colour))


def chroma(lab: Lab) -> float:
    """How colourful a colour is (0 for greys)."""
    return math.hypot(lab[1], lab[2])


def hue(lab: Lab) -> float:
    """The hue angle in degrees, 0-360 (0 red-magenta, 90 yellow, 180 green, 270 blue)."""
    return math.degrees(math.atan2(lab[2], lab[1])) % 360


def delta_e(first: Lab, second: Lab) -> float:
    """CIEDE2000 colour difference: about 1 is just noticeable, 10 clearly another shade."""
    l1, a1, b1 = first
    l2, a2, b2 = second
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    dh = 0.0
    if c1p * c2p:
        dh = h2p - h1p
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    big_dh = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_mean = h1p + h2p
    if c1p * c2p:
        h_mean = (
            h_mean / 2
            if abs(h1p - h2p) <= 180
            else (h_mean + 360 * (1 if h_mean < 360 else -1)) / 2
        )
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    s_l = _lightness_weight(l_mean)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    rotation = -2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25**7))
    rotation *= math.sin(math.radians(60 * math.exp(-(((h_mean - 275) / 25) ** 2))))
    terms = dl / s_l, dc / s_c, big_dh / s_h
    return math.sqrt(terms[0] ** 2 + terms[1] ** 2 + terms[2] ** 2 + rotation * terms[1] * terms[2])


def lightness_apart(first: Lab, second: Lab) -> float:
    """A lower bound of delta_e at a fraction of its cost: its lightness term alone (the
    chroma and hue terms add a sum of squares that the rotation term, |R_T| < 2, never
    makes negative). A pair this far apart by lightness is at least this far apart."""
    return abs(second[0] - first[0]) / _lightness_weight((first[0] + second[0]) / 2)


def surely_apart(first: Lab, second: Lab, limit: float) -> bool:
    """Whether the pair's delta_e is over `limit` by its lightness alone: no need to measure
    it to know it is not under `limit`."""
    return lightness_apart(first, second) > limit + BOUND_SLACK


def nearest_shade(lab: Lab) -> str:
    """The name of the shade in SHADES that looks closest to `lab` (ties: table order).
    Shades whose lightness alone puts them further than the one nearest by CIE76 (cheap)
    are not measured: most of them, with the same answer."""
    guess = min(_SHADE_LABS.values(), key=lambda shade: math.dist(lab, shade))
    nearest, best = "", delta_e(lab, guess) + BOUND_SLACK
    for name, shade in _SHADE_LABS.items():
        if surely_apart(lab, shade, best):
            continue
        difference = delta_e(lab, shade)
        if difference < best:
            nearest, best = name, difference
    return nearest


def _lightness_weight(l_mean: float) -> float:
    return 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)


def _linear(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _f(t: float) -> float:
    return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29


_SHADE_LABS = {name: hex_to_lab(colour) for name, colour in SHADES.items()}
