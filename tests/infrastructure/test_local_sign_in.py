"""Signing in locally: the demo seller signs in with Cognito's InitiateAuth on the embedded AWS, as the
console does, and the local API gateway takes the access token as API Gateway's Cognito authorizer
would (signature, issuer, expiry, token use, app client, scope), refusing anything else with a 401."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from moto.utilities.utils import load_resource

from infrastructure.local.runner import Runner
from infrastructure.local.sign_in import SignIn, demo_sign_in

PASSWORD = "Harbor-Quartz-4821"


def _initiate_auth(sign_in: SignIn, flow: str, parameters: dict[str, str]) -> requests.Response:
    """What the console POSTs, exactly: Cognito's JSON protocol, to the configured endpoint."""
    return requests.post(
        sign_in.endpoint,
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
        data=json.dumps({"AuthFlow": flow, "ClientId": sign_in.client_id, "AuthParameters": parameters}),
        timeout=10,
    )


@pytest.fixture(scope="module")
def sign_in(api_runner: Runner, aws_endpoint: str) -> SignIn:
    return demo_sign_in(api_runner.stack, aws_endpoint, password=PASSWORD)


@pytest.fixture(scope="module")
def tokens(sign_in: SignIn) -> dict[str, Any]:
    response = _initiate_auth(sign_in, "USER_PASSWORD_AUTH", {"USERNAME": sign_in.username, "PASSWORD": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["AuthenticationResult"]


@pytest.fixture(scope="module")
def claims(tokens: dict[str, Any]) -> dict[str, Any]:
    return dict(jwt.decode(tokens["AccessToken"], _moto_key()).claims)


def _moto_key() -> RSAKey:
    """The key the embedded AWS signs every user pool's tokens with (what its JWKS publishes)."""
    return RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


def _forged(claims: dict[str, Any], key: RSAKey | None = None, **changes: Any) -> str:
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, {**claims, **changes}, key or _moto_key())


def _get(runner: Runner, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{runner.api_url}/items/42", headers=headers, timeout=10)


def test_given_the_demo_seller_when_signed_in_as_the_console_does_then_the_api_takes_the_access_token(
        api_runner: Runner, sign_in: SignIn, tokens: dict[str, Any]) -> None:
    response = _get(api_runner, {"Authorization": f"Bearer {tokens['AccessToken']}"})

    assert response.status_code == 200
    passed = response.json()["event"]["requestContext"]["authorizer"]["claims"]
    assert passed["client_id"] == sign_in.client_id
    assert passed["token_use"] == "access"
    assert sign_in.console_config() == {"region": "eu-west-1", "userPoolId": sign_in.user_pool_id,
                                        "clientId": sign_in.client_id, "endpoint": sign_in.endpoint}


def test_given_a_refresh_token_when_refreshed_then_the_new_access_token_is_taken(
        api_runner: Runner, sign_in: SignIn, tokens: dict[str, Any]) -> None:
    refreshed = _initiate_auth(sign_in, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": tokens["RefreshToken"]})

    assert refreshed.status_code == 200
    access_token = refreshed.json()["AuthenticationResult"]["AccessToken"]
    assert _get(api_runner, {"Authorization": f"Bearer {access_token}"}).status_code == 200


def test_given_a_wrong_password_when_signing_in_then_cognito_refuses(sign_in: SignIn) -> None:
    response = _initiate_auth(sign_in, "USER_PASSWORD_AUTH", {"USERNAME": sign_in.username, "PASSWORD": "nope"})

    assert response.status_code == 400
    assert response.json()["__type"] == "NotAuthorizedException"


def _rejections(claims: dict[str, Any], tokens: dict[str, Any]) -> Iterator[tuple[str, dict[str, str], str]]:
    yield "none", {}, "Bearer"
    yield "not bearer", {"Authorization": f"Basic {tokens['AccessToken']}"}, "Bearer <access token>"
    yield "not a JWT", {"Authorization": "Bearer not.a.jwt"}, "well-formed"
    yield "expired", {"Authorization": f"Bearer {_forged(claims, exp=int(time.time()) - 60)}"}, "expired at"
    other_key = RSAKey.generate_key(2048, parameters={"kid": "dummy"})
    yield "another key", {"Authorization": f"Bearer {_forged(claims, other_key)}"}, "signature"
    yield "another client", {"Authorization": f"Bearer {_forged(claims, client_id='someone-else')}"}, "app client"
    yield "id token", {"Authorization": f"Bearer {tokens['IdToken']}"}, "send the access token"
    other_pool = claims["iss"].rsplit("/", 1)[0] + "/eu-west-1_other"
    yield "another pool", {"Authorization": f"Bearer {_forged(claims, iss=other_pool)}"}, "not this API's user pool"
    yield "no scope", {"Authorization": f"Bearer {_forged(claims, scope='openid')}"}, "scopes"
    hmac_signed = jwt.encode({"alg": "HS256", "kid": "dummy"}, claims, OctKey.import_key("a shared secret"))
    yield "HS256", {"Authorization": f"Bearer {hmac_signed}"}, "signed with RS256"
    unknown_kid = jwt.encode({"alg": "RS256", "kid": "elsewhere"}, claims, _moto_key())
    yield "unknown key id", {"Authorization": f"Bearer {unknown_kid}"}, "not signed by a key of the user pool"


@pytest.mark.parametrize("case", ["none", "not bearer", "not a JWT", "expired", "another key", "another client",
                                  "id token", "another pool", "no scope", "HS256", "unknown key id"])
def test_given_a_token_the_authorizer_would_refuse_when_called_then_401_saying_why(
        api_runner: Runner, claims: dict[str, Any], tokens: dict[str, Any], case: str) -> None:
    headers, reason = next((headers, reason) for name, headers, reason in _rejections(claims, tokens) if name == case)

    response = _get(api_runner, headers)

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert reason in error["message"]


def test_given_the_api_key_when_called_without_a_token_then_served(api_runner: Runner, api_key: str) -> None:
    assert _get(api_runner, {"x-api-key": api_key}).status_code == 200


def test_given_a_token_when_called_under_the_stage_then_served(api_runner: Runner, tokens: dict[str, Any]) -> None:
    response = requests.get(f"{api_runner.api_url}/test/items/42",
                            headers={"Authorization": f"Bearer {tokens['AccessToken']}"}, timeout=10)

    assert response.status_code == 200
