"""Where an admin is with a comment: its CommentStatus (new, answered, closed)."""

from __future__ import annotations

from enum import StrEnum

from nailfolio.errors import NailfolioError


class CommentStatus(StrEnum):
    """New until an admin answers it (or closes it without a reply)."""

    NEW = "new"
    ANSWERED = "answered"
    CLOSED = "closed"


class InvalidStatus(NailfolioError):
    """A comment status that is not one of CommentStatus."""


def parse_status(status: object) -> CommentStatus:
    """A CommentStatus from its name; raises InvalidStatus naming the allowed ones."""
    try:
        return CommentStatus(status)
    except ValueError:
        allowed = ", ".join(CommentStatus)
        raise InvalidStatus(f"status {status!r} is not one of {allowed}") from None
