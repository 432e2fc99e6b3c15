"""The files published for one source image: responsive WebPs, a JPEG fallback, a thumbnail.

File names carry the content hash and the settings fingerprint, so a CDN may cache them
forever. Every file is written to a temporary name and renamed into place, and none
carries metadata (no EXIF, GPS, XMP or ICC: sRGB is assumed).
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageFilter

from nailfolio import scratch
from nailfolio.config import ImageSettings
from nailfolio.models import Rendition, Variant

if TYPE_CHECKING:
    from nailfolio.images import LoadedImage

RESAMPLE = Image.Resampling.LANCZOS
# The first step, from the decoded image, is bicubic: a third cheaper, and 48-50 dB PSNR from
# LANCZOS there (camera pixels, DCT-scaled or not, carry little detail near their Nyquist
# limit). Between variants the difference is larger (43-46 dB), so those stay LANCZOS.
RESAMPLE_FROM_DECODED = Image.Resampling.BICUBIC
PLACEHOLDER_QUALITIES = (40, 25, 10)  # tried in turn until the data URI is small enough
PLACEHOLDER_MAX_BYTES = 400
PLACEHOLDER_MAX_ASPECT = 3  # a very tall image gets a placeholder at most 3x its width high
DOMINANT_SAMPLE = 64  # the dominant colour is picked from an image this wide
WHITE = (255, 255, 255)


def render_variants(
    loaded: LoadedImage, content_hash: str, settings: ImageSettings, out_dir: Path
) -> Rendition:
    """Write every variant of `loaded` into out_dir and describe them.

    Variants come narrowest responsive WebP first, then the JPEG fallback, then the thumb.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{content_hash[:16]}-{settings.fingerprint()[:8]}"
    widths = _responsive_widths(loaded.width, settings.widths)
    fallback_width = min(settings.fallback_width, loaded.width)
    # Whole-picture images from largest to smallest, the fallback's width among them: each is
    # scaled down from the smallest one already made that is at least as large (measured:
    # within 0.3-1.5 dB PSNR of scaling each from the decoded image, and half the time).
    ladder = [loaded.image]
    scaled: dict[int, Image.Image] = {}
    for width in sorted({*widths, fallback_width}, reverse=True):
        scaled[width] = _scaled(ladder, loaded, width)
        ladder.append(scaled[width])
    responsive: list[Variant] = []
    for width in widths:
        image = scaled[width]
        name = f"{prefix}-{width}w.webp"
        _save_webp(image, out_dir / name, settings)
        responsive.insert(0, Variant(name, image.width, image.height, "webp", "responsive"))
    fallback = _flatten(scaled[fallback_width])
    fallback_name = f"{prefix}-{fallback.width}w.jpg"
    _save_jpeg(fallback, out_dir / fallback_name, settings)
    thumb = _cover_thumb(ladder, loaded, settings.thumb_size)
    thumb_name = f"{prefix}-thumb.webp"
    _save_webp(thumb, out_dir / thumb_name, settings)
    return Rendition(
        content_hash=content_hash,
        width=loaded.width,
        height=loaded.height,
        variants=(
            *responsive,
            Variant(fallback_name, fallback.width, fallback.height, "jpeg", "fallback"),
            Variant(thumb_name, thumb.width, thumb.height, "webp", "thumb"),
        ),
        placeholder=_placeholder(ladder[-1], settings.placeholder_width),
        dominant_colour=_dominant_colour(ladder[-1]),
        taken_at=loaded.taken_at,
    )


def _responsive_widths(width: int, widths: tuple[int, ...]) -> list[int]:
    """The configured widths the image can fill, largest first, topped by its own width when
    it falls between two of them: a 1200 px photo gets 1200, 960 and 480, so wide screens
    get every pixel there is without anything being upscaled."""
    fitting = {w for w in widths if w <= width}
    if width < max(widths):
        fitting.add(width)
    return sorted(fitting, reverse=True)


def _scaled(ladder: list[Image.Image], loaded: LoadedImage, width: int) -> Image.Image:
    """The whole picture `width` pixels wide, height in proportion to the full-size source."""
    height = max(1, round(loaded.height * width / loaded.width))
    source = min((im for im in ladder if im.width >= width), key=_area, default=loaded.image)
    if source.size == (width, height):
        return source
    resample = RESAMPLE_FROM_DECODED if source is loaded.image else RESAMPLE
    return source.resize((width, height), resample)


def _cover_thumb(
    ladder: list[Image.Image], loaded: LoadedImage, size: tuple[int, int]
) -> Image.Image:
    """Centre-crop to the thumbnail's aspect ratio and scale down, never up."""
    thumb_w, thumb_h = size
    cover = min(loaded.width / thumb_w, loaded.height / thumb_h)  # source px per thumb px
    crop_w, crop_h = thumb_w * cover, thumb_h * cover  # in full-size source pixels
    if cover >= 1:
        out = (thumb_w, thumb_h)
    else:
        out = (min(loaded.width, max(1, round(crop_w))), min(loaded.height, max(1, round(crop_h))))
    # Crop from the smallest ladder image that still holds the crop at full thumb size.
    fits = (im for im in ladder if crop_w * im.width / loaded.width >= out[0] - 0.5)
    source = min(fits, key=_area, default=loaded.image)
    sx, sy = source.width / loaded.width, source.height / loaded.height
    left, top = (loaded.width - crop_w) / 2, (loaded.height - crop_h) / 2
    box = (left * sx, top * sy, (left + crop_w) * sx, (top + crop_h) * sy)
    return source.resize(out, RESAMPLE, box=box)


def _area(image: Image.Image) -> int:
    return image.width * image.height


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent areas become white."""
    if image.mode != "RGBA":
        return image
    flat = Image.new("RGB", image.size, WHITE)
    flat.paste(image, mask=image.getchannel("A"))
    return flat


def _save_webp(image: Image.Image, path: Path, settings: ImageSettings) -> None:
    _save_atomic(
        image,
        path,
        "WEBP",
        quality=settings.webp_quality,
        method=settings.webp_method,
        exif=b"",
    )


def _save_jpeg(image: Image.Image, path: Path, settings: ImageSettings) -> None:
    # Baseline with optimised Huffman tables: progressive made files ~3% smaller but took
    # 2.5x as long (15 ms against 6 per 1200 px photo); few browsers and link previews use it.
    _save_atomic(image, path, "JPEG", quality=settings.jpeg_quality, optimize=True, exif=b"")


def _save_atomic(image: Image.Image, path: Path, fmt: str, **params: object) -> None:
    """Encode next to `path`, flush to disk, then rename: readers never see half a file."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        scratch.claim_fd(fd)  # a killed worker's temporary file is removed by the next build
        with os.fdopen(fd, "wb") as fp:
            image.save(fp, fmt, **params)
            fp.flush()
            os.fsync(fp.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp makes 0600 files; published files are public
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _placeholder(image: Image.Image, width: int) -> str:
    """A tiny blurred WebP as a data: URI, painted while the real image loads."""
    width = min(width, image.width)
    height = max(1, min(round(image.height * width / image.width), width * PLACEHOLDER_MAX_ASPECT))
    tiny = image.resize((width, height), Image.Resampling.BOX)
    tiny = tiny.filter(ImageFilter.GaussianBlur(1))
    uri = ""
    for quality in PLACEHOLDER_QUALITIES:
        buffer = io.BytesIO()
        tiny.save(buffer, "WEBP", quality=quality, method=6)
        uri = "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        if len(uri) <= PLACEHOLDER_MAX_BYTES:
            break
    return uri


def _dominant_colour(image: Image.Image) -> str:
    """The most common of a few median-cut colours, as "#rrggbb"."""
    width = min(DOMINANT_SAMPLE, image.width)
    height = max(1, round(image.height * width / image.width))
    sample = _flatten(image.resize((width, height), Image.Resampling.BOX))
    palette_image = sample.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    counts = palette_image.getcolors() or [(1, 0)]
    index = max(counts)[1]
    palette = palette_image.getpalette() or [0, 0, 0]
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"
