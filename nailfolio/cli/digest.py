"""The admins' digest of new comments, run by `serve` in the background (on aws a schedule
runs the same job: chalice_app/app.py's comment_digest)."""

from __future__ import annotations

import threading

import click

from nailfolio.comments.digest import Digest, run_digests


def start_comment_digests(stop: threading.Event) -> None:
    """A daemon thread sending a digest whenever one is due, until `stop`, for the project
    the API serves (its settings: site address, digest_minutes)."""
    from nailfolio.gallery import events
    from nailfolio.web import api

    def send() -> Digest:
        return events.send_comment_digest(api.services().settings)

    def sent(count: int) -> None:
        click.echo(f"sent the admins a digest of {count} new comments (see /admin/)")

    threading.Thread(target=run_digests, args=(send, stop, sent), daemon=True).start()
