"""content/studio.md: parsed into a Studio, each bad value a warning, never a traceback."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from nailfolio.gallery.studio import (
    Opening,
    Studio,
    booking_url,
    load_studio,
    parse_hours,
    parse_studio,
    studio_jsonld,
)

STUDIO_MD = """\
Name: Polished Lisbon
Tagline: Nail art, painted by hand
Street: Rua das Flores 28
Postcode: 1200-195
City: Lisbon
Country: PT
Phone: +351 213 456 789
Email: hello@polished.example
Booking: https://book.example/polished?service={design}&staff=any
Hours: Tue-Fri 10:00-19:30; Sat 10:00-13:00, 14:00-17:00; Sun-Mon closed
Social: https://www.instagram.com/polished, https://tiktok.com/@polished,
  https://nails.example/blog

We are **two minutes** from the metro.
"""


def test_a_full_studio_file_is_parsed() -> None:
    parsed = parse_studio(STUDIO_MD)
    studio = parsed.studio
    assert parsed.problems == ()
    assert (studio.name, studio.tagline) == ("Polished Lisbon", "Nail art, painted by hand")
    assert studio.address_lines == ("Rua das Flores 28", "1200-195 Lisbon", "PT")
    assert (studio.phone, studio.phone_href) == ("+351 213 456 789", "tel:+351213456789")
    assert studio.email == "hello@polished.example"
    assert studio.hours == (
        Opening(("Tuesday", "Wednesday", "Thursday", "Friday"), (("10:00", "19:30"),)),
        Opening(("Saturday",), (("10:00", "13:00"), ("14:00", "17:00"))),
    )
    assert [(link.name, link.shown) for link in studio.social] == [
        ("Instagram", "instagram.com/polished"),
        ("TikTok", "tiktok.com/@polished"),
        ("nails.example", "nails.example/blog"),  # an unknown site is named by its host
    ]
    assert studio.about == "<p>We are <strong>two minutes</strong> from the metro.</p>"


def test_the_week_lists_every_day_and_the_summary_groups_runs() -> None:
    studio = parse_studio(STUDIO_MD).studio
    assert studio.week() == (
        ("Monday", "Closed"),
        ("Tuesday", "10:00–19:30"),
        ("Wednesday", "10:00–19:30"),
        ("Thursday", "10:00–19:30"),
        ("Friday", "10:00–19:30"),
        ("Saturday", "10:00–13:00, 14:00–17:00"),
        ("Sunday", "Closed"),
    )
    assert studio.hours_summary() == ("Tue–Fri 10:00–19:30", "Sat 10:00–13:00, 14:00–17:00")


@pytest.mark.parametrize(
    ("hours", "week_open"),
    [
        ("Mon-Fri 9:00-18:00", ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
        ("monday, wed, FRI 10:00 – 16:00", ["Monday", "Wednesday", "Friday"]),
        ("Sat-Mon 10:00-14:00", ["Monday", "Saturday", "Sunday"]),  # round the weekend
        ("Thu 12:00-24:00; Sun closed", ["Thursday"]),
    ],
)
def test_opening_hours_forms(hours: str, week_open: list[str]) -> None:
    openings, problems = parse_hours(hours)
    assert problems == []
    assert sorted(day for o in openings for day in o.days) == sorted(week_open)


@pytest.mark.parametrize(
    ("hours", "reason"),
    [
        ("Mon-Fri", "names no days and hours"),
        ("Mon-Fry 10:00-18:00", "'Fry', which is not a day"),
        ("Mon 10-18", "'10-18', which is not a time span such as 10:00-19:00"),
        ("Mon 18:00-10:00", "closes at 10:00, not after it opens at 18:00"),
        ("Mon 10:00-25:00", "not a time span"),
        ("Mon 10:00-18:00; Mon closed", "Monday is given twice"),
    ],
)
def test_bad_opening_hours_are_reported_and_left_out(hours: str, reason: str) -> None:
    parsed = parse_studio(f"Name: Polished\nHours: {hours}; Sat 10:00-12:00\n")
    [problem] = parsed.problems
    assert problem.path == "studio.md" and problem.warning
    assert reason in problem.reason and problem.reason.startswith("Hours:")
    assert parsed.studio.week()[5] == ("Saturday", "10:00–12:00")  # the good group is kept
    assert parsed.studio.name == "Polished"


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("Phone: 0800-NAILS", "phone", "is not a phone number"),
        ("Phone: 12 34", "phone", "is not a phone number"),  # too few digits
        ("Phone: 351+ 213 456 789", "phone", "is not a phone number"),
        ("Email: hello at polished", "email", "is not an email address"),
        ("Booking: javascript:alert(1)", "booking", "is not a web link"),
        ("Booking: book.example/polished", "booking", "starting with https://"),
        ("Booking: https://book.example/?s={title}", "booking", "braces other than {design}"),
    ],
)
def test_a_bad_value_is_a_warning_naming_the_key_and_the_field_is_left_out(
    line: str, field: str, reason: str
) -> None:
    parsed = parse_studio(f"Name: Polished\n{line}\n")
    [problem] = parsed.problems
    assert problem.warning and str(problem).startswith(f"studio.md: {field.title()}: ")
    assert reason in problem.reason
    assert getattr(parsed.studio, field) == ""
    assert parsed.studio.name == "Polished"


def test_a_bad_social_link_is_reported_and_the_others_kept() -> None:
    parsed = parse_studio("Social: instagram.com/polished, https://tiktok.com/@polished\n")
    [problem] = parsed.problems
    assert problem.reason.startswith("Social: 'instagram.com/polished' is not a web link")
    assert [link.name for link in parsed.studio.social] == ["TikTok"]


def test_an_unknown_key_is_reported_with_the_known_ones() -> None:
    [problem] = parse_studio("Phon: +351 213 456 789\n").problems
    assert problem.reason.startswith("unknown key 'Phon'; known keys: Booking, City")


def test_no_studio_file_is_an_empty_studio_and_no_problem(tmp_path: Path) -> None:
    assert load_studio(tmp_path).studio == Studio()
    assert load_studio(tmp_path).problems == ()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"Name: Caf\xe9\n", "not UTF-8 text; save it as UTF-8"),
        (b"x" * (300 * 1024), "larger than 256 KB; shorten it"),
    ],
)
def test_an_unusable_studio_file_is_one_problem(tmp_path: Path, data: bytes, reason: str) -> None:
    (tmp_path / "studio.md").write_bytes(data)
    loaded = load_studio(tmp_path)
    assert loaded.studio == Studio()
    assert [(p.path, p.reason, p.warning) for p in loaded.problems] == [("studio.md", reason, True)]


@pytest.mark.parametrize(
    ("template", "title", "expected"),
    [
        (
            "https://book.example/s?service={design}&x=1",
            "Ruby & Gold",
            "https://book.example/s?service=Ruby%20%26%20Gold&x=1",
        ),
        ("https://book.example/d/{design}", "Half/Moon", "https://book.example/d/Half%2FMoon"),
        ("https://book.example/s?x=1", "Ruby Tips", "https://book.example/s?x=1&design=Ruby+Tips"),
        ("https://book.example/s?service={design}&x=1", "", "https://book.example/s?x=1"),
    ],
)
def test_the_booking_link_names_the_design(template: str, title: str, expected: str) -> None:
    assert booking_url(template, title) == expected


def test_without_a_booking_link_the_button_prepares_an_email_naming_the_design() -> None:
    studio = Studio(email="hello@polished.example")
    href = studio.book_href("Ruby French", "https://nails.test/designs/ana/ruby/")
    address, _, query = href.partition("?")
    assert address == "mailto:hello@polished.example"
    fields = parse_qs(query)
    assert fields["subject"] == ["Booking: Ruby French"]
    assert "“Ruby French” (https://nails.test/designs/ana/ruby/)" in fields["body"][0]
    assert "+" not in query  # spaces as %20: mail apps do not read + as a space
    assert Studio().book_href("Ruby French", "") == ""  # the template links /contact/


def test_the_booking_link_wins_over_the_email() -> None:
    studio = Studio(email="hello@polished.example", booking="https://book.example/?d={design}")
    assert urlsplit(studio.book_href("Ruby", "")).query == "d=Ruby"


def test_jsonld_is_a_nail_salon_with_postal_address_hours_and_links() -> None:
    data = studio_jsonld(parse_studio(STUDIO_MD).studio, "Fallback", "https://nails.test/")
    assert data["@context"] == "https://schema.org" and data["@type"] == "NailSalon"
    assert (data["name"], data["url"]) == ("Polished Lisbon", "https://nails.test/")
    assert data["telephone"] == "+351 213 456 789"
    assert data["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "Rua das Flores 28",
        "postalCode": "1200-195",
        "addressLocality": "Lisbon",
        "addressCountry": "PT",
    }
    assert data["openingHoursSpecification"][1] == {
        "@type": "OpeningHoursSpecification",
        "dayOfWeek": ["Saturday"],
        "opens": "10:00",
        "closes": "13:00",
    }
    assert len(data["openingHoursSpecification"]) == 3  # Saturday's two spans
    assert data["sameAs"][0] == "https://www.instagram.com/polished"


def test_jsonld_of_an_empty_studio_names_the_site() -> None:
    data = studio_jsonld(Studio(), "Nailfolio", "https://nails.test/")
    assert data == {
        "@context": "https://schema.org",
        "@type": "NailSalon",
        "@id": "https://nails.test/#studio",
        "name": "Nailfolio",
        "url": "https://nails.test/",
    }
