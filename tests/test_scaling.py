"""The variants' downscaling in libvips (nailfolio.gallery.scaling)."""

from __future__ import annotations

import math

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from nailfolio.gallery.scaling import ScaleChain


def _psnr(a: Image.Image, b: Image.Image) -> float:
    rms = ImageStat.Stat(ImageChops.difference(a, b)).rms
    mse = sum(value * value for value in rms) / len(rms)
    return 10 * math.log10(255 * 255 / mse) if mse else math.inf


def _scene(size: tuple[int, int]) -> Image.Image:
    """Gradients and hard edges: a resampler's blur, ringing or shift all show."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for step in range(0, size[0], 37):
        draw.rectangle((step, step // 2, step + 17, step // 2 + 60), fill=(200, 40, 90))
    draw.ellipse((size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), fill=(20, 180, 60))
    return image


@pytest.mark.parametrize(
    ("source", "steps"),
    [
        ((2016, 1512), [(1440, 1080), (1200, 900), (960, 720), (480, 360)]),
        ((1512, 2016), [(1440, 1920), (1200, 1600), (960, 1280), (480, 640)]),
        ((997, 331), [(640, 212), (639, 212), (17, 6), (1, 1)]),
    ],
)
def test_each_step_has_exactly_the_size_asked_for(
    source: tuple[int, int], steps: list[tuple[int, int]]
) -> None:
    chain = ScaleChain(Image.new("RGB", source, (10, 20, 30)))
    for size in steps:
        image = chain.scaled(*size)
        assert (image.mode, image.size) == ("RGB", size)
        assert chain.width == size[0]


def test_steps_match_a_lanczos_resize_of_the_source() -> None:
    """Scaling step by step stays as close to one Lanczos resize from the source as Pillow's
    own Lanczos gets (the chain is a speed-up, never a visible loss)."""
    source = _scene((2016, 1512))
    chain = ScaleChain(source)
    for size in [(1440, 1080), (960, 720), (480, 360)]:
        reference = source.resize(size, Image.Resampling.LANCZOS)
        assert _psnr(chain.scaled(*size), reference) > 38


def test_same_size_is_the_picture_unchanged() -> None:
    source = _scene((300, 200))
    assert ImageChops.difference(ScaleChain(source).scaled(300, 200), source).getbbox() is None


def test_transparent_pixels_never_bleed_into_the_edges() -> None:
    """Opaque red beside fully transparent black: every pixel left with any opacity is still
    red (transparency premultiplied while resampling), not darkened towards black."""
    source = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(source).rectangle((100, 100, 299, 299), fill=(255, 0, 0, 255))
    scaled = ScaleChain(source).scaled(130, 130)
    assert scaled.mode == "RGBA"
    visible = [(r, g, b) for r, g, b, a in scaled.get_flattened_data() if a >= 8]
    assert visible and all(r >= 250 and g <= 5 and b <= 5 for r, g, b in visible)
    assert any(0 < a < 255 for *_, a in scaled.get_flattened_data())  # the edge really is partial


def test_other_modes_are_refused() -> None:
    with pytest.raises(ValueError, match="expected RGB or RGBA"):
        ScaleChain(Image.new("L", (10, 10)))


def test_used_here_tells_whether_libvips_started_in_this_process() -> None:
    """The pool forks only while it is False (see nailfolio.gallery.pipeline)."""
    import subprocess
    import sys

    script = (
        "from PIL import Image\n"
        "from nailfolio.gallery import scaling\n"
        "before = scaling.used_here()\n"
        "scaling.ScaleChain(Image.new('RGB', (8, 8))).scaled(4, 4)\n"
        "print(before, scaling.used_here())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
