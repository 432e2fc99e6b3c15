"""Draw the sample gallery: a dozen nail-art designs by three designers, plus the About page.

    python scripts/make_sample_content.py [--out content]

Everything is procedural and seeded, so a rerun writes the same bytes. It writes only its own
files (listed in DESIGNS, DESIGNERS and the About page) and never deletes anything.
Formats and metadata are chosen to exercise the image pipeline: JPEG, PNG and WebP; EXIF
DateTimeOriginal on some JPEGs; one JPEG stored sideways with EXIF orientation 6 (it shows
upright only if the pipeline auto-orients); one JPEG carrying GPS tags (which must be stripped).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from PIL.ExifTags import GPS, IFD, Base

SUPERSAMPLE = 3  # shapes are drawn this much larger, then averaged down: smooth edges
JPEG_QUALITY = 85
SKIN_TONES = ("#f1c8a8", "#d9a27c", "#a86d4b", "#6e4430")

Array = np.ndarray
RGB = tuple[float, float, float]
Paint = Callable[["Surface"], Array]
Decor = Callable[["Surface", ImageDraw.ImageDraw, np.random.Generator], None]


def rgb(hex_colour: str) -> RGB:
    value = hex_colour.lstrip("#")
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def smoothstep(edge0: float, edge1: float, x: Array) -> Array:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def mix(a: Array | RGB, b: Array | RGB, t: Array) -> Array:
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    t = t[..., None] if np.ndim(t) == 2 else t
    return a * (1 - t) + b * t


def smooth_noise(shape: tuple[int, int], cell: float, rng: np.random.Generator) -> Array:
    """Value noise in [0, 1]: random values on a coarse grid, bicubically enlarged."""
    h, w = shape
    small = rng.random((max(2, int(h / cell) + 2), max(2, int(w / cell) + 2))).astype(np.float32)
    image = Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(image), 0.0, 1.0)


# --- geometry: every nail and finger lives in its own (u across, v along) frame ------------------


@dataclass(frozen=True)
class Frame:
    """A local frame on the canvas: origin, and an angle in degrees (0 up, + leans left)."""

    x: float
    y: float
    angle: float

    @property
    def axes(self) -> tuple[tuple[float, float], tuple[float, float]]:
        a = math.radians(self.angle)
        return (math.cos(a), -math.sin(a)), (-math.sin(a), -math.cos(a))  # across, along

    def to_canvas(self, u: float, v: float) -> tuple[float, float]:
        (ax, ay), (dx, dy) = self.axes
        return self.x + u * ax + v * dx, self.y + u * ay + v * dy

    def local(self, xs: Array, ys: Array) -> tuple[Array, Array]:
        (ax, ay), (dx, dy) = self.axes
        return (xs - self.x) * ax + (ys - self.y) * ay, (xs - self.x) * dx + (ys - self.y) * dy


def nail_outline(width: float, length: float, shape: str) -> list[tuple[float, float]]:
    """Outline in the nail frame: cuticle arc at v=0, free edge at v=length."""
    hw = width / 2
    starts = {"square": 0.86, "oval": 0.62, "almond": 0.42, "stiletto": 0.3, "coffin": 0.38}
    start = length * starts[shape]

    def half_width(v: float) -> float:
        flare = hw * (1 + 0.05 * v / length)
        if v <= start:
            return flare
        s = min(1.0, (v - start) / (length - start))
        if shape == "square":
            r = 0.25 * hw
            return flare - r + r * math.sqrt(max(0.0, 1 - s * s))
        if shape == "oval":
            return flare * math.sqrt(max(0.0, 1 - s * s))
        if shape == "almond":
            return flare * math.cos(s * math.pi / 2) ** 0.6
        if shape == "stiletto":
            return flare * (1 - s) * (1 + 0.45 * s)
        return flare * (1 - 0.42 * s)  # coffin: straight taper to a flat tip

    arc = [(hw * math.cos(t), -0.2 * width * math.sin(t)) for t in np.linspace(0, math.pi, 40)]
    vs = np.linspace(0, length, 90)
    left = [(-half_width(v), v) for v in vs]
    right = [(half_width(v), v) for v in vs[::-1]]
    return arc + left + right


def finger_outline(width: float, apex: float, reach: float) -> list[tuple[float, float]]:
    """A fingertip in the nail frame: round top at v=apex, widening slightly to v=-reach."""
    hw = width / 2
    top = [
        (hw * math.cos(t), apex - hw + hw * 1.05 * math.sin(t)) for t in np.linspace(0, math.pi, 50)
    ]
    base = [(-hw * 1.18, -reach), (hw * 1.18, -reach)]
    return [*top, *base]


@dataclass
class Surface:
    """The pixels of one shape's bounding box, with that shape's local coordinates."""

    frame: Frame
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 on the canvas
    mask: Array  # coverage 0..1
    u: Array
    v: Array
    width: float
    length: float

    @property
    def nu(self) -> Array:  # -1 .. 1 across the nail
        return self.u / (self.width / 2)

    @property
    def nv(self) -> Array:  # 0 at the cuticle .. 1 at the free edge
        return self.v / self.length

    @property
    def shape(self) -> tuple[int, int]:
        return self.mask.shape  # type: ignore[return-value]

    def to_pixels(self, u: float, v: float) -> tuple[float, float]:
        """Local point -> supersampled pixel in this box (for ImageDraw decorations)."""
        x, y = self.frame.to_canvas(u, v)
        return (x - self.box[0]) * SUPERSAMPLE, (y - self.box[1]) * SUPERSAMPLE


def make_surface(
    canvas: Array, frame: Frame, outline: list[tuple[float, float]], width: float, length: float
) -> Surface | None:
    points = [frame.to_canvas(u, v) for u, v in outline]
    h, w = canvas.shape[:2]
    x0 = max(0, int(min(p[0] for p in points)) - 2)
    y0 = max(0, int(min(p[1] for p in points)) - 2)
    x1 = min(w, int(max(p[0] for p in points)) + 3)
    y1 = min(h, int(max(p[1] for p in points)) + 3)
    if x1 <= x0 or y1 <= y0:
        return None
    big = Image.new("L", ((x1 - x0) * SUPERSAMPLE, (y1 - y0) * SUPERSAMPLE), 0)
    scaled = [((x - x0) * SUPERSAMPLE, (y - y0) * SUPERSAMPLE) for x, y in points]
    ImageDraw.Draw(big).polygon(scaled, fill=255)
    mask = np.asarray(big.resize((x1 - x0, y1 - y0), Image.Resampling.BOX), np.float32) / 255
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    u, v = frame.local(xs, ys)
    return Surface(frame, (x0, y0, x1, y1), mask, u, v, width, length)


def composite(canvas: Array, surface: Surface, colour: Array, alpha: Array | None = None) -> None:
    x0, y0, x1, y1 = surface.box
    a = (surface.mask if alpha is None else alpha)[..., None]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - a) + colour * a


def cast_shadow(
    canvas: Array,
    masks: list[tuple[Surface, float]],
    blur: float,
    offset: tuple[float, float],
    strength: float,
) -> None:
    """Darken the canvas under shapes: their masks, blurred and shifted."""
    h, w = canvas.shape[:2]
    layer = Image.new("L", (w, h), 0)
    for surface, weight in masks:
        x0, y0 = surface.box[:2]
        piece = Image.fromarray((surface.mask * 255 * weight).astype(np.uint8))
        layer.paste(piece, (x0 + int(offset[0]), y0 + int(offset[1])), piece)
    shadow = np.asarray(layer.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255
    canvas *= (1 - strength * shadow)[..., None]


# --- finishes: what a nail is painted with ------------------------------------------------------


@dataclass(frozen=True)
class Finish:
    paint: Paint
    decor: Decor | None = None
    gloss: float = 1.0


def solid(colour: str) -> Paint:
    return lambda s: np.broadcast_to(np.asarray(rgb(colour), np.float32), (*s.shape, 3)).copy()


def ombre(*colours: str, start: float = 0.08, end: float = 0.95, slant: float = 0.0) -> Paint:
    def paint(s: Surface) -> Array:
        t = np.clip((s.nv + slant * s.nu - start) / (end - start), 0, 1) * (len(colours) - 1)
        out = np.empty((*s.shape, 3), np.float32)
        index = np.minimum(t.astype(int), len(colours) - 2)
        for i in range(len(colours) - 1):
            part = index == i
            blended = mix(rgb(colours[i]), rgb(colours[i + 1]), smoothstep(0, 1, t - i))
            out[part] = blended[part]
        return out

    return paint


def french(base: Paint, tip: str, depth: float = 0.28, smile: float = 0.16) -> Paint:
    def paint(s: Surface) -> Array:
        line = 1 - depth - smile * s.nu**2  # the pink bed ends in a dome: tips wrap the sides
        edge = 1.2 / s.length
        return mix(base(s), rgb(tip), smoothstep(line - edge, line + edge, s.nv))

    return paint


def chrome(dark: str, light: str, shine: str = "#ffffff") -> Paint:
    def paint(s: Surface) -> Array:
        bands = 0.5 + 0.5 * np.sin(s.nv * 5.2 - s.nu * 1.6 + 0.8)
        ridge = np.exp(-(((s.nu + 0.15 - 0.25 * s.nv) / 0.22) ** 2))
        t = np.clip(0.15 + 0.55 * bands * (0.6 + 0.4 * np.sqrt(np.clip(1 - s.nu**2, 0, 1))), 0, 1)
        return mix(
            mix(rgb(dark), rgb(light), t), rgb(shine), 0.55 * ridge * smoothstep(0.05, 0.4, s.nv)
        )

    return paint


def marble(base: str, vein: str, gold: str | None, seed: int, scale: float = 1.0) -> Paint:
    """Stone: cloudy base, soft wandering veins that fade in and out, an optional gold thread."""

    def paint(s: Surface) -> Array:
        rng = np.random.default_rng(seed)
        size = s.width * scale

        def fbm(cell: float) -> Array:
            return sum(smooth_noise(s.shape, cell / f, rng) / f for f in (1, 2, 4)) / 1.75

        warp, clouds, presence = fbm(size * 0.9), fbm(size * 0.6), fbm(size * 1.2)
        wave = np.sin((s.u * 0.8 + s.v * 0.6) / (size * 0.45) + warp * 9.0)
        veins = np.exp(-(wave**2) / 0.005) * smoothstep(0.35, 0.6, presence)
        haze = np.exp(-(wave**2) / 0.12) * 0.18 * smoothstep(0.3, 0.7, presence)
        out = mix(rgb(base), rgb(vein), np.clip(0.25 * clouds + haze + 0.8 * veins, 0, 1))
        if gold:
            thread = np.sin((s.u * -0.5 + s.v * 0.9) / (size * 0.6) + warp * 6.0 + 1.3)
            gleam = np.exp(-(thread**2) / 0.003) * smoothstep(0.55, 0.7, presence)
            out = mix(out, rgb(gold), gleam * 0.95)
        return out

    return paint


def stripes(base: str, stripe: str, period: float, angle: float, fill: float = 0.45) -> Paint:
    def paint(s: Surface) -> Array:
        a = math.radians(angle)
        pos = (s.u * math.cos(a) + s.v * math.sin(a)) / (s.width * period)
        phase = np.abs((pos % 1.0) - 0.5) * 2  # 0 in the stripe's middle, 1 between stripes
        edge = 1.5 / (s.width * period)
        return mix(rgb(base), rgb(stripe), 1 - smoothstep(fill - edge, fill + edge, phase))

    return paint


def dots(base: Paint, dot: str, spacing: float, radius: float) -> Paint:
    def paint(s: Surface) -> Array:
        step = s.width * spacing
        row = np.floor(s.v / step)
        shift = (row % 2) * step / 2
        du = ((s.u + shift) % step) - step / 2
        dv = (s.v % step) - step / 2
        dist = np.sqrt(du**2 + dv**2)
        r = s.width * radius
        return mix(base(s), rgb(dot), 1 - smoothstep(r - 1.0, r + 1.0, dist))

    return paint


def glitter(colours: tuple[str, ...], count: int, size: float, bias: float = 0.0) -> Decor:
    """Scattered flakes; bias > 0 crowds them toward the free edge."""

    def decor(s: Surface, draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
        hw = s.width / 2
        for _ in range(count):
            nv = rng.random() ** (1 / (1 + bias))
            u, v = (rng.random() * 2 - 1) * hw, nv * s.length
            x, y = s.to_pixels(u, v)
            r = s.width * size * (0.4 + rng.random()) * SUPERSAMPLE
            turn = rng.random() * math.tau
            sides = 6 if rng.random() < 0.7 else 4
            hexagon = [
                (
                    x + r * math.cos(turn + k * math.tau / sides),
                    y + r * math.sin(turn + k * math.tau / sides),
                )
                for k in range(sides)
            ]
            base = np.asarray(rgb(colours[rng.integers(len(colours))]))
            tone = np.clip(base * (0.7 + 0.6 * rng.random()), 0, 1)
            draw.polygon(hexagon, fill=(*(int(c * 255) for c in tone), 255))
            if rng.random() < 0.18:
                d = r * 0.45
                draw.ellipse((x - d, y - d, x + d, y + d), fill=(255, 255, 250, 230))

    return decor


def flowers(petal: str, centre: str, count: int) -> Decor:
    """Five-petal blossoms with a ring of dots around a coloured centre."""

    def decor(s: Surface, draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
        hw = s.width / 2
        spots = [
            (rng.uniform(-0.6, 0.6) * hw, rng.uniform(0.3, 0.85) * s.length) for _ in range(count)
        ]
        for u, v in spots:
            size = s.width * rng.uniform(0.16, 0.24)
            turn = rng.random() * math.tau
            for k in range(5):
                a = turn + k * math.tau / 5
                tip = (u + size * math.cos(a), v + size * math.sin(a))
                _petal(draw, s, (u, v), tip, size * 0.42, petal)
            x, y = s.to_pixels(u, v)
            r = size * 0.22 * SUPERSAMPLE
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(*_bytes(centre), 255))
            for k in range(5):
                a = turn + k * math.tau / 5 + 0.6
                px, py = s.to_pixels(u + size * 0.3 * math.cos(a), v + size * 0.3 * math.sin(a))
                d = r * 0.25
                draw.ellipse((px - d, py - d, px + d, py + d), fill=(*_bytes(centre), 255))

    return decor


def _petal(
    draw: ImageDraw.ImageDraw,
    s: Surface,
    root: tuple[float, float],
    tip: tuple[float, float],
    half: float,
    colour: str,
) -> None:
    """A teardrop from root to tip, `half` wide at its widest."""
    (ru, rv), (tu, tv) = root, tip
    du, dv = tu - ru, tv - rv
    length = math.hypot(du, dv) or 1.0
    pu, pv = -dv / length, du / length
    points = []
    for t in np.linspace(0, math.pi, 24):
        along = (1 - math.cos(t)) / 2
        wide = half * math.sin(t) ** 1.2 * (1 - 0.3 * along)
        points.append((ru + du * along + pu * wide, rv + dv * along + pv * wide))
    for t in np.linspace(math.pi, 0, 24):
        along = (1 - math.cos(t)) / 2
        wide = half * math.sin(t) ** 1.2 * (1 - 0.3 * along)
        points.append((ru + du * along - pu * wide, rv + dv * along - pv * wide))
    draw.polygon([s.to_pixels(u, v) for u, v in points], fill=(*_bytes(colour), 255))


def _bytes(colour: str) -> tuple[int, int, int]:
    return tuple(round(c * 255) for c in rgb(colour))  # type: ignore[return-value]


def apply_decor(s: Surface, colour: Array, decor: Decor, rng: np.random.Generator) -> Array:
    h, w = s.shape
    layer = Image.new("RGBA", (w * SUPERSAMPLE, h * SUPERSAMPLE), (0, 0, 0, 0))
    decor(s, ImageDraw.Draw(layer), rng)
    small = np.asarray(layer.resize((w, h), Image.Resampling.BOX), np.float32) / 255
    alpha = small[..., 3:]
    painted = np.where(alpha > 0, small[..., :3] / np.maximum(alpha, 1e-6), 0)
    return colour * (1 - alpha) + painted * alpha


def add_gloss(s: Surface, colour: Array, amount: float) -> Array:
    """Curvature shading, a long specular streak and a soft glint: what makes it look wet."""
    nu, nv = s.nu, s.nv
    colour = colour * (0.78 + 0.22 * np.sqrt(np.clip(1 - nu**2, 0, 1)))[..., None]
    colour = colour * (0.9 + 0.1 * smoothstep(-0.05, 0.18, nv))[..., None]
    streak = np.exp(-(((nu + 0.5 - 0.08 * nv) / 0.11) ** 2)) * smoothstep(0.08, 0.25, nv)
    streak *= 1 - smoothstep(0.72, 0.92, nv)
    glint = np.exp(-(((nu - 0.45) / 0.09) ** 2) - ((nv - 0.55) / 0.12) ** 2)
    light = np.clip(amount * (0.55 * streak + 0.3 * glint), 0, 1)
    return mix(colour, (1.0, 1.0, 1.0), light)


# --- scenes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Design:
    folder: str
    file: str
    size: tuple[int, int]
    scene: str  # "hand" or "tips"
    shape: str
    finishes: tuple[Finish, ...]  # one per nail, pinky to thumb
    background: tuple[str, str]
    seed: int
    skin: str = SKIN_TONES[0]
    bottle: str | None = None  # polish colour for a bottle prop in "tips" scenes
    length: float = 1.0  # nail length factor
    exif: dict[str, object] = field(default_factory=dict)
    sidecar: str | None = None


def background(size: tuple[int, int], top: str, bottom: str, rng: np.random.Generator) -> Array:
    """A soft diagonal gradient with out-of-focus bokeh circles and a gentle vignette."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = smoothstep(0, 1, (xs / w * 0.35 + ys / h * 0.65))
    canvas = mix(rgb(top), rgb(bottom), t)
    bokeh = Image.new("L", (w // 4, h // 4), 0)
    draw = ImageDraw.Draw(bokeh)
    for _ in range(14):
        x, y, r = rng.uniform(0, w / 4), rng.uniform(0, h / 4), rng.uniform(w / 60, w / 18)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.uniform(40, 110)))
    glow = bokeh.filter(ImageFilter.GaussianBlur(w / 160)).resize(size, Image.Resampling.BICUBIC)
    canvas = mix(canvas, (1.0, 1.0, 1.0), np.asarray(glow, np.float32) / 255 * 0.35)
    vignette = ((xs / w - 0.5) ** 2 + (ys / h - 0.45) ** 2) * 0.35
    return canvas * (1 - vignette)[..., None]


def paint_nail(
    canvas: Array,
    frame: Frame,
    width: float,
    length: float,
    shape: str,
    finish: Finish,
    rng: np.random.Generator,
) -> Surface | None:
    s = make_surface(canvas, frame, nail_outline(width, length, shape), width, length)
    if s is None:
        return None
    colour = finish.paint(s)
    if finish.decor:
        colour = apply_decor(s, colour, finish.decor, rng)
    composite(canvas, s, add_gloss(s, colour, finish.gloss))
    return s


# Hand scene: pinky, ring, middle, index, thumb (a left hand seen from above).
FINGERS = (  # x (fraction of width), apex y (fraction of height), angle, width factor
    (0.17, 0.36, 8.0, 0.8),
    (0.34, 0.24, 3.0, 0.93),
    (0.515, 0.19, -1.0, 1.0),
    (0.69, 0.25, -5.0, 0.95),
    (0.875, 0.5, -34.0, 1.12),
)
NAIL_EXTENSION = {"square": 0.35, "oval": 0.45, "almond": 0.75, "stiletto": 0.95, "coffin": 0.8}


def draw_hand(design: Design, rng: np.random.Generator) -> Array:
    """Four fingers and a thumb rising from a palm at the bottom edge."""
    w, h = design.size
    canvas = background(design.size, *design.background, rng)
    unit = w * 0.158
    fingers = []
    for (fx, fy, angle, factor), finish in zip(FINGERS, design.finishes, strict=True):
        fw = unit * factor
        nail_len = fw * (0.95 + NAIL_EXTENSION[design.shape] * design.length)
        a = math.radians(angle)
        apex_x, apex_y = fx * w, fy * h + nail_len * 0.45
        # The cuticle sits 0.85 finger widths below the fingertip, along the finger's axis.
        frame = Frame(apex_x + math.sin(a) * fw * 0.85, apex_y + math.cos(a) * fw * 0.85, angle)
        fingers.append((frame, fw, nail_len, finish))
    palm_w, palm_h = w * 0.74, h * 0.6
    palm_outline = [  # a squarish superellipse: the back of the hand below the finger webs
        (palm_w / 2 * _signed_pow(math.cos(t), 0.5), palm_h / 2 * _signed_pow(math.sin(t), 0.5))
        for t in np.linspace(0, math.tau, 120)
    ]
    palm = make_surface(canvas, Frame(w * 0.49, h * 1.08, 0), palm_outline, palm_w, palm_h)
    surfaces = [
        make_surface(canvas, frame, finger_outline(fw, fw * 0.85, h * 2), fw, fw)
        for frame, fw, _, _ in fingers
    ]
    shapes = [(s, 1.0) for s in (palm, *surfaces) if s]
    cast_shadow(canvas, shapes, unit * 0.22, (unit * 0.08, unit * 0.12), 0.3)
    if palm:
        paint_skin(canvas, palm, design.skin)
    fade = (h * 0.84, h * 0.97)  # fingers melt into the palm here
    for (frame, fw, nail_len, finish), finger in zip(fingers, surfaces, strict=True):
        if finger is None:
            continue
        paint_skin(canvas, finger, design.skin, fade, creases=True)
        nail_w = fw * 0.74
        outline = nail_outline(nail_w, nail_len, design.shape)
        nail = make_surface(canvas, frame, outline, nail_w, nail_len)
        if nail is not None:
            cast_shadow_local(canvas, nail, fw * 0.03, 0.35)
        paint_nail(canvas, frame, nail_w, nail_len, design.shape, finish, rng)
    return canvas


def _signed_pow(x: float, p: float) -> float:
    return math.copysign(abs(x) ** p, x)


def paint_skin(
    canvas: Array,
    s: Surface,
    skin: str,
    fade: tuple[float, float] | None = None,
    creases: bool = False,
) -> None:
    """Skin with rounded shading and a warmer rim; fingers get knuckle creases and may fade."""
    hw = s.width / 2
    across = np.clip(s.u / (hw * 1.1), -1, 1)
    roundness = np.sqrt(np.clip(1 - across**2, 0, 1))
    base = np.asarray(rgb(skin), np.float32)
    warm = np.clip(base * np.asarray((1.02, 0.9, 0.88), np.float32), 0, 1)
    colour = mix(warm, base, roundness**0.6) * (0.8 + 0.24 * roundness)[..., None]
    if creases:
        lines = sum(
            np.exp(-(((s.v + s.width * k - s.width * 0.1 * across**2) / (s.width * d)) ** 2))
            * (1 - np.abs(across) * spread)
            for k, d, spread in ((1.06, 0.012, 1.4), (1.13, 0.016, 1.1), (1.21, 0.01, 1.8))
        )
        colour = colour * (1 - 0.07 * np.clip(lines, 0, 1) * roundness)[..., None]
    top = np.exp(-(((s.u + hw * 0.3) / (hw * 0.35)) ** 2)) * 0.08
    alpha = s.mask
    if fade:
        ys = np.arange(s.box[1], s.box[3], dtype=np.float32)[:, None] + 0.5
        alpha = alpha * (1 - smoothstep(fade[0], fade[1], ys))
    composite(canvas, s, mix(colour, (1.0, 0.97, 0.95), top), alpha)


def cast_shadow_local(canvas: Array, s: Surface, blur: float, strength: float) -> None:
    """A soft contact shadow around a nail where it meets the skin."""
    x0, y0, x1, y1 = s.box
    pad = int(blur * 3) + 2
    big = np.zeros((y1 - y0 + 2 * pad, x1 - x0 + 2 * pad), np.float32)
    big[pad:-pad, pad:-pad] = s.mask
    layer = Image.fromarray((big * 255).astype(np.uint8))
    blurred = np.asarray(layer.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255
    h, w = canvas.shape[:2]
    cy0, cy1, cx0, cx1 = max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)
    piece = blurred[cy0 - (y0 - pad) : cy1 - (y0 - pad), cx0 - (x0 - pad) : cx1 - (x0 - pad)]
    canvas[cy0:cy1, cx0:cx1] *= (1 - strength * np.clip(piece, 0, 1))[..., None]


def draw_tips(design: Design, rng: np.random.Generator) -> Array:
    """A press-on set laid out in an arc on a table, with an optional polish bottle."""
    w, h = design.size
    canvas = background(design.size, *design.background, rng)
    span = 0.7 if design.bottle else 0.9
    widths = (0.72, 0.85, 0.95, 0.88, 1.12)  # pinky .. thumb
    unit = w * span / 5.6
    placed = []
    for index, (factor, finish) in enumerate(zip(widths, design.finishes, strict=True)):
        nail_w = unit * factor
        nail_len = nail_w * (1.25 + NAIL_EXTENSION[design.shape] * design.length)
        x = w * (0.04 + span * (index + 0.5) / 5)
        lift = math.sin((index + 0.5) / 5 * math.pi) * h * 0.08
        angle = (2 - index) * 6.0 + rng.uniform(-3, 3)
        frame = Frame(x, h * 0.56 + nail_len * 0.5 - lift, angle)
        placed.append((frame, nail_w, nail_len, finish))
    shadows = []
    for frame, nail_w, nail_len, _ in placed:
        s = make_surface(
            canvas, frame, nail_outline(nail_w, nail_len, design.shape), nail_w, nail_len
        )
        if s is not None:
            shadows.append((s, 1.0))
    cast_shadow(canvas, shadows, unit * 0.12, (unit * 0.06, unit * 0.1), 0.35)
    for frame, nail_w, nail_len, finish in placed:
        paint_nail(canvas, frame, nail_w, nail_len, design.shape, finish, rng)
    if design.bottle:
        draw_bottle(canvas, design.bottle, (w * 0.885, h * 0.82), h * 0.52)
    return canvas


def draw_bottle(canvas: Array, colour: str, foot: tuple[float, float], height: float) -> None:
    """A nail-polish bottle: thick glass with polish inside, a short neck and a tall cap."""
    x, y = foot
    body_w, body_h = height * 0.5, height * 0.5
    neck_w, neck_h = height * 0.17, height * 0.05
    cap_w, cap_h = height * 0.2, height * 0.44
    body = _rounded_box(canvas, x, y - body_h / 2, body_w, body_h, body_w * 0.26)
    neck = _rounded_box(canvas, x, y - body_h - neck_h / 2 + 2, neck_w, neck_h + 4, 3)
    cap = _rounded_box(canvas, x, y - body_h - neck_h - cap_h / 2 + 3, cap_w, cap_h, cap_w * 0.16)
    shadow_of = [(body, 1.0), (neck, 1.0), (cap, 1.0)]
    cast_shadow(canvas, shadow_of, height * 0.04, (height * 0.07, height * 0.02), 0.3)

    polish = np.asarray(rgb(colour), np.float32)
    across = np.clip(body.u / (body_w / 2), -1, 1)
    roundness = np.sqrt(np.clip(1 - across**2, 0, 1))
    # The polish: a rounded box inside the glass (signed distance, negative inside).
    r = body_w * 0.16
    qx = np.abs(body.u) - (body_w * 0.42 - r)
    qy = np.abs(body.v + body_h * 0.06) - (body_h * 0.34 - r)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    distance = outside + np.minimum(np.maximum(qx, qy), 0) - r
    inside = 1 - smoothstep(-1.0, 1.0, distance)
    shell = mix(polish, (1.0, 1.0, 1.0), 0.6) * (0.85 + 0.15 * roundness)[..., None]
    liquid = polish * (0.55 + 0.45 * roundness)[..., None]
    glass = mix(shell, liquid, inside)
    streak = (
        np.exp(-(((across + 0.62) / 0.07) ** 2)) * 0.75
        + np.exp(-(((across - 0.7) / 0.05) ** 2)) * 0.3
    )
    composite(canvas, body, mix(glass, (1.0, 1.0, 1.0), np.clip(streak, 0, 1)))

    neck_across = np.clip(neck.u / (neck_w / 2), -1, 1)
    composite(canvas, neck, mix((0.72, 0.72, 0.74), (0.95, 0.95, 0.96), 1 - neck_across**2))
    cap_across = np.clip(cap.u / (cap_w / 2), -1, 1)
    cap_shine = np.exp(-(((cap_across + 0.4) / 0.22) ** 2)) + 0.3 * np.exp(
        -(((cap_across - 0.6) / 0.15) ** 2)
    )
    composite(
        canvas, cap, mix((0.07, 0.06, 0.07), (0.8, 0.78, 0.78), np.clip(cap_shine * 0.7, 0, 1))
    )


def _rounded_box(canvas: Array, cx: float, cy: float, w: float, h: float, r: float) -> Surface:
    corners = []
    for ccx, ccy, start in (
        (w / 2 - r, h / 2 - r, 0),
        (-w / 2 + r, h / 2 - r, 90),
        (-w / 2 + r, -h / 2 + r, 180),
        (w / 2 - r, -h / 2 + r, 270),
    ):
        for t in np.linspace(math.radians(start), math.radians(start + 90), 12):
            corners.append((ccx + r * math.cos(t), ccy + r * math.sin(t)))
    surface = make_surface(canvas, Frame(cx, cy, 0), corners, w, h)
    assert surface is not None
    return surface


# --- the gallery ---------------------------------------------------------------------------------

NUDE = solid("#f6d2c6")
SHEER = ombre("#f6dcd5", "#f9e6e1")


def _five(finish: Finish, accent: Finish | None = None, at: int = 1) -> tuple[Finish, ...]:
    return tuple(accent if accent and i == at else finish for i in range(5))


DESIGNERS = {  # folder name (deliberately mixed spellings: slugs must cope) -> designer.md
    "ana-lima": """\
Name: Ana Lima

Ana paints clean, glossy classics in her Lisbon studio: french tips, soft chrome and milky
marble. Twelve years behind the nail desk, and still happiest with a perfect smile line.
""",
    "Bea Okafor": """\
Name: Bea Okafor

Bea brings colour: sunsets, citrus and gold flake, painted freehand in Manchester. She
teaches a Saturday class for beginners.
""",
    "chloe_martin": """\
Name: Chloé Martin

Chloé is a Lyon-based artist known for tiny hand-painted flowers, stone effects and pearly
chrome.
""",
}

GOLD_FLAKES = ("#d4a640", "#f3d27a", "#b0812a")

DESIGNS = (
    Design(
        folder="ana-lima",
        file="ruby-french-tips.jpg",
        size=(1200, 1500),
        scene="hand",
        shape="almond",
        finishes=_five(Finish(french(NUDE, "#9b1026", depth=0.3))),
        background=("#f7ebe6", "#ead2cc"),
        seed=11,
        exif={"taken": "2026:01:09 15:12:40"},
        sidecar="""\
Title: Ruby French Tips
Tags: french, classic, red
Colours: ruby red, nude
Technique: Gel polish, hand-painted smile line
Date: 2026-01-10
Alt: Five almond nails with a nude base and deep ruby french tips

A winter take on the classic french: a **sheer nude** base and a crisp ruby tip, sealed
with a high-gloss top coat.

Ask for it as *Ruby French* when you book.
""",
    ),
    Design(
        folder="ana-lima",
        file="Rose Gold Chrome.jpg",
        size=(1600, 2000),
        scene="hand",
        shape="coffin",
        finishes=_five(Finish(chrome("#8a5048", "#f1c4b4", "#fff2ea"), gloss=0.7)),
        background=("#efe7e4", "#d8ccc9"),
        seed=12,
        skin=SKIN_TONES[1],
        exif={"taken": "2026:02:02 11:05:00"},
    ),
    Design(
        folder="ana-lima",
        file="milky-marble.png",
        size=(1200, 900),
        scene="tips",
        shape="square",
        finishes=tuple(
            Finish(marble("#f5f1ec", "#b7b2ad", "#c9a24a", seed=30 + i)) for i in range(5)
        ),
        background=("#e9e4df", "#cfc8c1"),
        seed=13,
        bottle="#efe9e2",
        sidecar="""\
Title: Milky Marble
Tags: marble, gold, minimal
Colors: white, grey, gold
Technique: Wet-on-wet marble with gold foil lines
Date: 2026-02-14 10:30

Soft grey veins drift through a milky base; a thread of gold foil catches the light.
""",
    ),
    Design(
        folder="ana-lima",
        file="Lavender Ombre 02.jpg",
        size=(1200, 1500),
        scene="hand",
        shape="oval",
        finishes=_five(
            Finish(ombre("#f4d9e6", "#c7b3e8", "#9d86d6")),
            Finish(
                ombre("#f4d9e6", "#c7b3e8"),
                glitter(("#f4f0ff", "#d8c8ff", "#c9c9d6"), 260, 0.035, bias=2),
            ),
            at=2,
        ),
        background=("#f3eef7", "#dcd3e8"),
        seed=14,
        exif={"taken": "2026:03:03 17:48:21", "orientation": 6},
    ),
    Design(
        folder="Bea Okafor",
        file="sunset-gradient.jpg",
        size=(1600, 2000),
        scene="hand",
        shape="stiletto",
        finishes=_five(
            Finish(ombre("#ffb347", "#ff6f61", "#c2407e", "#5b2a86", start=0.05, slant=0.12))
        ),
        background=("#fbeee4", "#f0d3c8"),
        seed=21,
        skin=SKIN_TONES[2],
        exif={"taken": "2026:02:21 19:02:11", "gps": (6.4541, 3.3947)},
        sidecar="""\
Title: Sunset Gradient
Tags: ombre, stiletto, summer
Colours: tangerine, coral, magenta, violet
Technique: Sponged gradient
Date: 2026-02-22 09:15

Four colours sponged from tangerine to violet, like the last ten minutes of a Lagos
sunset. Long stilettos make the gradient sing.
""",
    ),
    Design(
        folder="Bea Okafor",
        file="Gold Flake Glitter.JPG",
        size=(1600, 1200),
        scene="tips",
        shape="coffin",
        finishes=_five(
            Finish(solid("#151316"), glitter(GOLD_FLAKES, 320, 0.03, bias=3)),
            Finish(solid("#151316"), glitter(GOLD_FLAKES, 700, 0.032)),
            at=3,
        ),
        background=("#ece6e1", "#d1c8c0"),
        seed=22,
        bottle="#151316",
        exif={"taken": "2026:01:28 20:40:05"},
    ),
    Design(
        folder="Bea Okafor",
        file="citrus-dots.webp",
        size=(1200, 1500),
        scene="hand",
        shape="square",
        finishes=_five(
            Finish(dots(solid("#ffd84d"), "#ffffff", 0.3, 0.075)),
            Finish(dots(solid("#9fd356"), "#ffffff", 0.3, 0.075)),
            at=1,
        ),
        background=("#fdf8e6", "#f0e6c4"),
        seed=23,
        skin=SKIN_TONES[3],
        sidecar="""\
Title: Citrus Dots
Tags: dots, summer, playful
Colours: lemon, lime, white
Technique: Dotting tool over gel colour
Date: 2026-03-08

Lemon yellow with a lime accent nail and neat white polka dots.
""",
    ),
    Design(
        folder="Bea Okafor",
        file="navy_stripes.jpg",
        size=(1600, 1200),
        scene="tips",
        shape="square",
        finishes=_five(
            Finish(stripes("#f7f5f0", "#1d2c55", 0.26, 35.0)),
            Finish(solid("#1d2c55"), glitter(("#e0b64c", "#f6d98a"), 90, 0.028, bias=4)),
            at=2,
        ),
        background=("#e6eaf0", "#c9d0db"),
        seed=24,
        bottle="#1d2c55",
    ),
    Design(
        folder="chloe_martin",
        file="cherry-blossom.jpg",
        size=(1600, 2000),
        scene="hand",
        shape="almond",
        finishes=_five(
            Finish(SHEER, flowers("#ffffff", "#f2b8c6", 3)), Finish(solid("#f6b3c4")), at=3
        ),
        background=("#fbf1f3", "#edd8dd"),
        seed=31,
        sidecar="""\
Title: Cherry Blossom
Tags: floral, spring, hand-painted
Colours: blush, white, pink
Technique: Freehand with a detail brush
Date: 2026-03-20
Alt: Almond nails with white five-petal blossoms on a sheer blush base

Tiny five-petal blossoms painted freehand on a sheer blush base, with one solid pink
accent. Takes about ninety minutes.
""",
    ),
    Design(
        folder="chloe_martin",
        file="Emerald Marble.jpg",
        size=(1200, 1500),
        scene="hand",
        shape="coffin",
        finishes=tuple(
            Finish(marble("#0f5b45", "#7fc9a8", "#d7b45a", seed=40 + i, scale=1.2))
            for i in range(5)
        ),
        background=("#eef3f0", "#d2ddd7"),
        seed=32,
        skin=SKIN_TONES[1],
    ),
    Design(
        folder="chloe_martin",
        file="pearl-chrome.jpg",
        size=(1600, 1200),
        scene="tips",
        shape="almond",
        finishes=_five(Finish(chrome("#b9abc9", "#fcf6f4", "#ffffff"), gloss=0.8)),
        background=("#efe9ee", "#d6cdd6"),
        seed=33,
        bottle="#e9dfe8",
        sidecar="""\
Title: Pearl Chrome
Tags: chrome, bridal, minimal
Colours: pearl, lilac
Technique: Chrome powder over a milky base
Date: 2026-01-30 16:00

A soft **pearl glaze**: chrome powder buffed over a milky base. A favourite for weddings.
""",
    ),
    Design(
        folder="chloe_martin",
        file="Crème Brûlée.jpg",
        size=(1200, 1500),
        scene="hand",
        shape="oval",
        finishes=_five(
            Finish(french(ombre("#f6e3c9", "#e9c495"), "#9a5b2a", depth=0.22, smile=0.1))
        ),
        background=("#f8f0e6", "#e6d6c3"),
        seed=34,
        skin=SKIN_TONES[2],
        exif={"taken": "2026:02:11 13:20:00"},
    ),
)

ABOUT = """\
Title: About
Slug: about

Nailfolio is the shared portfolio of three independent nail artists: Ana Lima, Bea Okafor
and Chloé Martin. Every design here was painted by hand in one of our studios, and every
photo is checked before it goes on the site.

## Booking a design

See something you love? Note the design's name and mention it when you book with its
artist; we can adapt colours and shapes to your nails.

## Comments

Signed-in customers can leave a comment under any design: what you liked, what you would
change, or a question for the artist. Comments are read by our team only and are never
published, so feel free to be honest.
"""


def render(design: Design) -> Image.Image:
    rng = np.random.default_rng(design.seed)
    draw = draw_hand if design.scene == "hand" else draw_tips
    pixels = draw(design, rng)
    if not design.file.endswith(".png"):  # a little grain hides banding; PNG stays lean without
        grain = rng.normal(0, 0.006, pixels.shape[:2]).astype(np.float32)[..., None]
        pixels = np.clip(pixels + grain, 0, 1)
    return Image.fromarray((pixels * 255 + 0.5).astype(np.uint8))


def save(image: Image.Image, path: Path, design: Design) -> None:
    fmt = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}[path.suffix.lower()]
    if fmt == "PNG":
        image.save(path, "PNG", optimize=True)
        return
    if fmt == "WEBP":
        image.save(path, "WEBP", quality=JPEG_QUALITY, method=6)
        return
    exif = Image.Exif()
    if design.exif:
        exif[Base.Make] = "Nailfolio"
        exif[Base.Model] = "Sample studio camera"
    if "taken" in design.exif:
        exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = design.exif["taken"]
    if "orientation" in design.exif:
        # Orientation 6 means "turn 90 degrees clockwise to view": store it turned the other way.
        exif[Base.Orientation] = design.exif["orientation"]
        image = image.transpose(Image.Transpose.ROTATE_90)
    if "gps" in design.exif:
        lat, lon = design.exif["gps"]  # type: ignore[misc]
        gps = exif.get_ifd(IFD.GPSInfo)
        gps[GPS.GPSLatitudeRef], gps[GPS.GPSLatitude] = "N" if lat >= 0 else "S", _dms(lat)
        gps[GPS.GPSLongitudeRef], gps[GPS.GPSLongitude] = "E" if lon >= 0 else "W", _dms(lon)
    image.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=exif)


def _dms(degrees: float) -> tuple[float, float, float]:
    degrees = abs(degrees)
    minutes = (degrees % 1) * 60
    return float(int(degrees)), float(int(minutes)), round((minutes % 1) * 60, 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "content"
    )
    parser.add_argument("--only", help="render only designs whose file name contains this")
    args = parser.parse_args(argv)
    designs_dir = args.out / "designs"
    for folder, text in DESIGNERS.items():
        (designs_dir / folder).mkdir(parents=True, exist_ok=True)
        (designs_dir / folder / "designer.md").write_text(text, encoding="utf-8")
    for design in DESIGNS:
        if args.only and args.only not in design.file:
            continue
        path = designs_dir / design.folder / design.file
        save(render(design), path, design)
        if design.sidecar:
            path.with_suffix(".md").write_text(design.sidecar, encoding="utf-8")
        print(f"{path.relative_to(args.out.parent)}  {path.stat().st_size // 1024} KB")
    (args.out / "pages").mkdir(parents=True, exist_ok=True)
    (args.out / "pages" / "about.md").write_text(ABOUT, encoding="utf-8")


if __name__ == "__main__":
    main()
