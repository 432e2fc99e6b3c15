"""Reading a design's palette from its pixels, the shade table, and palette distance."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import REPO
from PIL import Image, ImageColor, ImageDraw

from nailfolio.config import load_settings
from nailfolio.gallery import images, palette
from nailfolio.gallery.models import Swatch
from nailfolio.gallery.palette import distance, read_palette, shared, similar
from nailfolio.gallery.shades import (
    SHADES,
    delta_e,
    hex_to_lab,
    lightness_apart,
    nearest_shade,
    srgb_to_lab,
)
from nailfolio.gallery.variants import render_variants
from nailfolio.gallery.views import css_colour
from nailfolio.local.folder_rendition_store import FolderRenditionStore

BACKDROP = (236, 233, 230)  # a light grey studio backdrop
SKIN = (224, 172, 140)  # a hand
DARK_SKIN = (120, 78, 56)


def _nail_photo(
    nail: tuple[int, int, int], tip: tuple[int, int, int] | None = None, hand=SKIN
) -> Image.Image:
    """A 480 x 600 picture like the sample gallery's: a backdrop, a hand rising from the
    bottom edge, and four nails on its fingers (with tips of another colour, if given)."""
    image = Image.new("RGB", (480, 600), BACKDROP)
    draw = ImageDraw.Draw(image)
    for i in range(4):
        left = 70 + i * 90
        draw.rectangle((left, 220, left + 70, 600), fill=hand)  # a finger, off the bottom
        draw.rounded_rectangle((left + 8, 150, left + 62, 300), radius=24, fill=nail)
        if tip:
            draw.rounded_rectangle((left + 8, 150, left + 62, 190), radius=24, fill=tip)
    return image


def _shades(image: Image.Image) -> list[str]:
    return [swatch.shade for swatch in read_palette(image)]


def test_a_mostly_red_image_reads_as_red() -> None:
    image = Image.new("RGB", (480, 600), (205, 28, 36))
    image.paste((245, 245, 240), (200, 250, 260, 310))  # a small highlight: under MIN_SHARE
    (swatch,) = read_palette(image)
    assert swatch.shade == "red"
    assert swatch.share > 0.95
    assert delta_e(hex_to_lab(swatch.colour), hex_to_lab("#cd1c24")) < 3


def test_the_backdrop_and_the_hand_are_left_out() -> None:
    assert _shades(_nail_photo((28, 40, 86))) == ["navy"]


def test_a_dark_hand_is_left_out_too() -> None:
    assert _shades(_nail_photo((20, 110, 75), hand=DARK_SKIN)) == ["emerald"]


def test_two_colours_come_with_their_shares_largest_first() -> None:
    found = read_palette(_nail_photo((240, 214, 200), tip=(150, 15, 35)))
    assert [s.shade for s in found] == ["nude", "ruby"]
    assert found[0].share > found[1].share > palette.MIN_SHARE
    assert 0.9 < sum(s.share for s in found) <= 1  # the rest: edges blending into the hand


def test_the_shadows_nails_cast_are_left_out_but_a_grey_polish_is_not() -> None:
    image = Image.new("RGB", (480, 600), BACKDROP)
    draw = ImageDraw.Draw(image)
    for left in (80, 260):
        draw.rounded_rectangle((left + 14, 214, left + 134, 434), radius=30, fill=(128, 126, 124))
        draw.rounded_rectangle((left, 200, left + 120, 420), radius=30, fill=(205, 28, 36))
    assert _shades(image) == ["red"]
    assert _shades(_nail_photo((120, 120, 122))) == ["grey"]


def test_white_on_a_white_backdrop_is_white_not_nothing() -> None:
    image = Image.new("RGB", (480, 600), (246, 246, 243))
    ImageDraw.Draw(image).ellipse((180, 200, 300, 400), fill=(250, 250, 250))
    assert _shades(image) == ["white"]


def test_a_colourful_frame_is_the_design_not_a_backdrop() -> None:
    image = Image.new("RGB", (480, 600), (250, 220, 30))  # yellow edge to edge
    ImageDraw.Draw(image).rectangle((140, 200, 340, 400), fill=(40, 60, 190))
    assert _shades(image) == ["yellow", "blue"]


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_grey_transparent_and_palette_pictures_are_read(mode: str) -> None:
    image = Image.new("RGB", (300, 300), (200, 30, 40)).convert(mode)
    assert read_palette(image)
    if mode == "RGBA":  # transparency is read as the white it is published on
        clear = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
        assert _shades(clear) == ["white"]


def test_a_tiny_picture_is_never_scaled_up() -> None:
    assert _shades(Image.new("RGB", (3, 2), (28, 37, 80))) == ["navy"]


def test_reading_is_deterministic() -> None:
    image = _nail_photo((240, 214, 200), tip=(150, 15, 35))
    assert read_palette(image) == read_palette(image.copy())


# --- the shade table ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [  # Sharma, Wu and Dalal's CIEDE2000 test data
        ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
        ((50, 0, 0), (50, -1, 2), 2.3669),
        ((50, 2.49, -0.001), (50, -2.49, 0.0011), 7.2195),
        ((50, 2.5, 0), (73, 25, -18), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
    ],
)
def test_delta_e_matches_the_ciede2000_reference_data(first, second, expected) -> None:
    assert delta_e(first, second) == pytest.approx(expected, abs=1e-4)
    assert delta_e(second, first) == pytest.approx(expected, abs=1e-4)


def _random_labs(count: int, seed: int) -> list[tuple[float, float, float]]:
    rng = random.Random(seed)
    return [
        srgb_to_lab((rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        for _ in range(count)
    ]


def test_the_nearest_shade_is_the_least_delta_e_of_all_shades_ties_in_table_order() -> None:
    # nearest_shade skips shades by a lightness bound; the answer is the one measuring all.
    labs = {name: hex_to_lab(colour) for name, colour in SHADES.items()}
    colours = _random_labs(20_000, seed=7) + list(labs.values())
    for lab in colours:
        assert nearest_shade(lab) == min(labs, key=lambda name: delta_e(lab, labs[name]))


def test_the_lightness_bound_never_exceeds_delta_e() -> None:
    colours = _random_labs(4_000, seed=11)
    pairs = list(zip(colours, colours[1:] + colours[:1], strict=True))
    pairs += [((0.0, 0.0, 0.0), (100.0, 0.0, 0.0)), ((50.0, 80.0, -60.0), (50.0, -80.0, 60.0))]
    for first, second in pairs:
        assert lightness_apart(first, second) <= delta_e(first, second) + 1e-12


def test_every_shade_is_its_own_nearest_and_clearly_apart_from_the_others() -> None:
    labs = {name: hex_to_lab(colour) for name, colour in SHADES.items()}
    for name, lab in labs.items():
        assert nearest_shade(lab) == name
        others = min(delta_e(lab, other) for key, other in labs.items() if key != name)
        assert others > 4, f"{name} is hard to tell from its nearest shade"


def test_every_shade_name_has_a_swatch_of_about_its_colour_and_is_written_as_in_sidecars() -> None:
    for name, colour in SHADES.items():
        assert name == name.lower().strip()
        swatch = ImageColor.getrgb(css_colour(name))[:3]  # as a browser reads it
        assert delta_e(srgb_to_lab(swatch), hex_to_lab(colour)) < 20, f"{name}: its chip's swatch"


# --- palette distance and similar designs ------------------------------------------------


def _palette(*swatches: tuple[str, float, str]) -> tuple[Swatch, ...]:
    return tuple(Swatch(colour, share, shade) for colour, share, shade in swatches)


RED = _palette(("#d11f2a", 0.8, "red"), ("#f5f5f2", 0.2, "white"))


def test_distance_is_zero_for_the_same_palette_and_symmetric() -> None:
    blue = _palette(("#2457c5", 1.0, "blue"))
    assert distance(RED, RED) == 0
    assert distance(RED, blue) == pytest.approx(distance(blue, RED))
    assert distance(RED, blue) > 30
    assert distance(RED, ()) == float("inf")


def test_palettes_share_their_colour_by_named_shade() -> None:
    cherry = _palette(("#b0122e", 0.7, "cherry"), ("#f4f4f0", 0.3, "white"))
    assert shared(RED, cherry) == pytest.approx(0.2)  # the white alone
    assert shared(RED, RED) == pytest.approx(1.0)


def test_similar_designs_share_colour_and_come_nearest_first_without_itself() -> None:
    palettes = {
        "ana/red": RED,
        "bea/dark-red": _palette(("#b81d28", 0.8, "red"), ("#f5f5f2", 0.2, "white")),
        "cleo/red-again": _palette(("#d0202b", 0.75, "red"), ("#f4f4f1", 0.25, "white")),
        "dan/navy": _palette(("#1c2550", 1.0, "navy")),
        "eve/white-dots": _palette(("#f5f5f2", 0.9, "white"), ("#1c2550", 0.1, "navy")),
        "fay/none": (),
    }
    found = similar(palettes, count=4)
    assert found["ana/red"] == ("cleo/red-again", "bea/dark-red")  # nearest first
    # a quarter white in common is enough (SIMILAR_SHARED), but the reds are nearer
    assert found["cleo/red-again"] == ("ana/red", "bea/dark-red", "eve/white-dots")
    assert found["dan/navy"] == ()  # 10% navy in the dots is not enough to be similar
    assert "eve/white-dots" not in found["ana/red"]  # 20% white in common: not enough
    assert "fay/none" not in found  # no palette: neither similar nor with similar designs
    assert all(key not in keys for key, keys in found.items())
    assert similar(palettes, count=1)["ana/red"] == ("cleo/red-again",)


def test_similar_designs_break_ties_by_key_and_do_not_depend_on_order() -> None:
    same = _palette(("#b7a7e8", 1.0, "lavender"))
    palettes = {"c/one": same, "a/one": same, "b/one": same, "d/one": same}
    assert similar(palettes, count=2)["c/one"] == ("a/one", "b/one")
    reordered = dict(reversed(palettes.items()))
    assert similar(reordered) == similar(palettes)


def test_similar_designs_come_from_those_holding_most_of_a_shade() -> None:
    # 100 lavender designs: only the ones holding most lavender are measured, so the work
    # stays linear; the nearest of those still come first.
    palettes = {
        f"d/{i:03d}": _palette((f"#b7a7{0xE8 - i % 50:02x}", 1.0 - i / 400, "lavender"))
        for i in range(100)
    }
    found = similar(palettes)
    assert all(len(keys) == palette.SIMILAR_COUNT for keys in found.values())
    assert found["d/000"] == ("d/001", "d/002", "d/003", "d/004")


def test_one_reading_gives_the_most_common_colour_and_the_palette() -> None:
    # The backdrop is what a page paints while the photo loads; the palette leaves it out.
    image = _nail_photo((205, 28, 36))
    most_common, swatches = palette.read_colours(image)
    assert delta_e(hex_to_lab(most_common), srgb_to_lab(BACKDROP)) < 3
    assert swatches == read_palette(image) and swatches[0].shade == "red"


def test_the_design_pixels_are_exactly_those_outside_the_backdrop() -> None:
    image = _nail_photo((205, 28, 36), tip=(250, 250, 250))
    sample = palette._sample(image)
    quantized = sample.quantize(palette.CLUSTERS, Image.Quantize.MEDIANCUT)
    rgb, indices = sample.tobytes(), quantized.tobytes()
    backdrop = {indices[0], indices[-1]}  # the top left corner's cluster and the hand's
    expected = b"".join(
        rgb[3 * i : 3 * i + 3] for i, index in enumerate(indices) if index not in backdrop
    )
    assert 0 < len(expected) < len(rgb)
    assert palette._design_pixels(rgb, quantized, backdrop) == expected
    assert palette._design_pixels(rgb, quantized, set()) == rgb


# The sample gallery's designs, and the shades a person names first in each.
SAMPLE_SHADES = {
    "ana-lima/Lavender Ombre 02.jpg": "lavender",
    "ana-lima/Rose Gold Chrome.jpg": "rose gold",
    "ana-lima/milky-marble.png": "white",
    "Bea Okafor/citrus-dots.webp": "yellow",
    "Bea Okafor/navy_stripes.jpg": "navy",
    "Bea Okafor/Gold Flake Glitter.JPG": "black",
    "chloe_martin/Emerald Marble.jpg": "emerald",
    "chloe_martin/pearl-chrome.jpg": "pearl",
}


def test_the_sample_designs_read_as_a_person_names_them(tmp_path: Path) -> None:
    # Read as a build reads them: from the smallest picture the variants make.
    settings = load_settings(env={}, root=tmp_path).images
    store = FolderRenditionStore(tmp_path / "renditions")
    first = {}
    for name in SAMPLE_SHADES:
        loaded = images.load_image(REPO / "content" / "designs" / name, settings)
        rendition = render_variants(loaded, "0" * 64, settings, store)
        first[name] = rendition.palette[0].shade
    assert first == SAMPLE_SHADES
