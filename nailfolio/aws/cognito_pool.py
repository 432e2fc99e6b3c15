"""The user pool CognitoIdentity expects, as CreateUserPool / CreateUserPoolClient parameters,
so the tests and the deployment make exactly the same pool (as nailfolio.aws.dynamodb does
for the tables).

- Users sign in by email (UsernameAttributes), verified by Cognito's emailed code.
- The web form's app client has no secret (a browser cannot keep one), signs in with
  USER_PASSWORD_AUTH from the API and renews with refresh tokens valid 30 days, hides whether
  an account exists (PreventUserExistenceErrors), and lets ID tokens carry `email` and
  `name` (the name is the comment's author).
- One group per role (nailfolio.identity.provider.ROLES).
"""

from __future__ import annotations

from typing import Any

from nailfolio.identity.provider import ROLES

REFRESH_TOKEN_DAYS = 30


def user_pool(name: str) -> dict[str, Any]:
    """CreateUserPool parameters. The Lite plan: everything the studio uses (email sign-in,
    groups, refresh tokens) at a third of Essentials' price per user beyond the free 10,000."""
    return {
        "PoolName": name,
        "UsernameAttributes": ["email"],
        "AutoVerifiedAttributes": ["email"],
        "UserPoolTier": "LITE",
    }


def app_client(pool_id: str, name: str = "nailfolio-web") -> dict[str, Any]:
    """CreateUserPoolClient parameters of the web form's client."""
    return {
        "UserPoolId": pool_id,
        "ClientName": name,
        "GenerateSecret": False,
        "ReadAttributes": ["email", "name"],
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        "RefreshTokenValidity": REFRESH_TOKEN_DAYS,
        "TokenValidityUnits": {"RefreshToken": "days"},
        "PreventUserExistenceErrors": "ENABLED",
    }


def groups(pool_id: str) -> list[dict[str, Any]]:
    """CreateGroup parameters, one per role."""
    return [{"UserPoolId": pool_id, "GroupName": role} for role in ROLES]
