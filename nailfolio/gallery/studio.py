"""The studio's own identity, from content/studio.md: name, tagline, address, opening hours,
phone, email, booking link and social links, for the header, the footer, /contact/, the
NailSalon JSON-LD and every design's "Book this design" button.

The file has the sidecars' format (nailfolio.gallery.content.parse_metadata): "Key: value"
lines, then a Markdown body shown on the contact page. Keys (all optional):

  Name, Tagline                 the site's name and subtitle (default: the Pelican settings')
  Street, Postcode, City, Region, Country    the address
  Phone                         digits with spaces, dots, dashes or brackets; + and the country
                                code for visitors abroad ("+351 912 345 678")
  Email                         where the prepared booking emails go
  Booking                       an http(s) link to the booking page; "{design}" in it is
                                replaced by the design's title, else "design=<title>" is added
                                to its query
  Hours                         "Mon-Fri 10:00-19:00; Sat 10:00-13:00, 14:00-17:00; Sun closed":
                                groups split by ";", days not named are closed
  Social                        comma-separated http(s) links (Instagram, TikTok...)

A bad value is a ContentProblem (a warning: the site builds with that field left out), never
a traceback; so is an unknown key. No file at all gives an empty Studio: the site still builds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from markupsafe import Markup

from nailfolio.gallery.content import (
    MAX_SIDECAR_BYTES,
    ContentProblem,
    parse_metadata,
    render_markdown,
)

STUDIO_FILE = "studio.md"  # in the content folder
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DESIGN_PLACEHOLDER = "{design}"
KEYS = frozenset(
    {"name", "tagline", "street", "postcode", "city", "region", "country"}
    | {"phone", "email", "booking", "hours", "social"}
)
SOCIAL_NAMES = {
    "instagram.com": "Instagram", "facebook.com": "Facebook", "tiktok.com": "TikTok",
    "pinterest.com": "Pinterest", "youtube.com": "YouTube", "x.com": "X", "twitter.com": "X",
    "threads.net": "Threads", "bsky.app": "Bluesky", "linkedin.com": "LinkedIn",
}  # fmt: skip
HOURS_HINT = 'write it like "Mon-Fri 10:00-19:00; Sat 10:00-16:00; Sun closed"'

_PHONE = re.compile(r"\+?[0-9 ().\-/]+")
_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+")
_TIME = re.compile(r"([01]?\d|2[0-4]):([0-5]\d)")
_GROUP = re.compile(r"(?P<days>[^\d]+?)\s+(?P<times>closed|\d.*)", re.IGNORECASE)


@dataclass(frozen=True)
class Opening:
    """Opening hours shared by some days: one or more (opens, closes) spans, "HH:MM"."""

    days: tuple[str, ...]  # full English names, Monday first
    spans: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SocialLink:
    name: str  # "Instagram", or the link's host
    url: str

    @property
    def shown(self) -> str:
        """The link as text: no scheme, no www., no trailing slash."""
        return self.url.partition("://")[2].removeprefix("www.").rstrip("/")


@dataclass(frozen=True)
class Studio:
    """What content/studio.md says; every field may be empty."""

    name: str = ""
    tagline: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    phone: str = ""  # as written
    email: str = ""
    booking: str = ""  # an http(s) URL, maybe holding DESIGN_PLACEHOLDER
    hours: tuple[Opening, ...] = ()
    social: tuple[SocialLink, ...] = ()
    about: str = ""  # HTML rendered from the body, safe to embed

    @property
    def about_html(self) -> Markup:
        return Markup(self.about)

    @property
    def phone_href(self) -> str:
        """The tel: link: the digits, with + when written."""
        digits = re.sub(r"\D", "", self.phone)
        return f"tel:{'+' if self.phone.startswith('+') else ''}{digits}" if digits else ""

    @property
    def address_lines(self) -> tuple[str, ...]:
        town = " ".join(part for part in (self.postcode, self.city) if part)
        lines = (self.street, town, self.region, self.country)
        return tuple(line for line in lines if line)

    @property
    def booking_page(self) -> str:
        """The booking link naming no design ("" without one)."""
        return booking_url(self.booking) if self.booking else ""

    @property
    def map_url(self) -> str:
        """An OpenStreetMap search for the address ("" without a street and a city)."""
        if not (self.street and self.city):
            return ""
        return "https://www.openstreetmap.org/search?query=" + quote(", ".join(self.address_lines))

    def week(self) -> tuple[tuple[str, str], ...]:
        """(day, "10:00–19:00" or "Closed") for every day, Monday first."""
        by_day = {day: opening.spans for opening in self.hours for day in opening.days}
        return tuple((day, _spans_text(by_day.get(day, ()))) for day in DAYS)

    def hours_summary(self) -> tuple[str, ...]:
        """Open days, runs of days with the same hours together: ("Mon–Fri 10:00–19:00", ...)."""
        runs: list[tuple[list[str], str]] = []
        previous = ""
        for day, text in self.week():
            if text == "Closed":
                previous = ""
                continue
            if text == previous:
                runs[-1][0].append(day)
            else:
                runs.append(([day], text))
            previous = text
        return tuple(f"{_day_range(days)} {text}" for days, text in runs)

    def book_href(self, title: str, page_url: str) -> str:
        """Where "Book this design" goes: the booking link naming the design, else a prepared
        email to the studio, else "" (the template links the contact page)."""
        if self.booking:
            return booking_url(self.booking, title)
        if self.email:
            subject = f"Booking: {title}"
            body = (
                f"Hello,\n\nI would like to book the design “{title}” ({page_url}).\n\n"
                "Days and times that suit me:\n\nThank you!\n"
            )
            return f"mailto:{self.email}?subject={quote(subject)}&body={quote(body)}"
        return ""


@dataclass(frozen=True)
class StudioFile:
    """The studio and what is wrong in its file (the site builds regardless)."""

    studio: Studio = field(default_factory=Studio)
    problems: tuple[ContentProblem, ...] = ()


def load_studio(content_dir: Path) -> StudioFile:
    """Read content/studio.md; an empty Studio (and no problem) when there is none."""
    path = content_dir / STUDIO_FILE
    if not path.is_file():
        return StudioFile()
    try:
        data = path.read_bytes()
    except OSError as error:
        return _refused(f"cannot be read ({error.strerror}); check its permissions")
    if len(data) > MAX_SIDECAR_BYTES:
        return _refused(f"larger than {MAX_SIDECAR_BYTES // 1024} KB; shorten it")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _refused("not UTF-8 text; save it as UTF-8")
    return parse_studio(text)


def parse_studio(text: str) -> StudioFile:
    """The studio from studio.md's text, each bad value reported and left out."""
    meta, body = parse_metadata(text)
    problems: list[str] = [
        f"unknown key {key.title()!r}; known keys: {', '.join(sorted(k.title() for k in KEYS))}"
        for key in meta
        if key not in KEYS
    ]

    def checked(key: str, check) -> str:
        value = " ".join(meta.get(key, "").split())
        if not value:
            return ""
        reason = check(value)
        if reason:
            problems.append(f"{key.title()}: {value!r} {reason}")
            return ""
        return value

    hours, hours_problems = parse_hours(meta.get("hours", ""))
    social, social_problems = _parse_social(meta.get("social", ""))
    problems += hours_problems + social_problems
    studio = Studio(
        name=" ".join(meta.get("name", "").split()),
        tagline=" ".join(meta.get("tagline", "").split()),
        street=" ".join(meta.get("street", "").split()),
        postcode=" ".join(meta.get("postcode", "").split()),
        city=" ".join(meta.get("city", "").split()),
        region=" ".join(meta.get("region", "").split()),
        country=" ".join(meta.get("country", "").split()),
        phone=checked("phone", _phone_problem),
        email=checked("email", _email_problem),
        booking=checked("booking", _booking_problem),
        hours=hours,
        social=social,
        about=render_markdown(body),
    )
    return StudioFile(studio, tuple(ContentProblem(STUDIO_FILE, p, warning=True) for p in problems))


def booking_url(template: str, title: str = "") -> str:
    """The booking link naming a design: in place of {design}, else as a design= parameter.
    Without a title, the studio's own booking page: parameters naming the design dropped."""
    parts = urlsplit(template)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not title:
        kept = [(key, value) for key, value in pairs if DESIGN_PLACEHOLDER not in value]
        path = parts.path.replace(DESIGN_PLACEHOLDER, "")
        return urlunsplit(parts._replace(path=path, query=urlencode(kept)))
    if DESIGN_PLACEHOLDER in template:
        return template.replace(DESIGN_PLACEHOLDER, quote(title, safe=""))
    return urlunsplit(parts._replace(query=urlencode([*pairs, ("design", title)])))


def parse_hours(value: str) -> tuple[tuple[Opening, ...], list[str]]:
    """Opening hours from "Mon-Fri 10:00-19:00; Sat 10:00-16:00; Sun closed", and problems."""
    openings: list[Opening] = []
    problems: list[str] = []
    seen: set[str] = set()
    for group in (g.strip() for g in value.split(";")):
        if not group:
            continue
        try:
            days, spans = _parse_group(group)
        except ValueError as error:
            problems.append(f"Hours: {group!r} {error}; {HOURS_HINT}")
            continue
        twice = [day for day in days if day in seen]
        if twice:
            problems.append(f"Hours: {twice[0]} is given twice; give each day once")
            continue
        seen.update(days)
        if spans:
            openings.append(Opening(days, spans))
    return tuple(openings), problems


def studio_jsonld(studio: Studio, name: str, url: str) -> dict:
    """schema.org NailSalon for the studio (`url`: the site's absolute root)."""
    data: dict = {"@context": "https://schema.org", "@type": "NailSalon", "@id": f"{url}#studio"}
    data |= {"name": studio.name or name, "url": url}
    if studio.tagline:
        data["description"] = studio.tagline
    if studio.phone:
        data["telephone"] = studio.phone
    if studio.email:
        data["email"] = studio.email
    address = {
        "streetAddress": studio.street,
        "postalCode": studio.postcode,
        "addressLocality": studio.city,
        "addressRegion": studio.region,
        "addressCountry": studio.country,
    }
    if any(address.values()):
        data["address"] = {"@type": "PostalAddress"} | {k: v for k, v in address.items() if v}
    if studio.hours:
        data["openingHoursSpecification"] = [
            {"@type": "OpeningHoursSpecification", "dayOfWeek": list(o.days)}
            | {"opens": opens, "closes": closes}
            for o in studio.hours
            for opens, closes in o.spans
        ]
    if studio.social:
        data["sameAs"] = [link.url for link in studio.social]
    return data


def _refused(reason: str) -> StudioFile:
    return StudioFile(problems=(ContentProblem(STUDIO_FILE, reason, warning=True),))


def _phone_problem(value: str) -> str:
    digits = len(re.sub(r"\D", "", value))
    if not _PHONE.fullmatch(value) or "+" in value[1:] or not 6 <= digits <= 15:
        return (
            "is not a phone number; write its digits, with + and the country code, "
            "such as +351 912 345 678"
        )
    return ""


def _email_problem(value: str) -> str:
    return "" if _EMAIL.fullmatch(value) else "is not an email address, such as hello@studio.com"


def _web_problem(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        return "is not a web link; write it in full, starting with https://"
    return ""


def _booking_problem(value: str) -> str:
    problem = _web_problem(value)
    if not problem and re.search(r"[{}]", value.replace(DESIGN_PLACEHOLDER, "")):
        problem = f"has braces other than {DESIGN_PLACEHOLDER}, the one placeholder replaced"
    return problem


def _parse_social(value: str) -> tuple[tuple[SocialLink, ...], list[str]]:
    links: list[SocialLink] = []
    problems: list[str] = []
    for url in (item.strip() for item in value.split(",")):
        if not url:
            continue
        problem = _web_problem(url)
        if problem:
            problems.append(f"Social: {url!r} {problem}")
            continue
        host = (urlsplit(url).hostname or "").removeprefix("www.").removeprefix("m.")
        links.append(SocialLink(SOCIAL_NAMES.get(host, host), url))
    return tuple(links), problems


def _parse_group(group: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """One "Mon-Fri 10:00-13:00, 14:00-19:00" group: its days and spans (none: closed)."""
    match = _GROUP.fullmatch(group)
    if not match:
        raise ValueError("names no days and hours")
    days: list[str] = []
    for part in match["days"].replace("–", "-").split(","):
        first, dash, last = part.partition("-")
        start = DAYS.index(_day(first))
        end = DAYS.index(_day(last)) if dash else start
        days += DAYS[start : end + 1] if start <= end else DAYS[start:] + DAYS[: end + 1]  # Sat-Mon
    if match["times"].lower() == "closed":
        return tuple(dict.fromkeys(days)), ()
    spans = tuple(_span(span) for span in match["times"].split(","))
    return tuple(dict.fromkeys(days)), spans


def _day(word: str) -> str:
    folded = word.strip(" .").lower()
    for day in DAYS:
        if len(folded) >= 2 and day.lower().startswith(folded):
            return day
    raise ValueError(f"has {word!r}, which is not a day")


def _span(text: str) -> tuple[str, str]:
    opens, _, closes = (part.strip() for part in text.replace("–", "-").partition("-"))
    if not (_TIME.fullmatch(opens) and _TIME.fullmatch(closes)):
        raise ValueError(f"has {text.strip()!r}, which is not a time span such as 10:00-19:00")
    opens, closes = _hhmm(opens), _hhmm(closes)
    if closes <= opens:
        raise ValueError(f"closes at {closes}, not after it opens at {opens}")
    return opens, closes


def _hhmm(text: str) -> str:
    hours, minutes = text.split(":")
    if int(hours) == 24 and minutes != "00":
        raise ValueError(f"has {text!r}, after midnight")
    return f"{int(hours):02d}:{minutes}"


def _spans_text(spans: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{opens}–{closes}" for opens, closes in spans) or "Closed"


def _day_range(days: Sequence[str]) -> str:
    short = [day[:3] for day in days]
    return short[0] if len(short) == 1 else f"{short[0]}–{short[-1]}"
