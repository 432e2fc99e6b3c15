"""Settings from the environment: defaults, every knob, and one-line errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from nailfolio import config
from nailfolio.config import load_settings
from nailfolio.errors import ConfigError
from nailfolio.gallery.settings import ImageSettings, ModerationSettings


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
        "NAILFOLIO_IMAGE_WIDTHS": " 1200,480, 960,480",
        "NAILFOLIO_REVIEW_AT": "30",
        "NAILFOLIO_REJECT_AT": "70",
    }
    settings = load_settings(env=env, root=tmp_path)
    assert (settings.backend, settings.workers) == ("aws", 3)
    assert settings.site_url == "https://nails.example"
    assert settings.trusted_proxies == ("10.0.0.0/8", "2001:db8::/32")
    assert settings.rate_limit_scale == 2.5
    assert (settings.images.max_file_bytes, settings.images.max_pixels) == (10 * 2**20, 24e6)
    assert settings.images.widths == (480, 960, 1200)  # smallest first, each once
    assert settings.moderation == ModerationSettings(review_at=30, reject_at=70)
    assert settings.tuning == (  # what deploy hands on, in TUNING_VARIABLES' order
        ("NAILFOLIO_MAX_FILE_MB", "10"),
        ("NAILFOLIO_MAX_MEGAPIXELS", "24"),
        ("NAILFOLIO_IMAGE_WIDTHS", "1200,480, 960,480"),
        ("NAILFOLIO_REVIEW_AT", "30"),
        ("NAILFOLIO_REJECT_AT", "70"),
    )


def test_input_caps_do_not_change_the_rendition_fingerprint(tmp_path: Path) -> None:
    capped = load_settings(env={"NAILFOLIO_MAX_FILE_MB": "5"}, root=tmp_path)
    assert capped.images.fingerprint() == ImageSettings().fingerprint()


def test_other_widths_render_every_image_again(tmp_path: Path) -> None:
    """The widths are part of the renditions' fingerprint: a change re-renders, the default
    spelled out does not."""
    default = load_settings(env={"NAILFOLIO_IMAGE_WIDTHS": "1440,960,480"}, root=tmp_path)
    assert default.images.fingerprint() == ImageSettings().fingerprint()
    other = load_settings(env={"NAILFOLIO_IMAGE_WIDTHS": "480,960,1200"}, root=tmp_path)
    assert other.images.fingerprint() != ImageSettings().fingerprint()


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
        *(
            (
                {"NAILFOLIO_IMAGE_WIDTHS": widths},
                f"NAILFOLIO_IMAGE_WIDTHS={widths!r} must be 1 to 6 whole numbers from 160 to 3840",
            )
            for widths in (
                "big",
                "480,,960",
                "480;960",
                "960.5",
                "100,480",
                "480,4000",
                "160,320,480,640,800,960,1200",
            )
        ),
        ({"NAILFOLIO_TRUSTED_PROXIES": "proxy"}, "'proxy' is not an address or CIDR"),
        ({"NAILFOLIO_RATE_LIMIT_SCALE": "0"}, "NAILFOLIO_RATE_LIMIT_SCALE='0' must be a number"),
        *(
            (
                {"NAILFOLIO_SITE_URL": url},
                f"NAILFOLIO_SITE_URL={url!r} must be an absolute http(s) URL",
            )
            for url in (
                "notaurl",
                "studio.example",
                "/gallery",
                "ftp://studio.example",
                "https://",
                "https://studio.example:port",
                "https://studio.example/?page=1",
                "https://studio example",
            )
        ),
    ],
)
def test_bad_values_are_one_fixable_line(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env, root=tmp_path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_site_url_error_shows_a_good_example(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"e\.g\. https://studio\.example$"):
        load_settings(env={"NAILFOLIO_SITE_URL": "notaurl"}, root=tmp_path)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://studio.example/", "https://studio.example"),
        ("http://localhost:8765", "http://localhost:8765"),
        ("https://nails.example/gallery/", "https://nails.example/gallery"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_absolute_site_urls_are_accepted(tmp_path: Path, url: str, kept: str) -> None:
    settings = load_settings(env={"NAILFOLIO_SITE_URL": url}, root=tmp_path)
    assert (settings.site_url, settings.site_url_explicit) == (kept, True)


@pytest.mark.parametrize(
    ("env", "host", "port", "url"),
    [
        ({}, "127.0.0.1", 8765, "http://127.0.0.1:8765"),
        ({}, "0.0.0.0", 9000, "http://127.0.0.1:9000"),
        ({}, "::", 9000, "http://[::1]:9000"),
        (
            {"NAILFOLIO_SITE_URL": "https://studio.example"},
            "127.0.0.1",
            8765,
            "https://studio.example",
        ),
    ],
)
def test_a_local_serve_links_to_its_own_port_unless_the_site_url_is_set(
    tmp_path: Path, env: dict[str, str], host: str, port: int, url: str
) -> None:
    settings = load_settings(env=env, root=tmp_path)
    assert config.serve_settings(settings, host, port).site_url == url


@pytest.mark.parametrize("start", ["content", "content/designs/ana", "theme"])
def test_the_project_root_is_found_from_any_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    (tmp_path / "content" / "designs" / "ana").mkdir(parents=True)
    (tmp_path / "theme").mkdir()
    monkeypatch.chdir(tmp_path / start)
    settings = load_settings(env={})
    assert (settings.root, settings.project_found) == (tmp_path.resolve(), True)


def test_pelicanconf_marks_a_project_without_content_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pelicanconf.py").write_text("")
    (tmp_path / "theme").mkdir()
    monkeypatch.chdir(tmp_path / "theme")
    assert load_settings(env={}).root == tmp_path.resolve()


def test_root_setting_and_argument_win_over_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "content").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(tmp_path / "content")
    assert load_settings(env={"NAILFOLIO_ROOT": str(elsewhere)}).root == elsewhere.resolve()
    assert load_settings(env={}, root=elsewhere).root == elsewhere.resolve()


def test_no_project_anywhere_above_falls_back_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "find_project_root", lambda start: None)
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert (settings.root, settings.project_found) == (tmp_path.resolve(), False)


def test_refusals_are_keyed_on_the_input_caps_only() -> None:
    base = ImageSettings()
    assert ImageSettings(webp_quality=50).input_fingerprint() == base.input_fingerprint()
    assert ImageSettings(max_pixels=100_000_000).input_fingerprint() != base.input_fingerprint()
    assert ImageSettings(max_file_bytes=1).input_fingerprint() != base.input_fingerprint()


def test_digest_minutes_default_to_15_and_must_be_positive(tmp_path: Path) -> None:
    assert load_settings(env={}, root=tmp_path).digest_minutes == 15
    assert (
        load_settings(env={"NAILFOLIO_DIGEST_MINUTES": "2.5"}, root=tmp_path).digest_minutes == 2.5
    )
    for text in ("0", "-1", "soon"):
        with pytest.raises(
            ConfigError, match=f"NAILFOLIO_DIGEST_MINUTES='{text}' must be a number"
        ):
            load_settings(env={"NAILFOLIO_DIGEST_MINUTES": text}, root=tmp_path)
