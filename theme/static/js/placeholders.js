// Gallery images wear a placeholder while they load: a tiny blurred copy and its dominant
// colour, as the background their style attribute sets (nailfolio/gallery/views.py). Left there, it
// would show through the transparent parts of a PNG or WebP design for good, so it goes the
// moment each image has loaded; an image that loaded before this ran (from the cache, say)
// loses it at once. Without JavaScript, site.css paints no placeholder at all.

const IMAGES = ".card__img, .design__img";

/** Take the placeholder off an image that has arrived; a broken image keeps it. */
function unveil(img) {
  img.style.background = "none"; // through the CSSOM, which the strict CSP allows
}

/** Unveil every gallery image in root now if it has loaded, else when it does. */
export function settlePlaceholders(root = document) {
  for (const img of root.querySelectorAll(IMAGES)) {
    if (img.complete && img.naturalWidth > 0) unveil(img);
    else img.addEventListener("load", () => unveil(img), { once: true });
  }
}

settlePlaceholders();
