"""The aws moderator: Amazon Rekognition's DetectModerationLabels on the decoded image.

No table: Rekognition keeps nothing; the catalog records the labels with each decision. The
image goes as bytes, not as an S3 object, because the pipeline already holds the decoded,
auto-oriented sRGB image and the content bucket's original may be a type Rekognition refuses
(it takes JPEG or PNG only, 5 MB as bytes, 80 to 10,000 px a side). So the image is encoded
afresh as an RGB JPEG (transparency flattened on white), scaled into the side limits, and
shrunk again until it fits the 5 MB.

Labels are taxonomy v7's (Name, ParentName, TaxonomyLevel, Confidence): every level
Rekognition returns becomes one Label (a level-1 category has ParentName ""); `decide` takes
the most confident. MinConfidence is at most the review threshold, so every label that could
hold an image back is reported.

Failing closed: when the call is throttled, refused, times out or cannot connect, the
moderator returns one synthetic label, "Moderation unavailable", at the review threshold's
confidence. `decide` then says needs review (the pipeline records it and notifies the admins,
who approve by hand or re-run it), with no change to the pipeline, which would let any other
exception stop the whole build. Confidence 100 would say "rejected", and NaN, which `decide`
also holds back, cannot be stored in DynamoDB or sent as JSON.
"""

from __future__ import annotations

import io
import logging
import math
from typing import TYPE_CHECKING, Any

from nailfolio.aws.calls import call
from nailfolio.errors import NailfolioError, ServiceUnavailable
from nailfolio.gallery.models import Label

if TYPE_CHECKING:
    from PIL import Image

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024  # DetectModerationLabels: Image.Bytes at most 5,242,880
MIN_SIDE = 80  # Rekognition: each side at least 80 px ...
MAX_SIDE = 10_000  # ... and at most 10,000 px
JPEG_QUALITY = 90
MIN_CONFIDENCE = 40.0  # never ask for less than Rekognition would give at the default policy
BACKGROUND = (255, 255, 255)  # transparent pixels are judged as if on a white page
UNAVAILABLE = "Moderation unavailable"  # the synthetic label's name: no verdict was given
_MAX_ATTEMPTS = 8  # shrink steps before giving up on fitting MAX_BYTES


class ImageTooLarge(NailfolioError):
    """No JPEG of the image fits the byte limit (not seen in practice: a safety stop)."""


class RekognitionModerator:
    """Moderator port adapter: Rekognition's moderation labels, failing closed to review."""

    def __init__(self, client: Any, *, review_at: float = 40.0) -> None:
        if not 0.0 <= review_at <= 100.0:
            raise ValueError(f"review_at must be in 0..100, not {review_at}")
        self._client = client  # a boto3 "rekognition" client
        self._review_at = review_at
        self._version = ""  # ModerationModelVersion of the last answer, e.g. "7.0"

    @property
    def name(self) -> str:
        """ "rekognition 7.0" once Rekognition has answered, "rekognition" before."""
        return f"rekognition {self._version}" if self._version else "rekognition"

    def detect_labels(self, image: Image.Image) -> tuple[Label, ...]:
        try:
            params = {
                "Image": {"Bytes": encode_jpeg(image)},
                "MinConfidence": min(self._review_at, MIN_CONFIDENCE),
            }
            response = call(self._client, "Rekognition", "DetectModerationLabels", params)
        except (ServiceUnavailable, ImageTooLarge) as exc:
            logger.warning("Rekognition DetectModerationLabels failed, held for review: %s", exc)
            return (Label(name=UNAVAILABLE, parent_name="", confidence=self._review_at),)
        self._version = response.get("ModerationModelVersion", "")
        return tuple(_label(found) for found in response.get("ModerationLabels", []))


def encode_jpeg(image: Image.Image, max_bytes: int = MAX_BYTES) -> bytes:
    """An RGB JPEG of the image within Rekognition's side limits and max_bytes."""
    rgb = _flatten(image)
    size = fit_sides(rgb.size)
    for _ in range(_MAX_ATTEMPTS):
        data = _jpeg(rgb, size)
        if len(data) <= max_bytes:
            return data
        shrink = math.sqrt(max_bytes / len(data)) * 0.9  # bytes grow about with the area
        size = fit_sides((size[0] * shrink, size[1] * shrink))
    raise ImageTooLarge(f"cannot encode a {image.size} image as a JPEG under {max_bytes} bytes")


def fit_sides(size: tuple[float, float]) -> tuple[int, int]:
    """Scale (width, height) so both sides lie in MIN_SIDE..MAX_SIDE, keeping the aspect
    where it can; a strip too thin for both limits is stretched across its short side."""
    width, height = size
    scale = max(1.0, MIN_SIDE / min(width, height))  # tiny: enlarge
    scale = min(scale, MAX_SIDE / max(width, height))  # huge, or enlarged too far: reduce
    return (_clamp(width * scale), _clamp(height * scale))


def _clamp(side: float) -> int:
    return min(max(round(side), MIN_SIDE), MAX_SIDE)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, transparency laid on white."""
    from PIL import Image

    if image.mode == "RGB":
        return image
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    page = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
    return Image.alpha_composite(page, rgba).convert("RGB")


def _jpeg(image: Image.Image, size: tuple[int, int]) -> bytes:
    from PIL import Image

    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _label(found: dict[str, Any]) -> Label:
    """A taxonomy v7 label; its TaxonomyLevel is implied by ParentName ("" at level 1)."""
    confidence = min(max(float(found.get("Confidence", 100.0)), 0.0), 100.0)
    return Label(name=found["Name"], parent_name=found.get("ParentName", ""), confidence=confidence)
