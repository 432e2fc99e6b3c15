"""The image pipeline: safe decoding, normalisation and the published variants."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import struct
import zlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw, ImageStat, PngImagePlugin

from nailfolio.errors import ImageRejected
from nailfolio.gallery.images import PLUGINS, LoadedImage, hash_file, load_image, sniff_type
from nailfolio.gallery.models import Rendition
from nailfolio.gallery.settings import ImageSettings
from nailfolio.gallery.variants import render_variants
from nailfolio.local.folder_rendition_store import FolderRenditionStore

# Small outputs keep the tests fast; the sizes mirror the defaults' shapes.
SMALL = ImageSettings(widths=(48, 96, 160), fallback_width=120, thumb_size=(40, 50))
HASH = "0123456789abcdef" * 4
RED, GREEN, BLUE, GREY = (220, 20, 20), (20, 200, 20), (20, 20, 220), (128, 128, 128)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="PhoneCam"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


# --- helpers -------------------------------------------------------------------------------


def _textured(size: tuple[int, int]) -> Image.Image:
    """A photo-like RGB image: gradients plus noise, so encoders have real work to do."""
    noise = Image.effect_noise(size, 40)
    return Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size),
            Image.radial_gradient("L").resize(size),
            noise,
        ],
    )


def _encoded(fmt: str, size: tuple[int, int] = (64, 48), **params: object) -> bytes:
    buffer = io.BytesIO()
    _save(_textured(size), buffer, fmt, **params)
    return buffer.getvalue()


def _save(image: Image.Image, path: Path | io.BytesIO, fmt: str, **params: object) -> Path:
    if fmt == "HEIF":  # never registered with Pillow (see images.py): pillow-heif's writer
        if isinstance(params.get("exif"), Image.Exif):  # only bytes give irot/imir too
            params["exif"] = params["exif"].tobytes()
        pillow_heif.from_pillow(image).save(path, **params)
    else:
        image.save(path, fmt, **params)
    return path


def _is(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def _exif(orientation: int = 1, taken: str | None = None, gps: bool = False) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCam"
    exif[ExifTags.Base.Orientation] = orientation
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if gps:
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps_ifd[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.5)
        gps_ifd[ExifTags.GPS.GPSLongitudeRef] = "W"
        gps_ifd[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    return exif


def _srgb_profile_tags() -> tuple[bytearray, dict[bytes, int]]:
    """sRGB's ICC profile bytes and where each tag's entry sits in its tag table."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[84:100] = bytes(16)  # profile ID: "not computed" (the bytes are about to change)
    count = struct.unpack(">I", data[128:132])[0]
    return data, {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}


def _swapped_primaries_profile() -> bytes:
    """An RGB ICC profile like sRGB but with red and blue primaries swapped (clearly not sRGB)."""
    data, entries = _srgb_profile_tags()
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    data[red + 4 : red + 12], data[blue + 4 : blue + 12] = (
        data[blue + 4 : blue + 12],
        data[red + 4 : red + 12],
    )
    return bytes(data)


# Display P3's primaries adapted to D50 (as in Apple's profile), the ICC's colorant tags.
P3_COLORANTS = {
    b"rXYZ": (0.515121, 0.241196, -0.001053),
    b"gXYZ": (0.291977, 0.692245, 0.041885),
    b"bXYZ": (0.157104, 0.066574, 0.784073),
}
# Linear Display P3 -> linear sRGB (both D65), the matrix a colour-managed browser uses.
P3_TO_SRGB = (
    (1.2249401, -0.2249404, 0.0),
    (-0.0420569, 1.0420571, 0.0),
    (-0.0196376, -0.0786361, 1.0982735),
)


def _display_p3_profile() -> bytes:
    """Display P3, what iPhones embed: sRGB's tone curves on P3's wider primaries."""
    data, entries = _srgb_profile_tags()
    for tag, xyz in P3_COLORANTS.items():
        offset = struct.unpack(">I", data[entries[tag] + 4 : entries[tag] + 8])[0]
        data[offset + 8 : offset + 20] = struct.pack(">3i", *(round(v * 65536) for v in xyz))
    return bytes(data)


def _p3_as_srgb(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """What a browser shows for a Display P3 colour on an sRGB screen (clipped to sRGB)."""

    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    def encoded(v: float) -> float:
        v = min(1.0, max(0.0, v))
        return v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055

    flat = [linear(v / 255) for v in rgb]
    mixed = [sum(m * c for m, c in zip(row, flat, strict=True)) for row in P3_TO_SRGB]
    red, green, blue = (round(255 * encoded(v)) for v in mixed)
    return red, green, blue


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png_header_only(width: int, height: int) -> bytes:
    """A 1-bit grey PNG declaring huge dimensions: a few bytes, gigabytes once decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(bytes(1 + (width + 7) // 8) * 4)  # only a few rows: never decoded
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _with_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """Patch a baseline JPEG's SOF0 header to declare another size."""
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def _with_gif_size(data: bytes, width: int, height: int) -> bytes:
    return data[:6] + struct.pack("<HH", width, height) + data[10:]


def _with_gif_frame_size(data: bytes, width: int, height: int) -> bytes:
    """Patch the first frame of a 64x48 GIF to reach far beyond its logical screen."""
    frame = data.index(b"\x2c\x00\x00\x00\x00" + struct.pack("<HH", 64, 48))
    return data[: frame + 5] + struct.pack("<HH", width, height) + data[frame + 9 :]


def _rejected(path: Path, settings: ImageSettings = SMALL) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        load_image(path, settings, display_path=f"designs/ana/{path.name}")
    return caught.value


def _render(
    tmp_path: Path, image: Image.Image, settings: ImageSettings = SMALL
) -> tuple[LoadedImage, Rendition]:
    source = _save(image, tmp_path / "source.png", "PNG")
    loaded = load_image(source, settings)
    return loaded, render_variants(loaded, HASH, settings, FolderRenditionStore(tmp_path / "out"))


# --- type sniffing and hashing -------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
        (b"GIF89a\x01\x00", "gif"),
        (b"GIF87a\x01\x00", "gif"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"%PDF-1.7", None),
        (b"\xff\xd8", None),
        (b"", None),
    ],
)
def test_sniff_type_reads_magic_bytes(head: bytes, expected: str | None) -> None:
    assert sniff_type(head) == expected


def test_hash_file_matches_sha256_over_several_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000  # 2.5 MB: more than one read
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert hash_file(path) == hashlib.sha256(data).hexdigest()


# --- what is refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "notes.txt",
            b"Hello designers,\nplease upload JPEGs.\n",
            "not an image (looks like text)",
        ),
        ("notes.jpg", "caf\u00e9 menu \u2615\n".encode() * 400, "not an image (looks like text)"),
        (
            "logo.svg",
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
            "SVG is not accepted (vector images can carry scripts)",
        ),
        (
            "logo.png",
            b"\xef\xbb\xbf  <svg><rect/></svg>",
            "SVG is not accepted (vector images can carry scripts)",
        ),
        ("brief.jpg", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not an image (looks like PDF)"),
        ("clip.heic", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "unsupported image"),
        ("scan.tif", b"II*\x00\x08\x00\x00\x00", "unsupported image type (looks like TIFF;"),
        ("blob.jpg", bytes(range(256)), "unsupported image type"),
        ("empty.jpg", b"", "empty file"),
    ],
)
def test_non_images_are_refused_with_a_hint(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    error = _rejected(path)
    assert error.reason.startswith(reason)
    assert error.path == f"designs/ana/{name}"
    assert str(error).startswith(f"designs/ana/{name}: ")


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    with path.open("wb") as fp:  # sparse: instant, and its bytes are never looked at
        fp.write(b"\xff\xd8\xff")
        fp.truncate(int(61.2 * 1024 * 1024))
    error = _rejected(path, ImageSettings())
    assert error.reason == "file is 61.2 MB, over the 50 MB limit"
    small_limit = _rejected(path, ImageSettings(max_file_bytes=300 * 1024))
    assert small_limit.reason == "file is 61.2 MB, over the 300 KB limit"


@pytest.mark.parametrize(
    ("fmt", "make", "reason"),
    [
        ("png", lambda: _png_header_only(30_000, 30_000), "30000x30000"),  # over Pillow's 2x
        ("png", lambda: _png_header_only(10_000, 10_000), "10000x10000"),  # Pillow would warn
        ("png", lambda: _png_header_only(9_000, 9_000), "9000x9000"),  # only over our limit
        ("jpeg", lambda: _with_jpeg_size(_encoded("JPEG"), 20_000, 20_000), "20000x20000"),
        ("gif", lambda: _with_gif_size(_encoded("GIF"), 65_535, 65_535), "65535x65535"),
    ],
)
def test_decompression_bomb_is_refused_from_the_header(
    tmp_path: Path, fmt: str, make, reason: str
) -> None:
    path = tmp_path / f"bomb.{fmt}"
    path.write_bytes(make())
    error = _rejected(path, ImageSettings())
    assert error.reason == f"image is {reason} pixels, over the 64 MP limit"


@pytest.mark.parametrize("side", [10_000, 30_000])  # Pillow warns / raises while opening
def test_gif_frame_larger_than_its_screen_is_refused(tmp_path: Path, side: int) -> None:
    path = tmp_path / "sneaky.gif"
    path.write_bytes(_with_gif_frame_size(_encoded("GIF"), side, side))
    error = _rejected(path, ImageSettings())
    assert error.reason == "image is too large, over the 64 MP limit"


def test_pixel_limit_comes_from_settings(tmp_path: Path) -> None:
    path = _save(_textured((100, 100)), tmp_path / "small.png", "PNG")
    error = _rejected(path, ImageSettings(max_pixels=5_000))
    assert error.reason == "image is 100x100 pixels, over the 0.005 MP limit"


@pytest.mark.parametrize(
    ("fmt", "keep"),
    [("JPEG", 0.5), ("JPEG", 0.9), ("PNG", 0.5), ("WEBP", 0.6), ("GIF", 0.5)],
)
def test_truncated_image_is_refused(tmp_path: Path, fmt: str, keep: float) -> None:
    data = _encoded(fmt, (200, 150), **({"quality": 90} if fmt == "JPEG" else {}))
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: int(len(data) * keep)])
    assert _rejected(path).reason == "truncated or corrupt image data"


def test_garbage_after_a_valid_header_is_refused(tmp_path: Path) -> None:
    data = _encoded("PNG", (200, 150))
    path = tmp_path / "garbled.png"
    path.write_bytes(data[:60] + bytes(reversed(data[60:])))
    assert _rejected(path).reason == "truncated or corrupt image data"


def test_a_symlinked_image_is_refused_not_followed(tmp_path: Path) -> None:
    outside = _save(_textured((64, 48)), tmp_path / "private.png", "PNG")
    link = tmp_path / "leak.png"
    link.symlink_to(outside)
    assert _rejected(link).reason == "is a symbolic link; copy the file in instead"
    assert load_image(outside, SMALL).width == 64  # the file itself still loads


# --- what is accepted, and how it is normalised --------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name", "expected"),
    [
        ("PNG", "nails.jpg", "png"),
        ("JPEG", "nails.png", "jpeg"),
        ("WEBP", "nails.gif", "webp"),
        ("GIF", "nails", "gif"),
    ],
)
def test_type_comes_from_bytes_not_the_extension(
    tmp_path: Path, fmt: str, name: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(_encoded(fmt))
    assert sniff_type(path.read_bytes()[:16]) == expected
    loaded = load_image(path, SMALL)
    assert (loaded.width, loaded.height) == (64, 48)
    assert loaded.image.mode == "RGB"


# Where the marker drawn in the stored top-left corner must end up, and whether the
# displayed picture is portrait (axes swapped). All eight combinations differ.
ORIENTATION_CASES = [
    (1, "top-left", False),
    (2, "top-right", False),
    (3, "bottom-right", False),
    (4, "bottom-left", False),
    (5, "top-left", True),
    (6, "top-right", True),
    (7, "bottom-right", True),
    (8, "bottom-left", True),
]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize(("orientation", "corner", "swapped"), ORIENTATION_CASES)
def test_every_exif_orientation_is_applied(
    tmp_path: Path, fmt: str, orientation: int, corner: str, swapped: bool
) -> None:
    stored = Image.new("RGB", (90, 60), GREY)
    ImageDraw.Draw(stored).rectangle((0, 0, 29, 19), fill=RED)
    params = {"quality": 95} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
    path = _save(stored, tmp_path / "hand.img", fmt, exif=_exif(orientation), **params)
    loaded = load_image(path, SMALL)
    expected_size = (60, 90) if swapped else (90, 60)
    assert (loaded.width, loaded.height) == expected_size
    assert loaded.image.size == expected_size
    _assert_corner(loaded.image, corner)


@pytest.mark.parametrize(
    ("settings", "orientation", "decoded"),
    [
        (ImageSettings(), 1, (2000, 1500)),  # half size still covers the 1440w variant
        (ImageSettings(), 6, (1500, 2000)),  # upright 3000 wide: half still covers 1440w
        (ImageSettings(widths=(480, 960, 1600)), 6, (3000, 4000)),  # half would be too small
        (ImageSettings(widths=(480,), fallback_width=480), 1, (1000, 750)),  # quarter size
    ],
)
def test_jpeg_is_dct_scaled_while_decoding(
    tmp_path: Path, settings: ImageSettings, orientation: int, decoded: tuple[int, int]
) -> None:
    source = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    path = _save(source, tmp_path / "big.jpg", "JPEG", exif=_exif(orientation))
    loaded = load_image(path, settings)
    full = (3000, 4000) if orientation == 6 else (4000, 3000)
    assert (loaded.width, loaded.height) == full
    assert loaded.image.size == decoded


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = _save(Image.new("CMYK", (64, 48), (0, 230, 230, 20)), tmp_path / "c.jpg", "JPEG")
    loaded = load_image(path, SMALL)
    assert loaded.image.mode == "RGB"
    red, green, blue = loaded.image.getpixel((10, 10))
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_grey_png_is_scaled_to_eight_bit_rgb(tmp_path: Path) -> None:
    source = Image.new("I;16", (256, 4))
    source.putdata([x * 257 for x in range(256)] * 4)
    path = _save(source, tmp_path / "deep.png", "PNG")
    loaded = load_image(path, SMALL)
    assert loaded.image.mode == "RGB"
    for x in (0, 64, 128, 200, 255):
        assert loaded.image.getpixel((x, 1)) == (x, x, x)  # scaled, not clipped at 255


@pytest.mark.parametrize(
    ("mode", "alpha_used", "expected_mode"),
    [
        ("P", True, "RGBA"),
        ("P", False, "RGB"),  # a tRNS chunk whose transparent entry no pixel uses
        ("RGBA", True, "RGBA"),
        ("RGBA", False, "RGB"),  # an alpha band that is 255 everywhere
        ("LA", True, "RGBA"),
    ],
)
def test_alpha_is_kept_only_when_something_is_transparent(
    tmp_path: Path, mode: str, alpha_used: bool, expected_mode: str
) -> None:
    path = _save(_with_hole(mode, alpha_used), tmp_path / "hole.png", "PNG")
    loaded = load_image(path, SMALL)
    assert loaded.image.mode == expected_mode
    if alpha_used:
        assert loaded.image.getpixel((5, 5))[3] == 0
        assert loaded.image.getpixel((60, 40))[3] == 255


def _with_hole(mode: str, alpha_used: bool) -> Image.Image:
    """64x48 red (grey for LA) with a transparent 20x20 top-left square if alpha_used."""
    if mode == "P":
        image = Image.new("P", (64, 48), 1)
        image.putpalette([0, 0, 0, *RED, *BLUE])
        image.info["transparency"] = 2 if not alpha_used else 0
        if alpha_used:
            ImageDraw.Draw(image).rectangle((0, 0, 19, 19), fill=0)
        return image
    image = Image.new(mode, (64, 48), (*RED, 255) if mode == "RGBA" else (128, 255))
    if alpha_used:
        ImageDraw.Draw(image).rectangle((0, 0, 19, 19), fill=(0, 0, 0, 0)[: len(mode)])
    return image


def test_transparency_survives_in_webp_and_is_flattened_in_jpeg(tmp_path: Path) -> None:
    image = Image.new("P", (200, 150), 1)
    image.putpalette([0, 0, 0, *RED])
    image.info["transparency"] = 0
    ImageDraw.Draw(image).rectangle((0, 0, 99, 149), fill=0)  # left half transparent
    _, rendition = _render(tmp_path, image)
    for variant in rendition.variants:
        with Image.open(tmp_path / "out" / variant.name) as out:
            out.load()
            left, right = out.getpixel((2, out.height // 2)), out.getpixel((out.width - 3, 2))
            if variant.format == "webp":
                assert out.mode == "RGBA"
                if variant.role == "responsive":
                    assert left[3] == 0
                assert right[3] == 255 and _is(right, RED)
            else:
                assert out.mode == "RGB"
                assert _is(left, (255, 255, 255), 8)
                assert _is(right, RED)


def test_animated_gif_becomes_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (64, 48), colour) for colour in (RED, GREEN, BLUE)]
    path = tmp_path / "blink.gif"
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = load_image(path, SMALL)
    assert loaded.image.mode == "RGB"
    assert _is(loaded.image.getpixel((30, 20)), RED, 10)
    _, rendition = _render(tmp_path, loaded.image)
    with Image.open(tmp_path / "out" / rendition.variants[0].name) as out:
        assert getattr(out, "n_frames", 1) == 1


def test_non_srgb_icc_profile_is_converted(tmp_path: Path) -> None:
    # In a space whose "red" primary is sRGB blue, stored red pixels must come out blue.
    source = Image.new("RGB", (64, 48), (255, 0, 0))
    icc = _swapped_primaries_profile()
    for fmt in ("JPEG", "PNG", "WEBP", "HEIF", "AVIF"):
        path = _save(source, tmp_path / f"wide.{fmt.lower()}", fmt, icc_profile=icc)
        loaded = load_image(path, SMALL)
        red, _, blue = loaded.image.getpixel((10, 10))
        assert blue > 200 and red < 60, (fmt, loaded.image.getpixel((10, 10)))
        assert "icc_profile" not in loaded.image.info


def test_srgb_profile_leaves_pixels_untouched(tmp_path: Path) -> None:
    source = _textured((64, 48))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = _save(source, tmp_path / "plain.png", "PNG", icc_profile=icc)
    assert load_image(path, SMALL).image.tobytes() == source.tobytes()


@pytest.mark.parametrize(
    "icc",
    [
        pytest.param(
            ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(), id="lab-on-rgb"
        ),
        pytest.param(b"definitely not an ICC profile" * 8, id="garbage"),
    ],
)
def test_unusable_icc_profile_falls_back_to_srgb(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, icc: bytes
) -> None:
    path = _save(Image.new("RGB", (64, 48), RED), tmp_path / "odd.png", "PNG", icc_profile=icc)
    with caplog.at_level(logging.WARNING, logger="nailfolio.gallery.images"):
        loaded = load_image(path, SMALL, display_path="designs/ana/odd.png")
    assert loaded.image.getpixel((10, 10)) == RED
    assert "designs/ana/odd.png: ignoring unusable ICC profile" in caplog.text


# --- metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF", "AVIF"])
def test_no_output_carries_exif_gps_or_xmp(tmp_path: Path, fmt: str) -> None:
    exif = _exif(taken="2024:03:09 18:45:00", gps=True)
    params: dict[str, object] = {"exif": exif}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        params["pnginfo"] = info
    else:
        params["xmp"] = XMP
    path = _save(_textured((200, 150)), tmp_path / "geo.img", fmt, **params)
    raw = path.read_bytes()
    assert b"http://ns.adobe.com/xap" in raw and b"PhoneCam" in raw  # the test is meaningful

    loaded = load_image(path, SMALL)
    assert loaded.image.info == {}
    assert len(loaded.image.getexif()) == 0
    rendition = render_variants(loaded, HASH, SMALL, FolderRenditionStore(tmp_path / "out"))
    assert rendition.taken_at == datetime(2024, 3, 9, 18, 45)
    for variant in rendition.variants:
        data = (tmp_path / "out" / variant.name).read_bytes()
        for marker in (b"Exif", b"http://ns.adobe.com/xap", b"PhoneCam", b"XMP ", b"ICCP"):
            assert marker not in data, (variant.name, marker)
        with Image.open(io.BytesIO(data)) as out:
            assert len(out.getexif()) == 0
            assert not {"exif", "xmp", "icc_profile", "XML:com.adobe.xmp"} & out.info.keys()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023:05:17 14:03:22", datetime(2023, 5, 17, 14, 3, 22)),
        ("2023-05-17 14:03:22", datetime(2023, 5, 17, 14, 3, 22)),
        ("0000:00:00 00:00:00", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_taken_at_comes_from_exif_date_time_original(
    tmp_path: Path, value: str | None, expected: datetime | None
) -> None:
    path = _save(_textured((64, 48)), tmp_path / "dated.jpg", "JPEG", exif=_exif(taken=value))
    assert load_image(path, SMALL).taken_at == expected


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")  # Pillow's own warning
def test_corrupt_exif_is_ignored_not_fatal(tmp_path: Path) -> None:
    junk = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\xff\x00\x00\x00\x99"
    path = _save(_textured((64, 48)), tmp_path / "junk.jpg", "JPEG", exif=junk)
    loaded = load_image(path, SMALL)
    assert (loaded.width, loaded.height, loaded.taken_at) == (64, 48, None)


# --- variants ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "responsive", "fallback", "thumb"),
    [
        ((500, 400), [(48, 38), (96, 77), (160, 128)], (120, 96), (40, 50)),
        ((100, 80), [(48, 38), (96, 77), (100, 80)], (100, 80), (40, 50)),  # own width on top
        ((30, 20), [(30, 20)], (30, 20), (16, 20)),  # narrower than every width
        ((36, 200), [(36, 200)], (36, 200), (36, 45)),  # thumb: 4:5 crop, not upscaled
        ((400, 50), [(48, 6), (96, 12), (160, 20)], (120, 15), (40, 50)),
    ],
)
def test_variants_are_never_upscaled_and_record_their_real_size(
    tmp_path: Path,
    size: tuple[int, int],
    responsive: list[tuple[int, int]],
    fallback: tuple[int, int],
    thumb: tuple[int, int],
) -> None:
    _, rendition = _render(tmp_path, _textured(size))
    assert (rendition.width, rendition.height) == size
    by_role: dict[str, list[tuple[int, int]]] = {}
    for variant in rendition.variants:
        with Image.open(tmp_path / "out" / variant.name) as out:
            assert out.size == (variant.width, variant.height)
            assert out.format == variant.format.upper()
        assert variant.width <= size[0] and variant.height <= size[1]
        by_role.setdefault(variant.role, []).append((variant.width, variant.height))
    assert by_role == {"responsive": responsive, "fallback": [fallback], "thumb": [thumb]}


def test_fallback_jpeg_is_baseline_not_progressive(tmp_path: Path) -> None:
    # Progressive encoding took 2.5x as long for files ~3% smaller: not worth it for a fallback.
    _, rendition = _render(tmp_path, _textured((200, 150)))
    (fallback,) = [v for v in rendition.variants if v.role == "fallback"]
    with Image.open(tmp_path / "out" / fallback.name) as out:
        assert out.format == "JPEG"
        assert not out.info.get("progressive") and not out.info.get("progression")


def test_variant_names_carry_content_hash_and_settings_fingerprint(tmp_path: Path) -> None:
    _, rendition = _render(tmp_path, _textured((200, 150)))
    prefix = f"{HASH[:16]}-{SMALL.fingerprint()[:8]}"
    names = [variant.name for variant in rendition.variants]
    assert names == [
        f"{prefix}-48w.webp",
        f"{prefix}-96w.webp",
        f"{prefix}-160w.webp",
        f"{prefix}-120w.jpg",
        f"{prefix}-thumb.webp",
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)  # no temp files
    other = replace(SMALL, webp_quality=60)
    assert other.fingerprint()[:8] != SMALL.fingerprint()[:8]


def test_rendition_describes_the_source(tmp_path: Path) -> None:
    image = Image.new("RGB", (200, 150), (200, 40, 120))
    ImageDraw.Draw(image).rectangle((0, 0, 30, 30), fill=(250, 250, 250))
    loaded, rendition = _render(tmp_path, image)
    assert rendition.content_hash == HASH
    assert (rendition.width, rendition.height) == (loaded.width, loaded.height)
    assert rendition.taken_at is None
    assert _is(_hex_rgb(rendition.dominant_colour), (200, 40, 120), 12)
    assert rendition.placeholder.startswith("data:image/webp;base64,")
    assert len(rendition.placeholder) <= 400
    payload = base64.b64decode(rendition.placeholder.split(",", 1)[1])
    with Image.open(io.BytesIO(payload)) as tiny:
        assert tiny.size == (16, 12)
        assert len(tiny.getexif()) == 0


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    assert len(colour) == 7 and colour.startswith("#")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_placeholder_stays_small_for_extreme_shapes(tmp_path: Path) -> None:
    _, rendition = _render(tmp_path, _textured((50, 2000)))
    assert len(rendition.placeholder) <= 400


def test_failed_write_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_image(_save(_textured((200, 150)), tmp_path / "s.png", "PNG"), SMALL)
    real_save = Image.Image.save

    def crash_on_jpeg(self: Image.Image, fp, format=None, **params):
        if format == "JPEG":
            fp.write(b"\xff\xd8\xff half a file")
            raise OSError("disk full")
        return real_save(self, fp, format, **params)

    monkeypatch.setattr(Image.Image, "save", crash_on_jpeg)
    with pytest.raises(OSError, match="disk full"):
        render_variants(loaded, HASH, SMALL, FolderRenditionStore(tmp_path / "out"))
    leftovers = [p.name for p in (tmp_path / "out").iterdir()]
    assert leftovers and all(name.endswith(".webp") for name in leftovers)


def test_loaded_image_is_a_plain_frozen_value(tmp_path: Path) -> None:
    loaded = load_image(_save(_textured((64, 48)), tmp_path / "s.jpg", "JPEG"), SMALL)
    assert isinstance(loaded, LoadedImage)
    with pytest.raises(AttributeError):
        loaded.width = 1  # type: ignore[misc]
    assert type(loaded.image) is Image.Image  # decoded and detached from the file


def test_each_variant_is_on_disk_before_it_gets_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fsync runs on a background thread while the next variant encodes: it must still come
    # before the rename, and every file must be in place when render_variants returns.
    import nailfolio.local.folder_rendition_store as variants  # the store writes the files

    loaded = load_image(_save(_textured((200, 150)), tmp_path / "s.png", "PNG"), SMALL)
    synced: set[int] = set()
    order: list[str] = []
    real_fsync, real_replace = variants.os.fsync, variants.os.replace

    def fsync(fd: int) -> None:
        synced.add(os.fstat(fd).st_ino)
        real_fsync(fd)

    def replace_file(src: str, dst: Path) -> None:
        assert os.stat(src).st_ino in synced, f"{dst} renamed before its fsync"
        order.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(variants.os, "fsync", fsync)
    monkeypatch.setattr(variants.os, "replace", replace_file)
    rendition = render_variants(loaded, HASH, SMALL, FolderRenditionStore(tmp_path / "out"))
    assert sorted(order) == sorted(v.name for v in rendition.variants)
    for variant in rendition.variants:
        assert (tmp_path / "out" / variant.name).stat().st_mode & 0o777 == 0o644


def test_a_failed_rename_fails_the_rendition_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nailfolio.local.folder_rendition_store as variants  # the store writes the files

    loaded = load_image(_save(_textured((200, 150)), tmp_path / "s.png", "PNG"), SMALL)
    real_replace = variants.os.replace

    def replace_file(src: str, dst: Path) -> None:
        if str(dst).endswith(".jpg"):
            raise OSError("read-only file system")
        real_replace(src, dst)

    monkeypatch.setattr(variants.os, "replace", replace_file)
    with pytest.raises(OSError, match="read-only"):
        render_variants(loaded, HASH, SMALL, FolderRenditionStore(tmp_path / "out"))
    leftovers = [p.name for p in (tmp_path / "out").iterdir()]
    assert leftovers and not [name for name in leftovers if name.endswith(".tmp")]
    assert not [name for name in leftovers if name.endswith(".jpg")]


def test_image_workers_do_not_inherit_pelican() -> None:
    # Pool workers are forked from a process that imported nailfolio.gallery.pipeline: whatever it
    # imported counts in every worker's memory (Pelican and docutils: ~20 MB each).
    import subprocess
    import sys

    code = "import sys, nailfolio.gallery.pipeline; print('pelican' in sys.modules)"
    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "size",
    [
        (400, 300),  # the widest variant holds the thumbnail
        (2000, 60),  # a panorama: its thumbnail is cut from libvips's copy of the picture
    ],
)
def test_consuming_render_frees_the_decoded_image_and_changes_no_variant(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """The ingest stage lets go of the decoded picture while its variants render (a worker's
    peak memory), and the files come out byte for byte as they do without."""
    source = _save(_textured(size), tmp_path / "source.png", "PNG")
    kept, consumed = load_image(source, SMALL), load_image(source, SMALL)
    plain = render_variants(kept, HASH, SMALL, FolderRenditionStore(tmp_path / "a"))
    freed = render_variants(
        consumed, HASH, SMALL, FolderRenditionStore(tmp_path / "b"), consume=True
    )
    assert freed == plain
    for variant in plain.variants:
        a, b = tmp_path / "a" / variant.name, tmp_path / "b" / variant.name
        assert a.read_bytes() == b.read_bytes(), variant.name
    kept.image.getpixel((0, 0))  # without consume the caller's image stays usable
    with pytest.raises(ValueError, match="closed image"):
        consumed.image.getpixel((0, 0))


# --- HEIC/HEIF (iPhones) and AVIF ----------------------------------------------------------

# Lossless 4:4:4 RGB, so pixels come back as written.
HEIF_LOSSLESS = {"quality": -1, "chroma": 444, "matrix_coefficients": 0}
AVIF_NEAR_LOSSLESS = {"quality": 100, "subsampling": "4:4:4"}
NEWER = [("HEIF", HEIF_LOSSLESS), ("AVIF", AVIF_NEAR_LOSSLESS)]


def _exif_entries(tag: int, value: int) -> tuple[bytes, bytes]:
    """One EXIF IFD entry of type SHORT, as written little- and big-endian."""
    return struct.pack("<HHIH", tag, 3, 1, value), struct.pack(">HHIH", tag, 3, 1, value)


def _retagged(data: bytes, old: tuple[int, int], new: tuple[int, int]) -> bytes:
    """The file with one EXIF entry (tag, value) rewritten in place as another."""
    for before, after in zip(_exif_entries(*old), _exif_entries(*new), strict=True):
        if data.count(before) == 1:
            return data.replace(before, after)
    raise AssertionError(f"no single EXIF entry {old} to patch")


def _without_irot(data: bytes) -> bytes:
    """The file with its rotation property (irot) turned to 0 degrees."""
    at = data.index(b"irot") + 4  # a box of size, type and one angle byte
    return data[:at] + b"\x00" + data[at + 1 :]


def _with_ispe(data: bytes, width: int, height: int) -> bytes:
    """The file's image spatial extents (ispe: the size in the header) patched."""
    at = data.index(b"ispe") + 8  # type, then version and flags, then width and height
    return data[:at] + struct.pack(">II", width, height) + data[at + 8 :]


def _marked(size: tuple[int, int] = (90, 60)) -> Image.Image:
    stored = Image.new("RGB", size, GREY)
    ImageDraw.Draw(stored).rectangle((0, 0, 29, 19), fill=RED)
    return stored


def _assert_corner(image: Image.Image, corner: str) -> None:
    w, h = image.size
    corners = {
        "top-left": (3, 3),
        "top-right": (w - 4, 3),
        "bottom-left": (3, h - 4),
        "bottom-right": (w - 4, h - 4),
    }
    for name, xy in corners.items():
        colour = RED if name == corner else GREY
        assert _is(image.getpixel(xy), colour), (name, image.getpixel(xy))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heif"),  # an iPhone's
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1MiHEmiafheic", "heif"),
        (b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00mif1", "heif"),  # libheif tells the codec
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "avif"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", "avif"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", None),  # a video
        (b"\x00\x00\x00\x10ftypmp42\x00\x00\x00\x00heic", None),  # a brand past the box
    ],
)
def test_sniff_type_reads_iso_media_brands(head: bytes, expected: str | None) -> None:
    assert sniff_type(head) == expected


def test_heif_support_does_not_widen_image_open(tmp_path: Path) -> None:
    path = _save(_textured((64, 48)), tmp_path / "IMG_0001.HEIC", "HEIF")
    assert load_image(path, SMALL).width == 64
    assert "HEIF" not in Image.OPEN  # register_heif_opener() never ran
    with pytest.raises(Image.UnidentifiedImageError):
        Image.open(path)


@pytest.mark.parametrize(("fmt", "params"), NEWER)
def test_heif_and_avif_are_accepted_by_their_bytes(
    tmp_path: Path, fmt: str, params: dict[str, object]
) -> None:
    path = _save(_marked(), tmp_path / "nails.jpg", fmt, **params)
    loaded = load_image(path, SMALL)
    assert (loaded.width, loaded.height, loaded.image.size) == (90, 60, (90, 60))
    assert loaded.image.mode == "RGB"
    _assert_corner(loaded.image, "top-left")


@pytest.mark.parametrize("exif_too", [True, False], ids=["irot+exif", "irot-only"])
@pytest.mark.parametrize(("orientation", "corner", "swapped"), ORIENTATION_CASES)
def test_heif_rotation_and_mirroring_are_applied_once(
    tmp_path: Path, orientation: int, corner: str, swapped: bool, exif_too: bool
) -> None:
    # pillow-heif's writer turns EXIF orientation into irot/imir and keeps it in EXIF too,
    # as an iPhone does; without it, only the container's transforms say how to turn.
    path = _save(_marked(), tmp_path / "hand.heic", "HEIF", exif=_exif(orientation))
    if not exif_too:
        unit = (ExifTags.Base.ResolutionUnit, 2)
        path.write_bytes(
            _retagged(path.read_bytes(), (ExifTags.Base.Orientation, orientation), unit)
        )
    loaded = load_image(path, SMALL)
    expected_size = (60, 90) if swapped else (90, 60)
    assert (loaded.width, loaded.height, loaded.image.size) == (*expected_size, expected_size)
    _assert_corner(loaded.image, corner)


@pytest.mark.parametrize("exif_too", [True, False], ids=["irot+exif", "irot-only"])
@pytest.mark.parametrize(("orientation", "corner", "swapped"), ORIENTATION_CASES)
def test_avif_rotation_and_mirroring_are_applied_once(
    tmp_path: Path, orientation: int, corner: str, swapped: bool, exif_too: bool
) -> None:
    # Pillow's writer moves EXIF orientation into irot/imir and drops it from EXIF; a
    # stand-in tag patched into Orientation afterwards makes the file say it both ways.
    exif = _exif(orientation)
    exif[ExifTags.Base.ResolutionUnit] = orientation
    path = _save(_marked(), tmp_path / "hand.avif", "AVIF", exif=exif, **AVIF_NEAR_LOSSLESS)
    if exif_too:
        stand_in = (ExifTags.Base.ResolutionUnit, orientation)
        entry = (ExifTags.Base.Orientation, orientation)
        path.write_bytes(_retagged(path.read_bytes(), stand_in, entry))
    loaded = load_image(path, SMALL)
    expected_size = (60, 90) if swapped else (90, 60)
    assert (loaded.width, loaded.height, loaded.image.size) == (*expected_size, expected_size)
    _assert_corner(loaded.image, corner)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_exif_orientation_without_container_transforms_is_ignored(tmp_path: Path, fmt: str) -> None:
    # The container's irot/imir are what HEIF and AVIF readers (Apple's, browsers) obey;
    # EXIF orientation is a note there. Rotated by 90 degrees, then the rotation removed.
    exif = _exif(6)
    exif[ExifTags.Base.ResolutionUnit] = 6
    params = HEIF_LOSSLESS if fmt == "HEIF" else AVIF_NEAR_LOSSLESS
    path = _save(_marked(), tmp_path / "note.img", fmt, exif=exif, **params)
    data = _without_irot(path.read_bytes())
    if fmt == "AVIF":  # Pillow's writer drops EXIF orientation: put it back
        data = _retagged(data, (ExifTags.Base.ResolutionUnit, 6), (ExifTags.Base.Orientation, 6))
    orientation = _exif_entries(ExifTags.Base.Orientation, 6)
    assert any(entry in data for entry in orientation)  # the test is meaningful
    path.write_bytes(data)
    loaded = load_image(path, SMALL)
    assert (loaded.width, loaded.height) == (90, 60)
    _assert_corner(loaded.image, "top-left")


@pytest.mark.parametrize(("fmt", "params"), NEWER)
def test_display_p3_is_converted_to_srgb_as_a_browser_shows_it(
    tmp_path: Path, fmt: str, params: dict[str, object]
) -> None:
    stored = (200, 30, 30)  # a saturated P3 red that sRGB can still show: (219, 0, 4)
    expected = _p3_as_srgb(stored)
    assert not _is(expected, stored, 10)  # the conversion is visible
    image = Image.new("RGB", (64, 48), stored)
    path = _save(image, tmp_path / "p3.img", fmt, icc_profile=_display_p3_profile(), **params)
    loaded = load_image(path, SMALL)
    assert _is(loaded.image.getpixel((10, 10)), expected, 3), loaded.image.getpixel((10, 10))
    assert loaded.image.info == {}


def test_ten_bit_heif_is_scaled_to_eight_bits(tmp_path: Path) -> None:
    levels = (0xC000, 0x4000, 0x8000)  # 3/4, 1/4 and 1/2 of full scale
    deep = pillow_heif.from_bytes("RGB;16", (64, 48), struct.pack("<3H", *levels) * 64 * 48)
    path = tmp_path / "IMG_0002.HEIC"
    deep.save(path, **HEIF_LOSSLESS)
    assert pillow_heif.open_heif(path, convert_hdr_to_8bit=False).info["bit_depth"] == 10
    loaded = load_image(path, SMALL)
    assert loaded.image.mode == "RGB"
    assert _is(loaded.image.getpixel((10, 10)), (191, 64, 128), 2), loaded.image.getpixel((10, 10))


@pytest.mark.parametrize(("fmt", "params"), NEWER)
@pytest.mark.parametrize("alpha_used", [True, False])
def test_heif_and_avif_alpha_is_kept_only_when_something_is_transparent(
    tmp_path: Path, fmt: str, params: dict[str, object], alpha_used: bool
) -> None:
    path = _save(_with_hole("RGBA", alpha_used), tmp_path / "hole.img", fmt, **params)
    loaded = load_image(path, SMALL)
    assert loaded.image.mode == ("RGBA" if alpha_used else "RGB")
    if alpha_used:
        assert loaded.image.getpixel((5, 5))[3] == 0
        assert loaded.image.getpixel((60, 40))[3] == 255
    assert _is(loaded.image.getpixel((60, 40)), RED, 4)


@pytest.mark.parametrize(
    ("fmt", "params", "side"),
    [("HEIF", HEIF_LOSSLESS, 70_000), ("AVIF", AVIF_NEAR_LOSSLESS, 10_000)],  # libavif: <256 MP
)
def test_heif_and_avif_bombs_are_refused_from_the_header(
    tmp_path: Path, fmt: str, params: dict[str, object], side: int
) -> None:
    # A small file whose header claims a huge picture: decoding it would fail differently.
    path = tmp_path / "bomb.img"
    # 64x64: the encoder's coded size, so no crop box (clap) narrows what ispe says.
    path.write_bytes(_with_ispe(_encoded(fmt, (64, 64), **params), side, side))
    error = _rejected(path, ImageSettings())
    assert error.reason == f"image is {side}x{side} pixels, over the 64 MP limit"


@pytest.mark.parametrize(("fmt", "kind"), [("HEIF", "heif"), ("AVIF", "avif")])
def test_heif_and_avif_pixel_limit_is_checked_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, kind: str
) -> None:
    decoded: list[str] = []
    real_load = PLUGINS[kind].load

    def spy(image: Image.Image) -> object:
        decoded.append(kind)
        return real_load(image)

    monkeypatch.setattr(PLUGINS[kind], "load", spy)
    path = _save(_textured((100, 100)), tmp_path / "big.img", fmt)
    error = _rejected(path, ImageSettings(max_pixels=5_000))
    assert error.reason == "image is 100x100 pixels, over the 0.005 MP limit"
    assert decoded == []
    assert load_image(path, SMALL).width == 100  # the spy does see a decode
    assert decoded


@pytest.mark.parametrize(("fmt", "keep"), [("HEIF", 0.5), ("HEIF", 0.9), ("AVIF", 0.6)])
def test_truncated_heif_and_avif_are_refused(tmp_path: Path, fmt: str, keep: float) -> None:
    data = _encoded(fmt, (200, 150))
    path = tmp_path / "cut.img"
    path.write_bytes(data[: int(len(data) * keep)])
    assert _rejected(path).reason == "truncated or corrupt image data"


@pytest.mark.parametrize(("fmt", "item_type"), [("HEIF", b"hvc1"), ("AVIF", b"av01")])
def test_heif_and_avif_without_their_image_item_are_refused(
    tmp_path: Path, fmt: str, item_type: bytes
) -> None:
    data = _encoded(fmt, (200, 150))
    assert data.count(item_type) == 1  # the primary item's type in the item info
    path = tmp_path / "hollow.img"
    path.write_bytes(data.replace(item_type, b"none"))  # libavif raises RuntimeError here
    assert _rejected(path).reason == "truncated or corrupt image data"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_decoded_picture_is_a_plain_image_on_its_own_pixels(tmp_path: Path, fmt: str) -> None:
    # Upright pictures are handed on without a copy of their pixels: the plugin's image is
    # closed, and what is left must still be a whole, plain Image of the same pixels.
    original = _textured((120, 90))
    path = _save(original, tmp_path / "plain.img", fmt, quality=95)
    loaded = load_image(path, ImageSettings())
    assert type(loaded.image) is Image.Image
    assert loaded.image.size == (120, 90) and loaded.image.info == {}
    with Image.open(path) as reference:
        assert loaded.image.tobytes() == reference.convert("RGB").tobytes()
    assert loaded.image.copy().resize((12, 9)).size == (12, 9)  # still usable after close


def test_the_thumbnail_is_the_centre_of_the_picture_at_full_size(tmp_path: Path) -> None:
    # Red, green and blue thirds side by side: a 4:5 cover crop of a 3:1 picture is the
    # green third, cut from the smallest step that still holds it (here the 960 px one).
    picture = Image.new("RGB", (3000, 1000), (255, 0, 0))
    picture.paste((0, 255, 0), (1000, 0, 2000, 1000))
    picture.paste((0, 0, 255), (2000, 0, 3000, 1000))
    source = _save(picture, tmp_path / "thirds.png", "PNG")
    settings = ImageSettings()
    rendition = render_variants(
        load_image(source, settings), HASH, settings, FolderRenditionStore(tmp_path / "out")
    )
    thumb = next(v for v in rendition.variants if v.role == "thumb")
    assert (thumb.width, thumb.height) == settings.thumb_size
    with Image.open(tmp_path / "out" / thumb.name) as image:
        red, green, blue = (round(v) for v in ImageStat.Stat(image.convert("RGB")).mean)
    assert green > 230 and red < 25 and blue < 25


def test_a_dct_scaled_jpeg_loses_nothing_to_plain_chroma_upsampling(tmp_path: Path) -> None:
    # Against Pillow's own draft decode with fancy upsampling, after the downscale every
    # variant gets (and before WebP halves the chroma again).
    picture = _textured((1600, 1200))
    ImageDraw.Draw(picture).rectangle((300, 300, 900, 700), fill=(220, 20, 60))  # hard edges
    source = _save(picture, tmp_path / "big.jpg", "JPEG", quality=90)
    settings = ImageSettings(widths=(400, 700), fallback_width=600, thumb_size=(80, 100))
    loaded = load_image(source, settings)
    assert loaded.image.size == (800, 600)  # decoded at half size
    with Image.open(source) as fancy:
        fancy.draft("RGB", (800, 600))
        reference = fancy.convert("RGB")
    assert reference.size == (800, 600)
    assert reference.tobytes() != loaded.image.tobytes()  # the flag is in effect
    ours, theirs = (
        i.resize((700, 525), Image.Resampling.LANCZOS) for i in (loaded.image, reference)
    )
    error = ImageStat.Stat(ImageChops.difference(ours, theirs)).rms
    assert max(error) < 2.0, error  # RMS per channel, of 255: over 42 dB
