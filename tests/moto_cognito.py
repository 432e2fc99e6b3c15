"""A Cognito user pool on moto for the identity tests, set up as the deployment sets it up."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import requests
from moto import mock_aws

from nailfolio.aws import cognito_pool
from nailfolio.aws.cognito_identity import CognitoIdentity, cognito_verifier
from nailfolio.aws.dynamodb import revocation_table, revocation_time_to_live

REGION = "eu-west-1"
REVOCATIONS = "nailfolio-revoked-tokens"


@dataclass(frozen=True)
class Pool:
    """What a deployment makes: the pool, its app client, its groups, the revocation table."""

    pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:  # under mock_aws; moto's server has it at <endpoint>/<pool>/...
        return f"{self.issuer}/.well-known/jwks.json"


def fetch_with_requests(url: str) -> Mapping[str, Any]:
    """The JWKS through requests, which mock_aws intercepts (urllib it does not)."""
    answer = requests.get(url, timeout=5)
    answer.raise_for_status()
    return answer.json()


def make_pool(idp: Any, dynamodb: Any, revocations: str = REVOCATIONS) -> Pool:
    pool_id = idp.create_user_pool(**cognito_pool.user_pool("nailfolio"))["UserPool"]["Id"]
    client = idp.create_user_pool_client(**cognito_pool.app_client(pool_id))
    for group in cognito_pool.groups(pool_id):
        idp.create_group(**group)
    client_id = client["UserPoolClient"]["ClientId"]
    dynamodb.create_table(**revocation_table(revocations))
    dynamodb.update_time_to_live(**revocation_time_to_live(revocations))
    return Pool(pool_id, client_id)


@contextmanager
def cognito_backend() -> Iterator[CognitoIdentity]:
    """A CognitoIdentity on a fresh pool, inside mock_aws."""
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        pool = make_pool(idp, dynamodb)
        verifier = cognito_verifier(
            pool.jwks_url, pool.issuer, pool.client_id, fetch=fetch_with_requests
        )
        with CognitoIdentity(
            idp, pool.pool_id, pool.client_id, verifier, dynamodb, REVOCATIONS
        ) as identity:
            yield identity
