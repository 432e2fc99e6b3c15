"""The aws notifier: each notification is one Publish to an SNS topic the admins subscribe to.

The topic ARN is a setting; the admins' e-mail (or an SQS queue, a chat hook) subscribes to
the topic, so there is no table and no key: SNS keeps nothing, and what was sent lives in the
subscribers' inboxes (the local outbox's list_notifications has no twin here).

SNS refuses a subject that is not one line of printable ASCII under 100 characters, and a
message over 256 KB. The subject goes through notify.clean_subject, as in the outbox, then
accented letters are folded to ASCII and anything else dropped; the message is cut on a
UTF-8 character boundary with a marker saying so. Tags travel as one String.Array message
attribute, `tags`, so a subscription's filter policy can pick e.g. only "moderation".
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from nailfolio.aws.calls import call
from nailfolio.aws.clients import SharedClient
from nailfolio.gallery.notify import clean_subject

MESSAGE_MAX_BYTES = 262_144  # SNS: 256 KB of UTF-8, message attributes included
CUT_MARKER = "\n\n[message cut to fit SNS's 256 KB limit]"
TAGS_ATTRIBUTE = "tags"


class SnsNotifier(SharedClient):
    """Notifier port adapter: publishes each notification to one SNS topic."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client  # a boto3 "sns" client
        self._topic_arn = topic_arn

    def notify(self, subject: str, body: str, tags: Sequence[str] = ()) -> None:
        if isinstance(tags, str):
            raise TypeError("tags must be a sequence of strings, not one string")
        request: dict[str, Any] = {"TopicArn": self._topic_arn}
        if line := sns_subject(subject):
            request["Subject"] = line  # an empty Subject is refused: leave it out
        if tags:
            request["MessageAttributes"] = {
                TAGS_ATTRIBUTE: {"DataType": "String.Array", "StringValue": json.dumps(list(tags))}
            }
        request["Message"] = cut_message(body, MESSAGE_MAX_BYTES - _overhead(request))
        call(self._client, "SNS", "Publish", request, where=f" to {self._topic_arn}")


def sns_subject(subject: str) -> str:
    """clean_subject's one short line, in the printable ASCII SNS insists on."""
    folded = unicodedata.normalize("NFKD", clean_subject(subject))
    ascii_only = folded.encode("ascii", "ignore").decode("ascii")
    return " ".join(ascii_only.split())


def cut_message(body: str, max_bytes: int) -> str:
    """The body, or its longest head that fits max_bytes of UTF-8 with CUT_MARKER after it."""
    data = body.encode("utf-8", "replace")  # a lone surrogate cannot travel: it becomes "?"
    if len(data) <= max_bytes:
        return data.decode("utf-8")
    room = max_bytes - len(CUT_MARKER.encode("utf-8"))
    return data[:room].decode("utf-8", "ignore") + CUT_MARKER


def _overhead(request: dict[str, Any]) -> int:
    """Bytes the subject and attributes take from the 256 KB (counted generously)."""
    subject = len(request.get("Subject", ""))
    attributes = len(json.dumps(request.get("MessageAttributes", {})).encode("utf-8"))
    return subject + attributes
