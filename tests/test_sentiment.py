"""The sentiment port: Comprehend-shaped results and the VADER adapter's mapping."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nailfolio.comments.sentiment import Sentiment, SentimentAnalyzer, SentimentLabel
from nailfolio.local.vader_sentiment import VaderAnalyzer, sentiment_from_vader

REAL_SENTENCES = [
    ("I love this design!", SentimentLabel.POSITIVE),
    ("Amazing work!!! 💅😍", SentimentLabel.POSITIVE),
    ("This is ugly and chipped", SentimentLabel.NEGATIVE),
    ("I hate this so much, worst nails ever", SentimentLabel.NEGATIVE),
    ("The nails are blue.", SentimentLabel.NEUTRAL),
    ("Love the colour but the finish is awful and chipped", SentimentLabel.MIXED),
    ("Great shape, terrible glitter", SentimentLabel.MIXED),
]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def vader() -> VaderAnalyzer:
    return VaderAnalyzer()


@pytest.mark.parametrize(("text", "label"), REAL_SENTENCES)
def test_vader_labels_real_sentences(
    vader: VaderAnalyzer, text: str, label: SentimentLabel
) -> None:
    result = vader.detect(text)
    assert result.label == label
    assert math.isclose(result.positive + result.negative + result.neutral + result.mixed, 1.0)


@pytest.mark.parametrize(
    ("scores", "label"),
    [
        ({"pos": 0.6, "neg": 0.0, "neu": 0.4, "compound": 0.67}, "POSITIVE"),
        ({"pos": 0.1, "neg": 0.0, "neu": 0.9, "compound": 0.05}, "POSITIVE"),  # at threshold
        ({"pos": 0.1, "neg": 0.0, "neu": 0.9, "compound": 0.049}, "NEUTRAL"),
        ({"pos": 0.0, "neg": 0.1, "neu": 0.9, "compound": -0.05}, "NEGATIVE"),
        ({"pos": 0.0, "neg": 0.1, "neu": 0.9, "compound": -0.049}, "NEUTRAL"),
        ({"pos": 0.15, "neg": 0.15, "neu": 0.7, "compound": 0.0}, "MIXED"),  # both at MIXED_MIN
        ({"pos": 0.149, "neg": 0.3, "neu": 0.551, "compound": -0.4}, "NEGATIVE"),
        ({"pos": 0.45, "neg": 0.34, "neu": 0.21, "compound": 0.25}, "MIXED"),  # beats compound
        ({"pos": 0.0, "neg": 0.0, "neu": 0.0, "compound": 0.0}, "NEUTRAL"),  # no words
    ],
)
def test_vader_mapping_rule(scores: dict[str, float], label: str) -> None:
    result = sentiment_from_vader(scores)
    assert result.label == label
    assert math.isclose(result.positive + result.negative + result.neutral + result.mixed, 1.0)


def test_mixed_score_is_the_overlap_of_positive_and_negative() -> None:
    result = sentiment_from_vader({"pos": 0.3, "neg": 0.5, "neu": 0.2, "compound": -0.3})
    assert result.mixed == pytest.approx(0.6)
    assert result.positive == pytest.approx(0.0)
    assert result.negative == pytest.approx(0.2)
    assert result.neutral == pytest.approx(0.2)


def test_scores_are_normalised_when_vader_rounding_misses_one() -> None:
    result = sentiment_from_vader({"pos": 0.334, "neg": 0.0, "neu": 0.667, "compound": 0.4})
    assert math.fsum((result.positive, result.negative, result.neutral, result.mixed)) == (
        pytest.approx(1.0, abs=1e-12)
    )


def test_sentiment_accepts_label_strings_and_refuses_bad_values() -> None:
    assert Sentiment("NEUTRAL", 0, 0, 1, 0).label is SentimentLabel.NEUTRAL  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not one of"):
        Sentiment("HAPPY", 0, 0, 1, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"in 0\.\.1"):
        Sentiment(SentimentLabel.POSITIVE, 1.5, 0, 0, 0)


def test_importing_the_module_does_not_load_vader() -> None:
    code = "import sys, nailfolio.comments.sentiment; assert 'vaderSentiment' not in sys.modules"
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, cwd=REPO)


def test_vader_works_offline_without_warnings() -> None:
    """With every socket refused, the lexicon still loads from the installed wheel."""
    code = textwrap.dedent(
        """
        import socket

        class NoNetwork(socket.socket):
            def __init__(self, *args, **kwargs):
                raise OSError("network disabled for this test")

        socket.socket = NoNetwork
        socket.create_connection = NoNetwork
        from nailfolio.local.vader_sentiment import VaderAnalyzer

        print(VaderAnalyzer().detect("I love this design!").label)
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", "-c", code],
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "POSITIVE"
    assert done.stderr == ""


# --- the SentimentAnalyzer contract: every adapter, through the port -------------------------


@dataclass
class Scoring:
    """An analyzer and, for a stubbed service, a way to queue one real-shaped answer."""

    analyzer: SentimentAnalyzer
    will_answer: Callable[[], None]


@pytest.fixture(params=["vader", "comprehend"])
def scoring(request: pytest.FixtureRequest, vader: VaderAnalyzer) -> Iterator[Scoring]:
    if request.param == "vader":
        yield Scoring(vader, lambda: None)
        return
    import boto3
    from botocore.stub import ANY, Stubber

    from nailfolio.aws.comprehend_sentiment import ComprehendAnalyzer

    client = boto3.client("comprehend", region_name="eu-west-1")
    answer = {
        "Sentiment": "POSITIVE",
        "SentimentScore": {
            "Positive": 0.9981,
            "Negative": 0.0003,
            "Neutral": 0.0012,
            "Mixed": 0.0004,
        },
    }
    with Stubber(client) as stub:
        yield Scoring(
            ComprehendAnalyzer(client),
            lambda: stub.add_response(
                "detect_sentiment", answer, {"Text": ANY, "LanguageCode": "en"}
            ),
        )
        stub.assert_no_pending_responses()


def test_contract_scores_are_comprehend_shaped(scoring: Scoring) -> None:
    scoring.will_answer()
    result = scoring.analyzer.detect("I love this design!")
    assert isinstance(result, Sentiment) and result.label is SentimentLabel.POSITIVE
    scores = (result.positive, result.negative, result.neutral, result.mixed)
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert math.isclose(math.fsum(scores), 1.0, abs_tol=1e-3)


@pytest.mark.parametrize("text", ["", "  \n\t "])
def test_contract_blank_text_is_neutral(scoring: Scoring, text: str) -> None:
    result = scoring.analyzer.detect(text)  # no answer queued: nothing is asked of a service
    assert (result.label, result.neutral) == (SentimentLabel.NEUTRAL, 1.0)


def test_contract_long_text_is_scored_not_refused(scoring: Scoring) -> None:
    scoring.will_answer()
    text = "I love this design! 💅 Très élégant. " * 600  # ~24,000 bytes of UTF-8
    assert isinstance(scoring.analyzer.detect(text), Sentiment)


def test_contract_analyzer_has_a_name(scoring: Scoring) -> None:
    assert isinstance(scoring.analyzer.name, str) and scoring.analyzer.name
