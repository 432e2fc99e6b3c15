"""Pelican settings for local builds; nailfolio.gallery.site.render_site overrides paths and URL.

Running `pelican -s pelicanconf.py` directly works too: it renders the pages from
content/pages and an empty gallery (the designs come from the catalog, not from Pelican).
"""

SITENAME = "Nailfolio"
SITESUBTITLE = "Hand-painted nail art from independent designers"
SITEURL = "http://127.0.0.1:8000"
DEFAULT_LANG = "en"
TIMEZONE = "UTC"

PATH = "content"
OUTPUT_PATH = "output"
THEME = "theme"
DELETE_OUTPUT_DIRECTORY = True

PLUGINS = ["nailfolio.gallery.pelican_plugin"]

# Pelican reads only content/pages/*.md. Designs, their .md sidecars and designer.md are
# read by nailfolio's own content scanner and rendered by the plugin: never as articles.
ARTICLE_PATHS: list[str] = []
ARTICLE_EXCLUDES = ["designs", "pages"]
PAGE_PATHS = ["pages"]
PAGE_EXCLUDES = ["designs"]
STATIC_PATHS: list[str] = []
STATIC_EXCLUDES = ["designs"]
IGNORE_FILES = ["**/.*", ".#*", "designs", "designer.md"]

SLUGIFY_SOURCE = "basename"  # content/pages/about.md is published at about/
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
PAGE_LANG_URL = "{slug}-{lang}/"
PAGE_LANG_SAVE_AS = "{slug}-{lang}/index.html"
DRAFT_PAGE_URL = ""
DRAFT_PAGE_SAVE_AS = ""

# Everything blog-shaped is switched off: the gallery plugin writes the index, the listing
# pages and the one Atom feed.
DIRECT_TEMPLATES: list[str] = []
ARTICLE_SAVE_AS = ""
ARTICLE_LANG_SAVE_AS = ""
DRAFT_SAVE_AS = ""
DRAFT_LANG_SAVE_AS = ""
INDEX_SAVE_AS = ""
TAG_SAVE_AS = ""
CATEGORY_SAVE_AS = ""
AUTHOR_SAVE_AS = ""
ARCHIVES_SAVE_AS = ""
FEED_ALL_ATOM = None
FEED_ALL_RSS = None
CATEGORY_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TRANSLATION_FEED_ATOM = None
TAG_FEED_ATOM = None

RELATIVE_URLS = False  # the theme writes document-relative links itself (see base.html)
JINJA_ENVIRONMENT = {"trim_blocks": True, "lstrip_blocks": True, "autoescape": True}
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False

# Gallery plugin (see nailfolio/gallery/pelican_plugin.py for every setting it reads).
NAILFOLIO_PER_PAGE = 24
NAILFOLIO_EAGER_IMAGES = 4
NAILFOLIO_FEED_SIZE = 20
