"""What the image pipeline and the moderator are set to: plain frozen dataclasses, read from
the environment by nailfolio.config and passed down (no module here reads the environment).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

# Bump when the image pipeline changes its output for the same settings: forces re-rendering.
# 4: the thumbnail scaled by libvips, the dominant colour from the palette's reading, and
# the JPEG fallback with standard Huffman tables.
PIPELINE_VERSION = 4
# Bump when the decoder accepts files it refused before: remembered refusals get another try
# (renditions stay). 2: HEIC/HEIF and AVIF.
ACCEPTED_VERSION = 2


@dataclass(frozen=True)
class ImageSettings:
    """What the image pipeline accepts and produces; its fingerprint keys the rendition cache."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 64_000_000
    # Responsive WebP variants, never upscaled (NAILFOLIO_IMAGE_WIDTHS). The widest is for the
    # screens that want most: below 60em a design spans the viewport less 2.5rem, so a tablet
    # in portrait at 2x wants 1408-1560 px and a 3x phone 1050-1170; a 2x laptop's 36rem column
    # wants 1152. 1440 also lets a 12 MP photo decode at half size in either orientation.
    widths: tuple[int, ...] = (480, 960, 1440)
    fallback_width: int = 1200  # the one JPEG for browsers without WebP
    thumb_size: tuple[int, int] = (400, 500)  # grid thumbnail, cover-cropped (4:5)
    webp_quality: int = 80
    webp_method: int = 0  # 0 fast .. 6 small; 4 is ~3x slower for ~15% smaller photos
    jpeg_quality: int = 82
    placeholder_width: int = 16

    def fingerprint(self) -> str:
        """A short hash of every setting that changes the pipeline's output."""
        data = asdict(self) | {"pipeline": PIPELINE_VERSION}
        del data["max_file_bytes"], data["max_pixels"]  # they gate input, never change output
        return _short_hash(data)

    def input_fingerprint(self) -> str:
        """A short hash of what decides whether an image is accepted: keys remembered refusals,
        so raising a cap (or a new pipeline or format) gives refused files another try."""
        return _short_hash(
            {"max_file_bytes": self.max_file_bytes, "max_pixels": self.max_pixels}
            | {"pipeline": PIPELINE_VERSION, "accepted": ACCEPTED_VERSION}
        )


def _short_hash(data: dict[str, object]) -> str:
    blob = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


@dataclass(frozen=True)
class ModerationSettings:
    """Thresholds on the moderator's highest label confidence (0-100)."""

    review_at: float = 40.0  # at or above: needs review by an admin
    reject_at: float = 85.0  # at or above: rejected outright
