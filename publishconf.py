"""Pelican settings for production builds: pelicanconf.py plus what differs when publishing.

Use it as render_site(settings, designs, designers, conf=root / "publishconf.py"). SITEURL is
not set here: render_site takes it from Settings.site_url (NAILFOLIO_SITE_URL), so the
canonical, OpenGraph, JSON-LD, feed and sitemap URLs name the real site.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `pelican -s` does not add it

from pelicanconf import *  # noqa: F403

DELETE_OUTPUT_DIRECTORY = True  # a direct `pelican -s publishconf.py` leaves no stale page
NAILFOLIO_FEED_SIZE = 50  # feed readers catch up on a longer window in production
