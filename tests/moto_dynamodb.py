"""moto's DynamoDB made as atomic as the real one, for the DynamoDB adapters' tests.

DynamoDB applies each write (its condition check and its update, or a whole transaction)
atomically. moto does not: it reads an item, checks the condition and writes in Python with
no lock, so two threads can both pass a condition only one should (50 threads on a limit of
10 let 10 to 32 through). `atomic_dynamodb` serialises moto's DynamoDB requests, giving the
guarantee the adapters rely on; everything else about moto is left as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

REGION = "eu-west-1"


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """`mock_aws`, with one DynamoDB request handled at a time."""
    with mock_aws(), one_dynamodb_request_at_a_time():
        yield


@contextmanager
def one_dynamodb_request_at_a_time() -> Iterator[None]:
    """moto's DynamoDB, in-process or a ThreadedMotoServer in this process, serialised."""
    lock = threading.Lock()
    handle = DynamoHandler.call_action

    def one_at_a_time(self: DynamoHandler, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return handle(self, *args, **kwargs)

    with mock.patch.object(DynamoHandler, "call_action", one_at_a_time):
        yield


def dynamodb_client() -> Any:
    """A new DynamoDB client in the tests' region (another Lambda, as far as a test goes)."""
    return boto3.client("dynamodb", region_name=REGION)
