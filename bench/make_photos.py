#!/usr/bin/env python3
"""Deterministic phone-like test photos for the benchmarks: `python bench/make_photos.py 200`.

Each photo is a 4032x3024 JPEG of about 3 MB with real detail (multi-scale texture, colour
gradients, nail-like shapes, sensor grain), so decoding and encoding cost what a phone photo
costs. About 1 in 4 carries an EXIF Orientation other than 1 with its pixels stored rotated
accordingly (as a phone stores a portrait shot); about 1 in 3 carries GPS tags and
DateTimeOriginal. Photos are spread over DESIGNERS folders and every one has distinct bytes.

Speed: a few textured bases are built once (in the parent, shared with forked workers); each
photo is a cheap derivation of one (crop, tint, a distinct pasted element). Photo i depends
only on i, so a set of N is a prefix of any larger set. Sets are cached under
bench/out/photos-N/ and reused while their manifest matches GENERATOR_VERSION.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

BENCH_OUT = Path(__file__).resolve().parent / "out"
GENERATOR_VERSION = 2  # bump when the photos change: cached sets are then rebuilt
SEED = 20240611
WIDTH, HEIGHT = 4032, 3024  # stored size, as a 12 MP phone sensor writes it
BASE_SIZE = 4400  # square bases, so both landscape and portrait crops fit with room to shift
BASE_COUNT = 4
DESIGNERS = ("ana-lacquer", "bea-nails", "chloe-studio", "dina-polish")
JPEG_QUALITY = 92
GRAIN = 7  # +- sensor-noise amplitude; with JPEG_QUALITY it sets the ~3 MB file size

# Orientation -> the transpose that turns the upright scene into the stored pixels (the
# inverse of what ImageOps.exif_transpose applies when reading).
_STORE = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}
_ROTATED = (6, 3, 8)  # cycled through by the 1-in-4 photos that are not upright

# Bright polish colours, away from skin tones so the NSFW model approves the set.
_PALETTE = [
    (220, 30, 90),
    (40, 90, 220),
    (20, 170, 140),
    (250, 200, 30),
    (140, 40, 200),
    (10, 10, 40),
    (240, 240, 250),
    (255, 110, 20),
    (60, 200, 60),
    (30, 200, 230),
]


@dataclass(frozen=True)
class PhotoSpec:
    """What photo i is: where it goes and which metadata it carries."""

    index: int
    designer: str
    name: str
    orientation: int
    gps: bool

    @property
    def rel_path(self) -> str:
        return f"{self.designer}/{self.name}"


def photo_spec(index: int) -> PhotoSpec:
    """Photo i's folder, name and metadata; depends on i only."""
    rotated = index % 4 == (index // 4) % 4  # 1 in 4, spread over every designer
    orientation = _ROTATED[(index // 4) % 3] if rotated else 1
    return PhotoSpec(
        index=index,
        designer=DESIGNERS[index % len(DESIGNERS)],
        name=f"IMG_{1000 + index:04d}.jpg",
        orientation=orientation,
        gps=index % 3 == 0,
    )


# --- textured bases -------------------------------------------------------------------------


def _noise_layer(rng: np.random.Generator, cells: int, size: int) -> Image.Image:
    """Smooth value noise: a small random grid upsampled bicubically to size x size."""
    grid = rng.integers(0, 256, (cells, cells, 3), dtype=np.uint8)
    return Image.fromarray(grid, "RGB").resize((size, size), Image.Resampling.BICUBIC)


def _gradient(rng: np.random.Generator, size: int) -> Image.Image:
    """Three differently angled linear gradients, one per channel."""
    bands = []
    for _ in range(3):
        band = Image.linear_gradient("L").rotate(float(rng.uniform(0, 360)), expand=False)
        bands.append(band.resize((size, size), Image.Resampling.BILINEAR))
    return Image.merge("RGB", bands)


def _draw_shapes(image: Image.Image, rnd: random.Random, count: int) -> None:
    """Nail-like ovals with highlights, dots and stripes: the edges JPEG has to spend bits on."""
    draw = ImageDraw.Draw(image)
    size = image.width
    for _ in range(count):
        colour = rnd.choice(_PALETTE)
        x, y = rnd.randrange(size), rnd.randrange(size)
        kind = rnd.random()
        if kind < 0.45:  # a "nail": tall oval, outline, shine
            w, h = rnd.randint(90, 320), rnd.randint(160, 520)
            draw.ellipse((x, y, x + w, y + h), fill=colour, outline=(20, 20, 20), width=6)
            draw.ellipse((x + w // 5, y + h // 8, x + w // 3, y + h // 2), fill=(250, 250, 255))
        elif kind < 0.75:  # polka dots
            r = rnd.randint(8, 40)
            for k in range(rnd.randint(5, 25)):
                cx, cy = x + k * 3 * r, y + (k % 3) * 3 * r
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=rnd.choice(_PALETTE))
        else:  # stripes
            w = rnd.randint(4, 30)
            x2, y2 = x + rnd.randint(-900, 900), y + rnd.randint(-900, 900)
            draw.line((x, y, x2, y2), fill=colour, width=w)


def make_base(seed: int) -> Image.Image:
    """One BASE_SIZE square texture: gradients, multi-scale noise, shapes, blur, grain."""
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    size = BASE_SIZE
    image = _gradient(rng, size)
    for cells, alpha in ((6, 0.45), (24, 0.35), (96, 0.25), (480, 0.18)):
        image = Image.blend(image, _noise_layer(rng, cells, size), alpha)
    _draw_shapes(image, rnd, 420)
    image = image.filter(ImageFilter.GaussianBlur(1.2))  # lens softness: edges, not aliasing
    pixels = np.asarray(image, dtype=np.int16)
    pixels = pixels + rng.integers(-GRAIN, GRAIN + 1, pixels.shape, dtype=np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


# --- one photo ------------------------------------------------------------------------------


def _exif(spec: PhotoSpec) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Nailfolio Bench"  # Make
    exif[0x0110] = "Phone 12MP"  # Model
    exif[0x0112] = spec.orientation
    exif[0x0131] = "make_photos.py"  # Software
    if spec.gps:
        i = spec.index
        stamp = f"2024:{1 + i % 12:02d}:{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00"
        exif[0x0132] = stamp  # DateTime
        exif_ifd = exif.get_ifd(0x8769)
        exif_ifd[0x9003] = stamp  # DateTimeOriginal
        exif_ifd[0x9004] = stamp  # DateTimeDigitized
        gps = exif.get_ifd(0x8825)
        gps[0x0000] = b"\x02\x03\x00\x00"  # GPSVersionID
        gps[0x0001] = "N"
        gps[0x0002] = (48.0, 51.0, 24.0 + spec.index % 30)  # GPSLatitude
        gps[0x0003] = "E"
        gps[0x0004] = (2.0, 21.0, 7.0 + spec.index % 40)  # GPSLongitude
        gps[0x0005] = b"\x00"
        gps[0x0006] = 35.0  # GPSAltitude
    return exif.tobytes()


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # no FreeType: the small bitmap font is still distinct
        return ImageFont.load_default()


def render_photo(spec: PhotoSpec, bases: dict[int, Image.Image]) -> Image.Image:
    """The stored pixels of photo i: upright scene derived from a base, then rotated to store."""
    rnd = random.Random(SEED * 7919 + spec.index)
    base = bases[spec.index % BASE_COUNT]
    portrait = spec.orientation in (6, 8)
    w, h = (HEIGHT, WIDTH) if portrait else (WIDTH, HEIGHT)
    left, top = rnd.randrange(BASE_SIZE - w + 1), rnd.randrange(BASE_SIZE - h + 1)
    image = base.crop((left, top, left + w, top + h))
    gains = [rnd.uniform(0.8, 1.15) for _ in range(3)]  # tint: white balance differs per shot
    lift = [rnd.randint(-12, 12) for _ in range(3)]
    lut = [
        max(0, min(255, int(v * g) + d))
        for g, d in zip(gains, lift, strict=True)
        for v in range(256)
    ]
    image = image.point(lut)
    draw = ImageDraw.Draw(image)  # a distinct element: this shot's own nail and caption
    x, y = rnd.randrange(w - 700), rnd.randrange(h - 900)
    colour = _PALETTE[spec.index % len(_PALETTE)]
    draw.ellipse((x, y, x + 420, y + 700), fill=colour, outline=(15, 15, 15), width=10)
    draw.ellipse((x + 80, y + 90, x + 170, y + 360), fill=(255, 255, 255))
    draw.text((x, y + 720), f"#{spec.index:04d}", fill=(250, 250, 250), font=_font(140))
    if spec.orientation in _STORE:
        image = image.transpose(_STORE[spec.orientation])
    return image


def write_photo(spec: PhotoSpec, folder: Path, bases: dict[int, Image.Image]) -> dict:
    """Render and save photo i under folder; returns its manifest entry."""
    path = folder / spec.rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    image = render_photo(spec, bases)
    tmp = path.with_suffix(".part")
    image.save(tmp, "JPEG", quality=JPEG_QUALITY, subsampling="4:2:0", exif=_exif(spec))
    tmp.replace(path)
    data = path.read_bytes()
    return asdict(spec) | {
        "path": spec.rel_path,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


_bases: dict[int, Image.Image] = {}  # built once in the parent; forked workers inherit them


def _write_indexed(args: tuple[int, str]) -> dict:
    index, folder = args
    return write_photo(photo_spec(index), Path(folder), _bases)


def _ensure_bases(indices: list[int]) -> None:
    """Build the bases these photos derive from (all of them for a set, one for a single)."""
    for k in sorted({i % BASE_COUNT for i in indices}):
        if k not in _bases:
            _bases[k] = make_base(SEED + k)


def generate(indices: list[int], folder: Path, workers: int) -> list[dict]:
    """Write the photos with these indices into folder, in parallel; returns manifest entries."""
    _ensure_bases(indices)
    jobs = [(i, str(folder)) for i in indices]
    try:
        if workers <= 1 or len(jobs) < 2:
            return [_write_indexed(job) for job in jobs]
        import multiprocessing

        context = multiprocessing.get_context("fork")  # workers share the bases copy-on-write
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(_write_indexed, jobs, chunksize=4))
    finally:
        _bases.clear()  # ~60 MB each: do not keep them in a benchmark's parent process


def _cached(folder: Path, count: int) -> list[dict] | None:
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text())
    if data.get("version") != GENERATOR_VERSION or data.get("count") != count:
        return None
    photos = data["photos"]
    if not all((folder / p["path"]).is_file() for p in photos):
        return None
    return photos


def ensure_photos(
    count: int,
    workers: int | None = None,
    quiet: bool = False,
    first: int = 0,
    name: str | None = None,
) -> Path:
    """The folder holding photos first..first+count-1 (designer subfolders), made if needed."""
    folder = BENCH_OUT / (name or f"photos-{count}")
    if _cached(folder, count) is not None:
        return folder
    workers = workers or os.cpu_count() or 1
    started = time.perf_counter()
    if not quiet:
        print(f"generating {count} photos into {folder} ({workers} workers)...", file=sys.stderr)
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    photos = generate(list(range(first, first + count)), folder, workers)
    hashes = {p["sha256"] for p in photos}
    if len(hashes) != len(photos):
        raise SystemExit(f"make_photos: only {len(hashes)} distinct files among {len(photos)}")
    manifest = {"version": GENERATOR_VERSION, "count": count, "first": first, "photos": photos}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if not quiet:
        total = sum(p["bytes"] for p in photos)
        print(
            f"  {count} photos, {total / 1e6:.0f} MB (mean {total / count / 1e6:.2f} MB) "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=200, help="number of photos")
    parser.add_argument("--workers", type=int, default=0, help="processes (default: cores)")
    args = parser.parse_args()
    folder = ensure_photos(args.count, args.workers or None)
    print(folder)


if __name__ == "__main__":
    main()
