"""CognitoIdentity's own behaviour: the Cognito errors moto cannot produce (through botocore's
Stubber), the calls it makes, the JWKS fetch, and an import free of boto3."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from cryptography.hazmat.primitives.asymmetric import rsa
from moto_cognito import REGION

from nailfolio.aws.cognito_identity import CognitoIdentity, fetch_json
from nailfolio.errors import ConfigError, ServiceUnavailable
from nailfolio.identity.provider import (
    AlreadyConfirmed,
    ExpiredCode,
    IdentityError,
    InvalidCode,
    InvalidCredentials,
    TokenVerifier,
    TooManyAttempts,
    Unauthorized,
    UserNotFound,
    WeakPassword,
)
from nailfolio.local.signing_key import public_jwk

REPO = Path(__file__).resolve().parents[1]
EMAIL = "cora@example.com"
PASSWORD = "Polish-2025!"
UNREACHABLE = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)


@pytest.fixture(scope="module")
def verifier() -> TokenVerifier:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return TokenVerifier({"keys": [public_jwk(key)]}, "https://issuer.example", "client")


def _identity(client: Any, verifier: TokenVerifier) -> CognitoIdentity:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    return CognitoIdentity(client, "eu-west-1_pool", "client", verifier, dynamodb, "revoked")


CALLS: dict[str, tuple[str, Callable[[CognitoIdentity], Any]]] = {
    "sign_up": ("sign_up", lambda i: i.sign_up(EMAIL, PASSWORD)),
    "confirm": ("confirm_sign_up", lambda i: i.confirm_sign_up(EMAIL, "123456")),
    "resend": ("resend_confirmation_code", lambda i: i.resend_code(EMAIL)),
    "sign_in": ("initiate_auth", lambda i: i.sign_in(EMAIL, PASSWORD, "203.0.113.7")),
    "refresh": ("initiate_auth", lambda i: i.refresh("a-refresh-token")),
    "delete": ("admin_delete_user", lambda i: i.delete_user("some-sub")),
}
ERRORS = [
    ("sign_in", "TooManyRequestsException", "Too many requests", 400, ServiceUnavailable),
    ("sign_in", "InternalErrorException", "Internal error", 500, ServiceUnavailable),
    ("sign_in", "NotAuthorizedException", "Password attempts exceeded", 400, TooManyAttempts),
    ("sign_in", "NotAuthorizedException", "Incorrect password", 400, InvalidCredentials),
    ("sign_in", "UserNotFoundException", "User does not exist.", 400, InvalidCredentials),
    ("sign_in", "InvalidParameterException", "USER_PASSWORD_AUTH not enabled", 400, ConfigError),
    ("refresh", "NotAuthorizedException", "Refresh Token has expired", 400, Unauthorized),
    ("confirm", "CodeMismatchException", "Invalid verification code", 400, InvalidCode),
    ("confirm", "ExpiredCodeException", "Invalid code provided", 400, ExpiredCode),
    ("confirm", "UserNotFoundException", "Username/client id not found", 400, InvalidCode),
    ("confirm", "TooManyFailedAttemptsException", "Too many failed attempts", 400, TooManyAttempts),
    ("confirm", "NotAuthorizedException", "Current status is CONFIRMED", 400, AlreadyConfirmed),
    ("resend", "LimitExceededException", "Attempt limit exceeded", 400, TooManyAttempts),
    ("resend", "UserNotFoundException", "Username/client id not found", 400, UserNotFound),
    ("resend", "InvalidParameterException", "User is already confirmed.", 400, AlreadyConfirmed),
    ("resend", "CodeDeliveryFailureException", "Unable to deliver", 400, ServiceUnavailable),
    ("sign_up", "InvalidPasswordException", "Password not long enough", 400, WeakPassword),
    ("sign_up", "TooManyRequestsException", "Too many requests", 400, ServiceUnavailable),
    ("delete", "UserNotFoundException", "User does not exist.", 400, UserNotFound),
    ("delete", "ResourceNotFoundException", "User pool does not exist.", 400, ServiceUnavailable),
]


@pytest.mark.parametrize(
    ("call", "code", "message", "status", "expected"),
    ERRORS,
    ids=[f"{row[0]}-{row[1]}-{i}" for i, row in enumerate(ERRORS)],
)
def test_cognito_errors_become_the_ports_errors(
    verifier: TokenVerifier,
    call: str,
    code: str,
    message: str,
    status: int,
    expected: type[Exception],
) -> None:
    client = boto3.client("cognito-idp", region_name=REGION)
    method, run = CALLS[call]
    with Stubber(client) as stub:
        stub.add_client_error(method, code, message, status)
        with pytest.raises(expected) as raised:
            run(_identity(client, verifier))
    assert not isinstance(raised.value, ServiceUnavailable) or code in str(raised.value)


@pytest.mark.parametrize(
    ("call", "said"),
    [("sign_in", "sign-in attempts"), ("confirm", "tries at the code"), ("resend", "new codes")],
)
def test_a_lockout_says_what_was_tried_too_often(
    verifier: TokenVerifier, call: str, said: str
) -> None:
    client = boto3.client("cognito-idp", region_name=REGION)
    method, run = CALLS[call]
    with Stubber(client) as stub:
        stub.add_client_error(method, "LimitExceededException", "Attempt limit exceeded", 400)
        with pytest.raises(TooManyAttempts, match=f"too many {said}; try again in 300 s"):
            run(_identity(client, verifier))


def test_resend_code_asks_cognito_for_the_folded_email(verifier: TokenVerifier) -> None:
    client = boto3.client("cognito-idp", region_name=REGION)
    delivery = {"Destination": "c***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    with Stubber(client) as stub:
        stub.add_response(
            "resend_confirmation_code",
            {"CodeDeliveryDetails": delivery},
            {"ClientId": "client", "Username": EMAIL},
        )
        assert _identity(client, verifier).resend_code(" Cora@Example.COM ") is None
        stub.assert_no_pending_responses()


def test_confirm_sends_the_code_without_spaces(verifier: TokenVerifier) -> None:
    client = boto3.client("cognito-idp", region_name=REGION)
    with Stubber(client) as stub:
        expected = {"ClientId": "client", "Username": EMAIL, "ConfirmationCode": "123456"}
        stub.add_response("confirm_sign_up", {}, expected)
        _identity(client, verifier).confirm_sign_up(EMAIL, " 123 456 ")
        stub.assert_no_pending_responses()
    with pytest.raises(InvalidCode):
        _identity(client, verifier).confirm_sign_up(EMAIL, "   ")  # never sent


def test_a_challenge_the_site_cannot_meet_is_an_identity_error(verifier: TokenVerifier) -> None:
    client = boto3.client("cognito-idp", region_name=REGION)
    with Stubber(client) as stub:
        answer = {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "s" * 20}
        stub.add_response("initiate_auth", answer)
        with pytest.raises(IdentityError, match="NEW_PASSWORD_REQUIRED"):
            _identity(client, verifier).sign_in(EMAIL, PASSWORD, "203.0.113.7")


def test_unreachable_cognito_is_service_unavailable(verifier: TokenVerifier) -> None:
    client = boto3.client("cognito-idp", endpoint_url="http://127.0.0.1:9", config=UNREACHABLE)
    with pytest.raises(ServiceUnavailable, match="Cognito InitiateAuth failed"):
        _identity(client, verifier).sign_in(EMAIL, PASSWORD, "203.0.113.7")


def test_jwks_fetch_failures_are_library_errors() -> None:
    with pytest.raises(ServiceUnavailable, match="cannot fetch the JWKS"):
        fetch_json("http://127.0.0.1:9/pool/.well-known/jwks.json", timeout=1)
    with pytest.raises(ConfigError, match="http"):
        fetch_json("file:///etc/passwd")


def test_importing_the_adapter_does_not_import_boto3() -> None:
    code = (
        "import sys\n"
        "import nailfolio.aws.cognito_identity\n"
        "assert not {'boto3', 'botocore'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, cwd=REPO)


def test_jwks_url_and_issuer_are_two_settings_on_motos_server() -> None:
    """moto's server serves the JWKS at its own address while `iss` keeps the AWS form: the
    default fetch (urllib) reads it there and the AWS issuer still verifies."""
    from moto.server import ThreadedMotoServer
    from moto_cognito import REVOCATIONS, make_pool

    from nailfolio.aws.cognito_identity import cognito_verifier

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=endpoint)
        dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        pool = make_pool(idp, dynamodb)
        jwks_url = f"{endpoint}/{pool.pool_id}/.well-known/jwks.json"
        verifier = cognito_verifier(jwks_url, pool.issuer, pool.client_id)
        identity = CognitoIdentity(
            idp, pool.pool_id, pool.client_id, verifier, dynamodb, REVOCATIONS
        )
        identity.sign_up(EMAIL, PASSWORD)
        identity.confirm_sign_up(EMAIL, "123456")
        token = identity.sign_in(EMAIL, PASSWORD, "127.0.0.1").id_token
        assert identity.verify(token).email == EMAIL
        assert pool.issuer.startswith("https://cognito-idp.eu-west-1.amazonaws.com/")
    finally:
        server.stop()
