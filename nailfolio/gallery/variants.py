"""The files published for one source image: responsive WebPs, a JPEG fallback, a thumbnail.

File names carry the content hash and the settings fingerprint, so a CDN may cache them
forever. Every file goes into a rendition store (nailfolio.gallery.rendition_store), which
writes atomically, and none carries metadata (no EXIF, GPS, XMP or ICC: sRGB is assumed).
"""

from __future__ import annotations

import base64
import io
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING

from PIL import Image, ImageFilter

from nailfolio.gallery.models import Rendition, Variant
from nailfolio.gallery.palette import PALETTE_VERSION, read_colours, read_palette
from nailfolio.gallery.scaling import ScaleChain
from nailfolio.gallery.settings import ImageSettings

if TYPE_CHECKING:
    from nailfolio.gallery.images import LoadedImage
    from nailfolio.gallery.rendition_store import RenditionStore

# Pictures are scaled by libvips (nailfolio.gallery.scaling), each from the next larger, and
# the thumbnail's crop from the smallest that holds it.
PLACEHOLDER_QUALITIES = (40, 25, 10)  # tried in turn until the data URI is small enough
PLACEHOLDER_MAX_BYTES = 400
PLACEHOLDER_MAX_ASPECT = 3  # a very tall image gets a placeholder at most 3x its width high
WHITE = (255, 255, 255)


def render_variants(
    loaded: LoadedImage,
    content_hash: str,
    settings: ImageSettings,
    store: RenditionStore,
    *,
    consume: bool = False,
) -> Rendition:
    """Put every variant of `loaded` into the rendition store and describe them.

    Variants come narrowest responsive WebP first, then the JPEG fallback, then the thumb.
    With `consume`, `loaded.image` is closed (its memory freed) as soon as libvips holds the
    picture: the ingest stage's worker, at its peak, then holds ~12 MB less of a 12 MP photo.
    """
    prefix = f"{content_hash[:16]}-{settings.fingerprint()[:8]}"
    widths = _responsive_widths(loaded.width, settings.widths)
    fallback_width = min(settings.fallback_width, loaded.width)
    responsive: list[Variant] = []
    fallback: Variant | None = None
    thumb: Image.Image | None = None
    # Whole-picture images from largest to smallest, each scaled from the one before and
    # encoded at once, so only two are held at a time. The thumbnail is cut from the
    # smallest step that still holds it at full size.
    steps = _steps(loaded, settings)
    chain = ScaleChain(loaded.image)
    if consume:
        loaded.image.close()  # from here only the chain's steps are read
    previous: Image.Image | None = None  # the last step's picture
    with _Committer(store) as committer:
        for width in steps:
            if thumb is None and not _holds_thumb(width, loaded, settings.thumb_size):
                thumb = _cover_thumb(chain, loaded, settings.thumb_size)
            image = _scaled(chain, loaded, width)
            if width in widths:
                name = f"{prefix}-{width}w.webp"
                committer.save(image, name, *_webp(settings))
                responsive.insert(0, Variant(name, image.width, image.height, "webp", "responsive"))
            if width == fallback_width:
                flat = _flatten(image)
                name = f"{prefix}-{flat.width}w.jpg"
                committer.save(flat, name, *_jpeg(settings))
                fallback = Variant(name, flat.width, flat.height, "jpeg", "fallback")
            previous = image
        if thumb is None:
            thumb = _cover_thumb(chain, loaded, settings.thumb_size)
        thumb_name = f"{prefix}-thumb.webp"
        committer.save(thumb, thumb_name, *_webp(settings))
        # fallback_width is always among the widths scaled, so there was at least one step
        assert fallback is not None and previous is not None
        # Read while the last files are flushed, not after: leaving the block waits for them.
        dominant, palette = read_colours(previous)  # the smallest step, as recolour reads
        placeholder = _placeholder(previous, settings.placeholder_width)
    return Rendition(
        content_hash=content_hash,
        width=loaded.width,
        height=loaded.height,
        variants=(
            *responsive,
            fallback,
            Variant(thumb_name, thumb.width, thumb.height, "webp", "thumb"),
        ),
        placeholder=placeholder,
        dominant_colour=dominant,
        taken_at=loaded.taken_at,
        palette=palette,
        palette_version=PALETTE_VERSION,
    )


def recolour(rendition: Rendition, loaded: LoadedImage, settings: ImageSettings) -> Rendition:
    """`rendition` with its palette read again from its photo, scaled down through the very
    steps render_variants takes, so it reads the pixels a fresh render reads; nothing is
    encoded. For renditions made before palettes or by an older reading.

    Not from the stored ~480 px WebP, which needs no decode of the photo (~15 ms against
    ~120 for a 12 MP one): its halved chroma and its noise are enough to move a reading, and
    7 of the 12 sample designs read otherwise than a fresh render, 2 in their first shade
    (milky marble silver, not white; lavender ombre silver first)."""
    chain, smallest = ScaleChain(loaded.image), loaded.image
    for width in _steps(loaded, settings):
        smallest = _scaled(chain, loaded, width)
    return replace(rendition, palette=read_palette(smallest), palette_version=PALETTE_VERSION)


def _steps(loaded: LoadedImage, settings: ImageSettings) -> list[int]:
    """The widths of the whole pictures, largest first: the responsive ones and the
    fallback's."""
    widths = _responsive_widths(loaded.width, settings.widths)
    return sorted({*widths, min(settings.fallback_width, loaded.width)}, reverse=True)


def _responsive_widths(width: int, widths: tuple[int, ...]) -> list[int]:
    """The configured widths the image can fill, largest first, topped by its own width when
    it falls between two of them: a 1200 px photo gets 1200, 960 and 480, so wide screens
    get every pixel there is without anything being upscaled."""
    fitting = {w for w in widths if w <= width}
    if width < max(widths):
        fitting.add(width)
    return sorted(fitting, reverse=True)


def _scaled(chain: ScaleChain, loaded: LoadedImage, width: int) -> Image.Image:
    """The whole picture `width` pixels wide, height in proportion to the full-size source."""
    return chain.scaled(width, max(1, round(loaded.height * width / loaded.width)))


def _thumb_crop(loaded: LoadedImage, size: tuple[int, int]) -> tuple[float, float, tuple[int, int]]:
    """The centred crop's width and height in full-size pixels, and the thumbnail's size."""
    thumb_w, thumb_h = size
    cover = min(loaded.width / thumb_w, loaded.height / thumb_h)  # source px per thumb px
    crop_w, crop_h = thumb_w * cover, thumb_h * cover
    if cover >= 1:
        return crop_w, crop_h, (thumb_w, thumb_h)
    out = (min(loaded.width, max(1, round(crop_w))), min(loaded.height, max(1, round(crop_h))))
    return crop_w, crop_h, out  # never scaled up


def _holds_thumb(width: int, loaded: LoadedImage, size: tuple[int, int]) -> bool:
    """Whether the whole picture `width` wide still holds the thumbnail's crop at the
    thumbnail's full size."""
    crop_w, _, out = _thumb_crop(loaded, size)
    return crop_w * width / loaded.width >= out[0] - 0.5


def _cover_thumb(chain: ScaleChain, loaded: LoadedImage, size: tuple[int, int]) -> Image.Image:
    """Centre-crop the chain's last step to the thumbnail's aspect and scale it down (in
    libvips, as the whole pictures: ~2 ms against Pillow's bicubic ~6)."""
    crop_w, crop_h, out = _thumb_crop(loaded, size)
    sx, sy = chain.width / loaded.width, chain.height / loaded.height
    left, top = (loaded.width - crop_w) / 2, (loaded.height - crop_h) / 2
    x, y = round(left * sx), round(top * sy)
    right = max(x + 1, min(chain.width, round((left + crop_w) * sx)))
    bottom = max(y + 1, min(chain.height, round((top + crop_h) * sy)))
    return chain.cropped((x, y, right, bottom), out)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent areas become white."""
    if image.mode != "RGBA":
        return image
    flat = Image.new("RGB", image.size, WHITE)
    flat.paste(image, mask=image.getchannel("A"))
    return flat


def _webp(settings: ImageSettings) -> tuple[str, dict[str, object]]:
    return "WEBP", {"quality": settings.webp_quality, "method": settings.webp_method, "exif": b""}


def _jpeg(settings: ImageSettings) -> tuple[str, dict[str, object]]:
    # Baseline with libjpeg's standard Huffman tables: optimised tables made the files 3%
    # smaller but took 2.2x as long (6.1 ms against 2.7 per 1200 px photo, ~2% of a cold
    # build), for the one variant only browsers without WebP and link previews fetch.
    # Progressive was ~3% smaller again and 2.5x slower still.
    return "JPEG", {"quality": settings.jpeg_quality, "exif": b""}


class _Committer:
    """Encodes each file in memory and hands it to the store on a background thread, so the
    next variant encodes while this one is flushed to disk (or uploaded). Leaving the block
    waits for every file; the first failed put raises there."""

    def __init__(self, store: RenditionStore) -> None:
        self._store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="put")
        self._pending: list[Future[None]] = []

    def save(self, image: Image.Image, name: str, fmt: str, params: dict[str, object]) -> None:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **params)
        self._pending.append(self._thread.submit(self._store.put, name, buffer.getvalue()))

    def __enter__(self) -> _Committer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._thread.shutdown(wait=True)
        if error is None:
            for future in self._pending:
                future.result()


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
