"""The aws backend over real HTTP: a ThreadedMotoServer on loopback, its resources afresh.

`MotoServer` runs moto's server in a thread of the test process (so the network guard lets
it through: it listens on 127.0.0.1) with DynamoDB requests serialised as on AWS (see
moto_dynamodb). `aws_resources` makes every table, topic, bucket and user pool the aws
backend needs and returns the environment that points the backend at them; `reset` wipes
the server between tests.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from moto_dynamodb import REGION, one_dynamodb_request_at_a_time

from nailfolio.aws import clients
from nailfolio.aws.dynamodb import catalog_table, rate_limit_table, rate_limit_time_to_live
from nailfolio.aws.dynamodb_comment_store import table_definition


class MotoServer:
    """moto's server on a free loopback port."""

    def __init__(self) -> None:
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


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    with ExitStack() as stack:
        stack.enter_context(one_dynamodb_request_at_a_time())
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
    return {
        "NAILFOLIO_BACKEND": "aws",
        "NAILFOLIO_AWS_REGION": REGION,
        "NAILFOLIO_AWS_ENDPOINT_URL": server.endpoint,
        "NAILFOLIO_AWS_PREFIX": prefix,
        "NAILFOLIO_TOPIC_ARN": topic,
    }
