"""Safe decoding of designers' images: real type, size caps, orientation, sRGB, no metadata.

`load_image` turns a file (`load_image_bytes`: bytes read from a content store) into a
`LoadedImage` (8-bit sRGB, auto-oriented, stripped of metadata) or raises `ImageRejected`
with a reason the designer can act on. The variants published on the site are made from it
by `render_variants` (in `nailfolio.gallery.variants`).

Decisions worth knowing:
- Files are opened through the sniffed format's Pillow plugin class rather than
  `Image.open`, so Pillow's own `MAX_IMAGE_PIXELS` check (a warning, an error under pytest)
  never fires before ours; `settings.max_pixels` is the one pixel limit.
- HEIC/HEIF (iPhones' photos) is decoded by pillow-heif's plugin class, never registered
  with Image.open; AVIF by Pillow's own plugin (pillow-heif 1.x has no AV1 decoder; Pillow's
  wheels carry libavif with dav1d). Both report their size from the container's header, so
  the pixel limit is checked before any pixel is decoded. HEIF's own rotation and mirroring
  (irot/imir) are applied by libheif while decoding and its EXIF orientation is ignored (as
  the format and Apple's readers do); Pillow turns AVIF's irot/imir into the EXIF
  orientation, which is applied like a JPEG's. 10-bit HEIF is decoded to 8 bits by libheif.
- JPEGs are DCT-scaled while decoding (`Image.draft`) to the smallest size that still
  covers the largest variant, so a 12 MP photo decodes at about 3 MP, with plain chroma
  upsampling then (see `_decode`).
- An embedded ICC profile is applied with LittleCMS (~40-50 ms per decoded 3 MP photo),
  skipped when it is sRGB already (named sRGB and on sRGB's primaries).
- An embedded ICC profile that cannot be used (corrupt, or made for another colour space)
  is ignored with a warning and the pixels are taken as sRGB, which is what a browser that
  ignores the profile would show; it is not worth rejecting the design for.
- Malformed EXIF is ignored the same way: it only ever feeds orientation and the date.
- A file that is a symbolic link is rejected, never followed (O_NOFOLLOW): a link could
  publish any readable file on the disk.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
import os
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from PIL import (
    AvifImagePlugin,
    ExifTags,
    GifImagePlugin,
    Image,
    ImageCms,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)
from pillow_heif import HeifImageFile

from nailfolio.errors import ImageRejected
from nailfolio.gallery.settings import ImageSettings

__all__ = [
    "UPLOAD_TYPES",
    "LoadedImage",
    "hash_bytes",
    "hash_file",
    "load_image",
    "load_image_bytes",
    "sniff_type",
]

logger = logging.getLogger(__name__)

HEAD_BYTES = 4096  # enough to sniff the type and to recognise SVG or text
CHUNK_BYTES = 1024 * 1024
MB = 1024 * 1024

# The only plugins ever used to decode: the type comes from magic bytes, never the name.
PLUGINS: dict[str, type[ImageFile.ImageFile]] = {
    "jpeg": JpegImagePlugin.JpegImageFile,
    "png": PngImagePlugin.PngImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
    "gif": GifImagePlugin.GifImageFile,
    "heif": HeifImageFile,  # pillow-heif's class: register_heif_opener() is never called
    "avif": AvifImagePlugin.AvifImageFile,
}
# Media types a browser may declare for an upload, each with the type its bytes must sniff as
# and the extension the stored file gets (HEIC is what iPhones save; image/heif its family).
UPLOAD_TYPES: dict[str, tuple[str, str]] = {
    "image/jpeg": ("jpeg", ".jpg"),
    "image/png": ("png", ".png"),
    "image/webp": ("webp", ".webp"),
    "image/gif": ("gif", ".gif"),
    "image/heic": ("heif", ".heic"),
    "image/heif": ("heif", ".heif"),
    "image/avif": ("avif", ".avif"),
}
# What Pillow raises on damaged data (ImageFile wraps parser slips into SyntaxError; libavif's
# and libheif's failures may come as RuntimeError).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error, zlib.error)
# EXIF parsing slips; metadata is dropped anyway, so a broken block only loses its hints.
EXIF_ERRORS = (*DECODE_ERRORS, KeyError, IndexError, TypeError, UnicodeDecodeError)
# EXIF orientation -> the transposition that shows the picture upright.
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
ALPHA_MODES = frozenset({"LA", "La", "PA", "RGBA", "RGBa"})
# Cheap hints for files that are not one of the accepted types.
UNSUPPORTED_HINTS = (
    (b"%PDF-", "not an image (looks like PDF)"),
    (b"PK\x03\x04", "not an image (looks like a ZIP archive)"),
    (b"II*\x00", "unsupported image type (looks like TIFF; export it as JPEG or PNG)"),
    (b"MM\x00*", "unsupported image type (looks like TIFF; export it as JPEG or PNG)"),
    (b"BM", "unsupported image type (looks like BMP; export it as JPEG or PNG)"),
)
SRGB_TOLERANCE = 0.002  # XYZ distance between colorants; real sRGB profiles differ ~1e-4
# ISO media (ftyp) brands: the codec's brands name the type; the generic still-image and
# sequence brands alone are left to libheif, which reads any codec it has.
AVIF_BRANDS = frozenset({b"avif", b"avis"})
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})


@dataclass(frozen=True)
class LoadedImage:
    """A decoded source: 8-bit sRGB ("RGB", or "RGBA" with real transparency), upright.

    `image` may be smaller than `width` x `height` (JPEGs are DCT-scaled while decoding);
    the two numbers are always the full-size dimensions after orientation.
    """

    image: Image.Image
    width: int
    height: int
    taken_at: datetime | None = None


def sniff_type(head: bytes) -> str | None:
    """The real image type from the first bytes: "jpeg", "png", "webp", "gif", "heif",
    "avif" or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp":
        return _iso_media_type(head)
    return None


def _iso_media_type(head: bytes) -> str | None:
    """The type an ftyp box names, by its major then compatible brands ("heif", "avif"); None
    for other ISO media (videos, camera raw files)."""
    end = min(struct.unpack(">I", head[:4])[0], len(head))
    brands = [head[8:12], *(head[at : at + 4] for at in range(16, end - 3, 4))]
    for brand in brands:
        if brand in AVIF_BRANDS:
            return "avif"
        if brand in HEIF_BRANDS:
            return "heif"
    return "heif" if GENERIC_HEIF_BRANDS.intersection(brands) else None


def hash_file(path: Path) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fp:
        while chunk := fp.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def hash_bytes(data: bytes) -> str:
    """The sha256 hex digest of bytes read from a content store (as hash_file of a file)."""
    return hashlib.sha256(data).hexdigest()


def load_image(path: Path, settings: ImageSettings, display_path: str | None = None) -> LoadedImage:
    """Decode an image file safely and normalise it; raises ImageRejected with a short reason."""
    name = display_path or str(path)
    with _open_no_follow(path, name) as fp:
        return _load(fp, os.fstat(fp.fileno()).st_size, settings, name)


def load_image_bytes(data: bytes, settings: ImageSettings, display_path: str) -> LoadedImage:
    """load_image for bytes read from a content store (the same checks and reasons)."""
    return _load(io.BytesIO(data), len(data), settings, display_path)


def oversize_reason(size: int, max_file_bytes: int) -> str | None:
    """Why a file of `size` bytes is refused under the cap, or None: one wording for the
    listing's check, the decode's and the upload forms'."""
    if size <= max_file_bytes:
        return None
    return f"file is {megabytes(size)}, over the {megabytes(max_file_bytes)} limit"


def _load(fp: IO[bytes], size: int, settings: ImageSettings, name: str) -> LoadedImage:
    oversize = oversize_reason(size, settings.max_file_bytes)
    if oversize:
        raise ImageRejected(name, oversize)
    head = fp.read(HEAD_BYTES)
    kind = sniff_type(head)
    if kind is None:
        raise ImageRejected(name, _describe_unknown(head))
    fp.seek(0)
    try:
        return _decode(fp, kind, settings, name)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Only GIF frames larger than their screen get here: Pillow checks those itself
        # while opening (a warning turned into an error under pytest, or an error).
        raise ImageRejected(
            name, f"image is too large, over the {_megapixels(settings)} MP limit"
        ) from None
    except DECODE_ERRORS as exc:
        raise ImageRejected(name, "truncated or corrupt image data") from exc


def _open_no_follow(path: Path, name: str) -> io.BufferedReader:
    """Open for reading without following a final symbolic link (content scans refuse links;
    this also stops one swapped in after the scan). Raises ImageRejected for a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        if path.is_symlink():
            raise ImageRejected(name, "is a symbolic link; copy the file in instead") from None
        raise
    return os.fdopen(fd, "rb")


def _decode(fp: IO[bytes], kind: str, settings: ImageSettings, name: str) -> LoadedImage:
    source = PLUGINS[kind](fp)  # no Image.open: see the module docstring
    raw_w, raw_h = source.size
    if raw_w * raw_h > settings.max_pixels:
        raise ImageRejected(
            name, f"image is {raw_w}x{raw_h} pixels, over the {_megapixels(settings)} MP limit"
        )
    if kind == "jpeg":  # EXIF sits in the header: read it first, it decides the draft size
        orientation, taken_at = _read_exif(source, name)
        width, height = _upright_size(source.size, orientation)
        scale = _draft_scale(width, height, settings)
        source.draft("RGB", (math.ceil(raw_w / scale), math.ceil(raw_h / scale)))
        if source.decoderconfig and source.decoderconfig[0] > 1:
            # DCT-scaled: Pillow's draft flag also drops libjpeg's fancy (triangle) chroma
            # upsampling, 11% of the decode. Invisible: every variant is scaled down further
            # and WebP halves the chroma again (47-48 dB PSNR at 1440 px against the fancy
            # decode). libjpeg-turbo's reduced-size IDCTs are exact either way.
            source.decoderconfig = (source.decoderconfig[0], 1)
        source.load()
    else:
        source.load()  # PNG may keep its EXIF after the pixels
        orientation, taken_at = _read_exif(source, name)
        if kind == "heif":  # libheif applied irot/imir; EXIF orientation is only a note there
            orientation = 1
        width, height = _upright_size(source.size, orientation)
    image = _to_srgb(source, name)
    if orientation in ORIENTATIONS:  # a JPEG turns after DCT scaling: a quarter of the pixels
        image = image.transpose(ORIENTATIONS[orientation])
    elif image is source:
        # A plain Image on the same pixels, detached from the file and its metadata: a copy
        # would hold a second 12 MB decode at the worker's peak.
        image = source._new(source.im)
        source.close()
    image.info = {}  # never carry EXIF, XMP, ICC or comments onward
    return LoadedImage(image=image, width=width, height=height, taken_at=taken_at)


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """Width and height as displayed: orientations 5-8 turn the picture a quarter."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _draft_scale(width: int, height: int, settings: ImageSettings) -> float:
    """The largest uniform downscale that still leaves every variant at full quality."""
    fitting = [w for w in settings.widths if w <= width]
    responsive = max(fitting) if fitting else width
    fallback = min(settings.fallback_width, width)
    thumb_w, thumb_h = settings.thumb_size
    cover = min(width / thumb_w, height / thumb_h)  # source pixels per thumbnail pixel
    return max(1.0, min(width / responsive, width / fallback, cover))


def _read_exif(image: Image.Image, name: str) -> tuple[int, datetime | None]:
    """Orientation (1-8, 1 when absent or bad) and DateTimeOriginal from EXIF."""
    try:
        exif = image.getexif()
        orientation = exif.get(ExifTags.Base.Orientation, 1)
        taken = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal)
    except EXIF_ERRORS as exc:
        logger.warning("%s: ignoring unreadable EXIF (%s)", name, exc)
        return 1, None
    if not isinstance(orientation, int) or orientation not in range(1, 9):
        orientation = 1
    return orientation, _parse_exif_date(taken)


def _parse_exif_date(value: object) -> datetime | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 ")[:19]
    for pattern in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def _to_srgb(source: Image.Image, name: str) -> Image.Image:
    """8-bit sRGB "RGB", or "RGBA" when some pixel is not fully opaque.

    An RGB source that needs no conversion comes back as itself, not as a copy.
    """
    icc = source.info.get("icc_profile")
    colour, alpha = _split_alpha(source)
    transform = _usable_transform(icc, colour.mode, name) if icc else None
    if transform is not None:
        rgb = transform.apply(colour)
    else:
        rgb = colour if colour.mode == "RGB" else colour.convert("RGB")
    if alpha is not None:  # colour is a converted copy here, never the source
        rgb.putalpha(alpha)
    return rgb


def _split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """The colour part as 8-bit "L", "RGB" or "CMYK", and the alpha band if it is used."""
    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit grey: Pillow's convert("L") clips at 255, so scale down first.
        return image.convert("I").point(lambda v: v / 257 + 0.5).convert("L"), None
    grey = image.mode in GREY_MODES
    if image.mode in ALPHA_MODES or "transparency" in image.info:
        image = image.convert("LA" if grey else "RGBA")
        alpha = image.getchannel("A")
        colour = image.convert("L" if grey else "RGB")
        return colour, (alpha if alpha.getextrema()[0] < 255 else None)
    if grey:
        return image.convert("L"), None
    if image.mode in ("RGB", "CMYK"):
        return image, None
    return image.convert("RGB"), None


def _usable_transform(icc: bytes, mode: str, name: str) -> ImageCms.ImageCmsTransform | None:
    """The transform to sRGB, or None when the profile is sRGB already or unusable (then
    the pixels are taken as sRGB)."""
    try:
        return _transform_to_srgb(icc, mode)
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        logger.warning("%s: ignoring unusable ICC profile (%s); assuming sRGB", name, exc)
        return None


@functools.lru_cache(maxsize=16)
def _transform_to_srgb(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached LittleCMS transform (phones embed the same few profiles in every photo),
    or None when the profile already is sRGB: converting costs ~35 ms per 3 MP for nothing.
    """
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    if mode == "RGB" and _is_srgb(source):
        return None
    return ImageCms.buildTransform(source, _srgb_profile(), mode, "RGB")


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    """Named sRGB and built on sRGB's primaries (a renamed wide-gamut profile is not)."""
    core, reference = profile.profile, _srgb_profile().profile
    if "srgb" not in (core.profile_description or "").lower():
        return False
    for colorant in ("red_colorant", "green_colorant", "blue_colorant"):
        ours, theirs = getattr(core, colorant), getattr(reference, colorant)
        if ours is None or math.dist(ours[0], theirs[0]) > SRGB_TOLERANCE:
            return False
    return True


@functools.lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _describe_unknown(head: bytes) -> str:
    """A short reason for bytes that are none of the accepted types, with a cheap hint."""
    if not head:
        return "empty file"
    for magic, reason in UNSUPPORTED_HINTS:
        if head.startswith(magic):
            return reason
    text = _as_text(head)
    if text is not None:
        start = text.lstrip("\ufeff \t\r\n").lower()
        if start.startswith("<") and "<svg" in start:
            return "SVG is not accepted (vector images can carry scripts)"
        return "not an image (looks like text)"
    return "unsupported image type"


def _as_text(head: bytes) -> str | None:
    """The bytes as UTF-8 text, or None if they look binary."""
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a character cut at the end of the sample is fine
            return None
        text = head[: exc.start].decode("utf-8")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return text if controls == 0 else None


def megabytes(size: int) -> str:
    """A byte count as people read file sizes: "300 KB" under a megabyte (2**20), else "61.2 MB"."""
    if size < MB:
        return f"{math.ceil(size / 1024)} KB"
    return f"{size / MB:.1f}".removesuffix(".0") + " MB"


def _megapixels(settings: ImageSettings) -> str:
    return f"{settings.max_pixels / 1_000_000:g}"
