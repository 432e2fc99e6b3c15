"""The gallery: content, images, moderation, the catalog port, the build, the Pelican plugin."""
