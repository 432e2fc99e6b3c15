"""A design's palette: its dominant colours read from the pixels, and palette distance.

`read_palette` runs at ingest on the smallest whole picture the variants already made
(~480 px wide, before it is encoded), so it costs ~5 ms a design (~22 ms a noisy phone photo):
scaled to SAMPLE_WIDTH, median-cut into a few clusters, clusters that look alike in CIELAB
merged, the background and the hands left out, and each colour left named after its nearest
polish shade.

What counts as background: a nail photo shows the nails in the middle of a plain backdrop,
usually on a hand, and both the backdrop and the hand run off the picture's edges while the
nails seldom do. So a cluster that fills part of the picture's frame (its outer band) and is
neutral and light (a backdrop) or skin-toned (a hand) is left out. A colourful frame stays
(a swatch photographed edge to edge is all design), and when nothing else is left, nothing
is left out (white-on-white designs). Mid greys other than the largest colour are the
shadows fingers and bottles cast, and are left out too.

`similar` finds, for each design, designs sharing much of its colour by named shade (from an
index of shades: no pair of designs without a shade in common is ever measured), and ranks
them by `distance`, a symmetric nearest-colour difference weighted by share: deterministic,
ties broken by key.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from nailfolio.gallery.models import Swatch
from nailfolio.gallery.shades import (
    Lab,
    chroma,
    delta_e,
    hex_to_lab,
    hue,
    nearest_shade,
    rgb_to_hex,
    srgb_to_lab,
    surely_apart,
)

# Bump when reading changes (this module or the shade table): stored palettes are read again
# on the next build, from each design's photo scaled as a render scales it (variants.recolour;
# nothing is encoded). 3: version 2 had read them from the stored WebPs instead, and 7 of the
# 12 sample designs read otherwise than a fresh render (milky marble silver, not white).
PALETTE_VERSION = 3
SAMPLE_WIDTH = 96  # px: ~11,000 pixels for a 4:5 photo; thin nails keep some pure ones
CLUSTERS = 16  # median-cut colours before merging
# Pillow's k-means refinement of the design's clusters decides what a design shows: without
# it the sample lavender ombre read as silver first, and 10 of the 12 samples changed. It
# stops once an iteration moves at most this share of the pixels: on a phone photo's ~12,000
# nearly all-different pixels, iterating on until one pixel moves took ~30 rounds (~20 ms)
# whose last ~20 nudged the centres by fractions of a unit. At 2% it takes ~8 ms, and 2 of
# the 12 samples read otherwise (pearl chrome: pearl, not silver; emerald marble: sage
# veins too), both as a person would name them.
KMEANS_SETTLED = 0.02
MERGE_BELOW = 8.0  # CIEDE2000: clusters closer than this are one colour
FRAME = 0.08  # the frame band's width, as a share of the picture's shorter side
ON_FRAME = 0.06  # a cluster filling this share of the frame band touches the frame
MIN_DESIGN = 0.03  # of the picture left after the backdrop, or nothing is left out
SHADOW_CHROMA = 12.0  # greyer than this, and neither dark nor light: a shadow
MIN_SHARE = 0.08  # colours under this share of the design's pixels are left out
MAX_SWATCHES = 4
SIMILAR_COUNT = 4  # "Similar designs" on a design page
SIMILAR_SHARED = 0.25  # of a design's colour another must share (by named shade) to be similar
HOLDERS = 4  # x SIMILAR_COUNT: per shade, the designs holding most of it are candidates
SHORTLIST = 3  # x SIMILAR_COUNT: the candidates sharing most colour, then ranked by distance
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class _Cluster:
    index: int  # in the quantized picture's palette
    rgb: tuple[int, int, int]
    lab: Lab
    count: int
    framed: int  # of its pixels in the frame band


def read_palette(image: Image.Image) -> tuple[Swatch, ...]:
    """The design's dominant colours, largest share first (see the module's docstring)."""
    return read_colours(image)[1]


def read_colours(image: Image.Image) -> tuple[str, tuple[Swatch, ...]]:
    """The picture's most common colour as "#rrggbb" (backdrop included: what a page paints
    while the image loads), and the design's palette as read_palette reads it. One reading
    serves both: the whole picture's clusters are the palette's first step."""
    sample = _sample(image)
    quantized = sample.quantize(CLUSTERS, Image.Quantize.MEDIANCUT)
    clusters = _clusters(quantized)
    groups = _merge(clusters)
    most_common = rgb_to_hex(groups[0][0].rgb) if groups else "#000000"
    frame_total = sum(group.framed for group, _ in groups) or 1
    backdrop = {i for group, members in groups if _background(group, frame_total) for i in members}
    rgb = sample.tobytes()
    design = _design_pixels(rgb, quantized, backdrop)
    if len(design) < MIN_DESIGN * len(rgb):  # the nails look like the backdrop
        design = rgb  # (white on white): all of it is the design
    return most_common, _swatches(design)


def _design_pixels(rgb: bytes, quantized: Image.Image, backdrop: set[int]) -> bytes:
    """The RGB bytes of the pixels whose cluster is not in `backdrop`, in C: each pixel's
    keep-or-drop flag, tripled by an L to RGB conversion, selects its three bytes."""
    if not backdrop:
        return rgb
    keep = bytes(0 if index in backdrop else 1 for index in range(256))
    flags = Image.frombytes("L", quantized.size, quantized.tobytes().translate(keep))
    return bytes(itertools.compress(rgb, flags.convert("RGB").tobytes()))


def _swatches(pixels: bytes) -> tuple[Swatch, ...]:
    """The design's own RGB pixels clustered afresh, so no backdrop colour blurs them."""
    total = len(pixels) // 3
    strip = Image.frombytes("RGB", (total, 1), pixels)
    settled = max(1, round(KMEANS_SETTLED * total))
    quantized = strip.quantize(CLUSTERS, Image.Quantize.MEDIANCUT, kmeans=settled)
    by_shade: dict[str, tuple[_Cluster, int]] = {}
    for rank, (group, _) in enumerate(_merge(_clusters(quantized, frame=False))):
        if rank and _shadow(group):
            continue
        shade = nearest_shade(group.lab)
        first, count = by_shade.get(shade, (group, 0))
        by_shade[shade] = (first, count + group.count)
    swatches = [
        Swatch(rgb_to_hex(first.rgb), round(count / total, 3), shade)
        for shade, (first, count) in by_shade.items()
        if count / total >= MIN_SHARE
    ]
    swatches.sort(key=lambda s: (-s.share, s.shade))
    return tuple(swatches[:MAX_SWATCHES])


def shared(first: Sequence[Swatch], second: Sequence[Swatch]) -> float:
    """How much of their colour two palettes share by named shade, 0 to 1 (the intersection
    of their shade histograms)."""
    return _overlap(_by_shade(first), _by_shade(second))


def distance(first: Sequence[Swatch], second: Sequence[Swatch]) -> float:
    """How different two palettes look: each colour's difference (CIE76, Euclidean in
    CIELAB) to the nearest colour of the other, weighted by share, averaged both ways."""
    if not first or not second:
        return float("inf")
    return _pair_distance(_labs(first), _labs(second))


def similar(
    palettes: Mapping[str, Sequence[Swatch]], count: int = SIMILAR_COUNT
) -> dict[str, tuple[str, ...]]:
    """For each key, up to `count` other keys whose palettes share at least SIMILAR_SHARED
    of its colour by named shade, nearest by `distance` first, ties by key. Keys without a
    palette get none and are in none.

    Candidates come from an index of shades: for each of a design's shades, the HOLDERS x
    count designs holding most of it; the SHORTLIST x count sharing most are measured. So
    the work grows with the designs, not with their pairs."""
    shades = {key: _by_shade(swatches) for key, swatches in sorted(palettes.items()) if swatches}
    holders: dict[str, list[str]] = {}
    for key, mine in shades.items():
        for shade in mine:
            holders.setdefault(shade, []).append(key)
    for shade, keys in holders.items():  # most of the shade first, ties by key
        keys.sort(key=lambda key, shade=shade: (-shades[key][shade], key))
        del keys[HOLDERS * count + 1 :]  # one more: the design itself may be among them
    labs = {key: _labs(palettes[key]) for key in shades}
    found: dict[str, tuple[str, ...]] = {}
    for key, mine in shades.items():
        candidates = {other for shade in mine for other in holders[shade]} - {key}
        overlap = {other: round(_overlap(mine, shades[other]), 6) for other in candidates}
        near = [other for other, amount in overlap.items() if amount >= SIMILAR_SHARED]
        shortlist = heapq.nsmallest(count * SHORTLIST, near, key=lambda o: (-overlap[o], o))
        shortlist.sort(key=lambda other: (_pair_distance(labs[key], labs[other]), other))
        found[key] = tuple(shortlist[:count])
    return found


def _overlap(mine: Mapping[str, float], theirs: Mapping[str, float]) -> float:
    return sum(min(share, theirs[shade]) for shade, share in mine.items() if shade in theirs)


def _by_shade(swatches: Sequence[Swatch]) -> dict[str, float]:
    shares: dict[str, float] = {}
    for swatch in swatches:
        shares[swatch.shade] = shares.get(swatch.shade, 0.0) + swatch.share
    return shares


def _sample(image: Image.Image) -> Image.Image:
    """`image` SAMPLE_WIDTH wide (never upscaled), in RGB, transparency on white."""
    width = min(SAMPLE_WIDTH, image.width)
    height = max(1, round(image.height * width / image.width))
    small = image.resize((width, height), Image.Resampling.BOX)
    if small.mode in ("RGBA", "LA"):
        flat = Image.new("RGB", small.size, WHITE)
        flat.paste(small.convert("RGBA"), mask=small.getchannel("A"))
        return flat
    return small if small.mode == "RGB" else small.convert("RGB")


def _clusters(quantized: Image.Image, frame: bool = True) -> list[_Cluster]:
    """A quantized picture's clusters with their pixel counts, in all and in its frame band."""
    palette = quantized.getpalette() or []
    framed = _framed(quantized) if frame else {}
    clusters = []
    for count, index in quantized.getcolors(256) or ():
        rgb = (palette[index * 3], palette[index * 3 + 1], palette[index * 3 + 2])
        clusters.append(_Cluster(index, rgb, srgb_to_lab(rgb), count, framed.get(index, 0)))
    return clusters


def _framed(quantized: Image.Image) -> dict[int, int]:
    """Pixel counts per palette index in the frame band (four crops: C speed)."""
    width, height = quantized.size
    band = max(1, round(min(width, height) * FRAME))
    boxes = [(0, 0, width, band), (0, height - band, width, height)]  # top, bottom
    boxes += [(0, band, band, height - band), (width - band, band, width, height - band)]
    framed: dict[int, int] = {}
    for box in boxes:
        if box[2] > box[0] and box[3] > box[1]:
            for count, index in quantized.crop(box).getcolors(256) or ():
                framed[index] = framed.get(index, 0) + count
    return framed


def _merge(clusters: list[_Cluster]) -> list[tuple[_Cluster, tuple[int, ...]]]:
    """Clusters closer than MERGE_BELOW folded into the largest of them, largest first, each
    with the palette indices it holds."""
    merged: list[tuple[_Cluster, tuple[int, ...]]] = []
    for cluster in sorted(clusters, key=lambda c: (-c.count, c.rgb)):
        for i, (kept, members) in enumerate(merged):
            if not surely_apart(kept.lab, cluster.lab, MERGE_BELOW) and (
                delta_e(kept.lab, cluster.lab) < MERGE_BELOW
            ):
                count, framed = kept.count + cluster.count, kept.framed + cluster.framed
                grown = _Cluster(kept.index, kept.rgb, kept.lab, count, framed)
                merged[i] = (grown, (*members, cluster.index))
                break
        else:
            merged.append((cluster, (cluster.index,)))
    return merged


def _background(cluster: _Cluster, frame_total: int) -> bool:
    """A cluster filling part of the frame band that looks like a backdrop or a hand."""
    if cluster.framed < ON_FRAME * frame_total:
        return False
    lightness, colourfulness = cluster.lab[0], chroma(cluster.lab)
    backdrop = colourfulness < 12 and lightness > 60
    skin = 8 <= colourfulness <= 45 and 20 <= hue(cluster.lab) <= 80 and lightness >= 20
    return backdrop or skin


def _shadow(cluster: _Cluster) -> bool:
    """A mid grey: the shadows of fingers and bottles on the backdrop, unless it is the
    design's largest colour (a grey polish)."""
    return chroma(cluster.lab) < SHADOW_CHROMA and 25 < cluster.lab[0] < 80


def _labs(swatches: Sequence[Swatch]) -> tuple[tuple[Lab, float], ...]:
    return tuple((hex_to_lab(s.colour), s.share) for s in swatches)


def _pair_distance(one: Sequence[tuple[Lab, float]], two: Sequence[tuple[Lab, float]]) -> float:
    return (_towards(one, two) + _towards(two, one)) / 2


def _towards(one: Sequence[tuple[Lab, float]], two: Sequence[tuple[Lab, float]]) -> float:
    # CIE76, not CIEDE2000: ~50x cheaper, and these colours already share a named shade
    weight = sum(share for _, share in one) or 1.0
    total = sum(share * min(math.dist(lab, other) for other, _ in two) for lab, share in one)
    return total / weight
