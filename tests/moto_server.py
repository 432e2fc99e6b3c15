"""The aws backend over real HTTP: a ThreadedMotoServer on loopback, its resources afresh.

`MotoServer` runs moto's server in a thread of the test process (so the network guard lets
it through: it listens on 127.0.0.1) with DynamoDB requests serialised as on AWS (see
moto_dynamodb), DetectSentiment scoring as the local analyzer does, and Cognito's
ResendConfirmationCode, which moto lacks.
`aws_resources` makes every table, topic, bucket and user pool the aws
backend needs and returns the environment that points the backend at them; `reset` wipes
the server between tests.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import boto3
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.comprehend.models import ComprehendBackend
from moto.server import ThreadedMotoServer
from moto_cognito import make_pool
from moto_dynamodb import REGION, one_dynamodb_request_at_a_time

from nailfolio.aws import clients
from nailfolio.aws.dynamodb import catalog_table, rate_limit_table, rate_limit_time_to_live
from nailfolio.aws.dynamodb_comment_store import table_definition


class MotoServer:
    """moto's server on a free loopback port."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request, else
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)

    def reset(self) -> None:
        """Forget every resource (moto's own reset API), and the backend's cached clients."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        clients.forget_clients()

    def stop(self) -> None:
        self._server.stop()


def _scored_like_vader(backend: Any, text: str, language: str) -> dict[str, Any]:
    """DetectSentiment answering as the local analyzer scores the text (moto's own answers
    one canned score), in Comprehend's shape, so the API suite's sentiment checks hold on
    both backends; the Comprehend adapter's own handling is tested with Stubber."""
    from nailfolio.local.vader_sentiment import VaderAnalyzer

    found = VaderAnalyzer().detect(text)
    scores = (found.positive, found.negative, found.neutral, found.mixed)
    names = ("Positive", "Negative", "Neutral", "Mixed")
    return {"Sentiment": found.label.value, "SentimentScore": dict(zip(names, scores, strict=True))}


def _phrases_like_yake(backend: Any, text: str, language: str) -> list[dict[str, Any]]:
    """DetectKeyPhrases answering as the local extractor finds them (moto's own answers
    canned phrases), so the insights' checks hold on both backends."""
    from nailfolio.local.yake_key_phrases import YakeKeyPhrases

    found = YakeKeyPhrases().key_phrases(text)
    return [{"Text": p.text, "Score": p.score, "BeginOffset": 0, "EndOffset": 0} for p in found]


def _resend_confirmation_code(responses: Any) -> Any:
    """Cognito's ResendConfirmationCode, which moto lacks (it answers 500): the code is
    "sent" to a user the app client's pool holds, and an unknown one is UserNotFound."""
    from moto.core.responses import ActionResult

    client_id, username = responses._get_param("ClientId"), responses._get_param("Username")
    backend = responses._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
    pool = next(pool for pool in backend.user_pools.values() if client_id in pool.clients)
    backend.admin_get_user(pool.id, username)
    sent = {"Destination": "e***@example.com", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    return ActionResult({"CodeDeliveryDetails": sent})


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    with ExitStack() as stack:
        stack.enter_context(one_dynamodb_request_at_a_time())
        stack.enter_context(
            mock.patch.object(ComprehendBackend, "detect_sentiment", _scored_like_vader)
        )
        stack.enter_context(
            mock.patch.object(ComprehendBackend, "detect_key_phrases", _phrases_like_yake)
        )
        stack.enter_context(
            mock.patch.object(
                CognitoIdpResponse,
                "resend_confirmation_code",
                _resend_confirmation_code,
                create=True,
            )
        )
        server = MotoServer()
        stack.callback(server.stop)
        yield server


def aws_resources(server: MotoServer, prefix: str = "t") -> dict[str, str]:
    """Make the aws backend's resources on `server`; the environment naming them."""
    dynamodb = server.client("dynamodb")
    dynamodb.create_table(**catalog_table(f"{prefix}-catalog"))
    dynamodb.create_table(**table_definition(f"{prefix}-comments"))
    dynamodb.create_table(**rate_limit_table(f"{prefix}-ratelimit"))
    dynamodb.update_time_to_live(**rate_limit_time_to_live(f"{prefix}-ratelimit"))
    topic = server.client("sns").create_topic(Name=f"{prefix}-admins")["TopicArn"]
    s3 = server.client("s3")
    for bucket in (f"{prefix}-content", f"{prefix}-assets"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    pool = make_pool(server.client("cognito-idp"), dynamodb, f"{prefix}-revocations")
    return {
        "NAILFOLIO_BACKEND": "aws",
        "NAILFOLIO_AWS_REGION": REGION,
        "NAILFOLIO_AWS_ENDPOINT_URL": server.endpoint,
        "NAILFOLIO_AWS_PREFIX": prefix,
        "NAILFOLIO_TOPIC_ARN": topic,
        "NAILFOLIO_CONTENT_BUCKET": f"{prefix}-content",
        "NAILFOLIO_ASSETS_BUCKET": f"{prefix}-assets",
        "NAILFOLIO_COGNITO_POOL_ID": pool.pool_id,
        "NAILFOLIO_COGNITO_CLIENT_ID": pool.client_id,
        # moto serves the keys at its own address; tokens keep the AWS issuer (the default)
        "NAILFOLIO_COGNITO_JWKS_URL": f"{server.endpoint}/{pool.pool_id}/.well-known/jwks.json",
    }
