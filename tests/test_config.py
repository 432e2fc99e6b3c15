"""Settings from the environment: defaults, every knob, and one-line errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from nailfolio.config import ImageSettings, ModerationSettings, load_settings
from nailfolio.errors import ConfigError


def test_defaults_need_no_environment(tmp_path: Path) -> None:
    settings = load_settings(env={}, root=tmp_path)
    assert settings.backend == "local" and settings.root == tmp_path.resolve()
    assert settings.images == ImageSettings() and settings.moderation == ModerationSettings()
    assert (settings.workers, settings.rate_limit_scale, settings.trusted_proxies) == (0, 1, ())


def test_every_knob_is_read(tmp_path: Path) -> None:
    env = {
        "NAILFOLIO_BACKEND": " AWS ",
        "NAILFOLIO_WORKERS": "3",
        "NAILFOLIO_SITE_URL": "https://nails.example/",
        "NAILFOLIO_TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::/32",
        "NAILFOLIO_RATE_LIMIT_SCALE": "2.5",
        "NAILFOLIO_MAX_FILE_MB": "10",
        "NAILFOLIO_MAX_MEGAPIXELS": "24",
        "NAILFOLIO_REVIEW_AT": "30",
        "NAILFOLIO_REJECT_AT": "70",
    }
    settings = load_settings(env=env, root=tmp_path)
    assert (settings.backend, settings.workers) == ("aws", 3)
    assert settings.site_url == "https://nails.example"
    assert settings.trusted_proxies == ("10.0.0.0/8", "2001:db8::/32")
    assert settings.rate_limit_scale == 2.5
    assert (settings.images.max_file_bytes, settings.images.max_pixels) == (10 * 2**20, 24e6)
    assert settings.moderation == ModerationSettings(review_at=30, reject_at=70)


def test_input_caps_do_not_change_the_rendition_fingerprint(tmp_path: Path) -> None:
    capped = load_settings(env={"NAILFOLIO_MAX_FILE_MB": "5"}, root=tmp_path)
    assert capped.images.fingerprint() == ImageSettings().fingerprint()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NAILFOLIO_BACKEND": "cloud"}, "NAILFOLIO_BACKEND='cloud' is not a backend"),
        (
            {"NAILFOLIO_WORKERS": "two"},
            "NAILFOLIO_WORKERS='two' must be a whole number of 0 or more",
        ),
        ({"NAILFOLIO_WORKERS": "-1"}, "NAILFOLIO_WORKERS='-1' must be a whole number of 0 or more"),
        ({"NAILFOLIO_MAX_FILE_MB": "0"}, "NAILFOLIO_MAX_FILE_MB='0' must be a number above 0"),
        ({"NAILFOLIO_MAX_FILE_MB": "inf"}, "NAILFOLIO_MAX_FILE_MB='inf' must be a number above 0"),
        ({"NAILFOLIO_MAX_MEGAPIXELS": "nan"}, "NAILFOLIO_MAX_MEGAPIXELS='nan' must be a number"),
        (
            {"NAILFOLIO_REJECT_AT": "101"},
            "NAILFOLIO_REJECT_AT='101' must be a number from 0 to 100",
        ),
        ({"NAILFOLIO_REVIEW_AT": "-5"}, "NAILFOLIO_REVIEW_AT='-5' must be a number from 0 to 100"),
        ({"NAILFOLIO_REVIEW_AT": "90"}, "NAILFOLIO_REVIEW_AT=90 is above NAILFOLIO_REJECT_AT=85"),
        ({"NAILFOLIO_TRUSTED_PROXIES": "proxy"}, "'proxy' is not an address or CIDR"),
        ({"NAILFOLIO_RATE_LIMIT_SCALE": "0"}, "NAILFOLIO_RATE_LIMIT_SCALE='0' must be a number"),
    ],
)
def test_bad_values_are_one_fixable_line(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env, root=tmp_path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
