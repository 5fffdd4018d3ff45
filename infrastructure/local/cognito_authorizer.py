"""API Gateway's Cognito user pool authorizer, played locally.

A REST API whose `Auth.DefaultAuthorizer` is a Cognito authorizer lets a request through when its
`Authorization` header carries an access token of that user pool: RS256-signed by one of the keys the
pool publishes (its JWKS), issued by the pool (`iss`), not expired, an access token (`token_use`),
issued to one of the pool's app clients (`client_id`) and holding one of the scopes the authorizer
accepts (`AuthorizationScopes`). This module checks exactly that against the embedded AWS, which
serves the pool's JWKS at `/<pool id>/.well-known/jwks.json` as Cognito does at the issuer's URL.

The keys and the pool's app clients are fetched on the first token and kept: the local stack creates
every app client when it provisions the template, before any request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import requests
from botocore.exceptions import BotoCoreError, ClientError
from joserfc import jwt
from joserfc.errors import BadSignatureError, DecodeError, JoseError, UnsupportedAlgorithmError
from joserfc.jwk import KeySet

from infrastructure.local.provision import ProvisionedStack
from infrastructure.local.template import TemplateError

_API = "AWS::Serverless::Api"
_SIGNING_ALGORITHM = "RS256"
_BEARER = "bearer "
_JWKS_TIMEOUT_S = 10


class TokenRejected(Exception):
    """A token the authorizer refuses; the message says why, for the 401's body."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthorizerUnavailable(Exception):
    """The user pool's keys or app clients could not be read (the embedded AWS is down): a 503, not a 401."""


def issuer_url(region: str, user_pool_id: str) -> str:
    """The `iss` of the pool's tokens (on AWS and locally alike)."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


class CognitoAuthorizer:
    """Checks bearer tokens as the API's Cognito authorizer does; `verify` answers the token's claims."""

    def __init__(
        self,
        user_pool_id: str,
        region: str,
        scopes: Collection[str],
        *,
        cognito: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not scopes:
            raise ValueError("a Cognito authorizer that accepts access tokens needs AuthorizationScopes")
        self.user_pool_id = user_pool_id
        self.region = region
        self.scopes = frozenset(scopes)
        self._cognito = cognito or boto3.client("cognito-idp", region_name=region)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._client_ids: frozenset[str] | None = None

    @property
    def issuer(self) -> str:
        return issuer_url(self.region, self.user_pool_id)

    @property
    def jwks_url(self) -> str:
        """Where the pool's public keys are: under the issuer on AWS, under the embedded AWS locally."""
        return f"{str(self._cognito.meta.endpoint_url).rstrip('/')}/{self.user_pool_id}/.well-known/jwks.json"

    def verify(self, authorization: str) -> dict[str, Any]:
        """The claims of the access token in an `Authorization: Bearer <token>` header's value."""
        if authorization[: len(_BEARER)].lower() != _BEARER or not authorization[len(_BEARER):].strip():
            raise TokenRejected("the Authorization header must be 'Bearer <access token>'")
        token = self._decode(authorization[len(_BEARER):].strip())
        claims = dict(token.claims)
        self._check_claims(claims)
        return claims

    def _decode(self, value: str) -> jwt.Token:
        try:
            return jwt.decode(value, self._key_set(), algorithms=[_SIGNING_ALGORITHM])
        except UnsupportedAlgorithmError:
            raise TokenRejected(f"the access token must be signed with {_SIGNING_ALGORITHM}") from None
        except BadSignatureError:
            raise TokenRejected("the access token's signature does not verify against the user pool's keys") from None
        except (DecodeError, ValueError):
            raise TokenRejected("the access token is not a well-formed JWT") from None
        except JoseError as exc:  # e.g. a kid the pool does not publish
            raise TokenRejected(f"the access token is not signed by a key of the user pool ({exc.error})") from None

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.issuer:
            raise TokenRejected(
                f"the token was issued by {claims.get('iss')!r}, not this API's user pool {self.issuer}"
            )
        expires = claims.get("exp")
        if not isinstance(expires, int | float):
            raise TokenRejected("the token has no expiry (exp)")
        if expires <= self._clock():
            expired_at = datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds")
            raise TokenRejected(f"the access token expired at {expired_at}: sign in again")
        if claims.get("token_use") != "access":
            raise TokenRejected(f"this is an {claims.get('token_use')!r} token: send the access token")
        client_id = claims.get("client_id")
        if client_id not in self._pool_client_ids():
            raise TokenRejected(f"the access token was issued to {client_id!r}, not an app client of the user pool")
        granted = set(str(claims.get("scope") or "").split())
        if not granted & self.scopes:
            raise TokenRejected(
                f"the access token has none of the scopes this API accepts ({', '.join(sorted(self.scopes))})"
            )

    def _key_set(self) -> KeySet:
        with self._lock:
            if self._keys is None:
                try:
                    response = requests.get(self.jwks_url, timeout=_JWKS_TIMEOUT_S)
                    response.raise_for_status()
                    self._keys = KeySet.import_key_set(response.json())
                except (requests.RequestException, ValueError) as exc:
                    raise AuthorizerUnavailable(f"the user pool's keys could not be read from {self.jwks_url}: "
                                                f"{exc}") from exc
            return self._keys

    def _pool_client_ids(self) -> frozenset[str]:
        with self._lock:
            if self._client_ids is None:
                try:
                    paginator = self._cognito.get_paginator("list_user_pool_clients")
                    self._client_ids = frozenset(
                        client["ClientId"]
                        for page in paginator.paginate(UserPoolId=self.user_pool_id)
                        for client in page["UserPoolClients"]
                    )
                except (BotoCoreError, ClientError) as exc:
                    raise AuthorizerUnavailable(f"the user pool's app clients could not be listed: {exc}") from exc
            return self._client_ids


@dataclass(frozen=True)
class _AuthorizerSetting:
    api: str
    user_pool_arn: str
    scopes: tuple[str, ...]


def cognito_authorizers(stack: ProvisionedStack) -> dict[str, CognitoAuthorizer]:
    """The Cognito authorizer of each of the template's APIs that has one as its default, by the API's
    id (what `Route.api_id` holds). An API with IAM auth or none has no entry: locally it takes the
    stack's API key alone."""
    authorizers: dict[str, CognitoAuthorizer] = {}
    for setting in _authorizer_settings(stack):
        pool_id = setting.user_pool_arn.rpartition("/")[2]
        authorizers[stack.ref(setting.api)] = CognitoAuthorizer(pool_id, stack.region, setting.scopes)
    return authorizers


def _authorizer_settings(stack: ProvisionedStack) -> list[_AuthorizerSetting]:
    template = stack.template
    settings = []
    for api, resource in template.resources.items():
        if resource.get("Type") != _API:
            continue
        auth = stack.resolve((template.properties(api) or {}).get("Auth")) or {}
        default = auth.get("DefaultAuthorizer")
        if default in (None, "AWS_IAM", "NONE"):
            continue
        authorizer = (auth.get("Authorizers") or {}).get(default)
        if not isinstance(authorizer, Mapping) or "UserPoolArn" not in authorizer:
            raise TemplateError(
                f"{api}: DefaultAuthorizer {default} is not a Cognito user pool authorizer of its Authorizers "
                "(the only kind the local stack plays)"
            )
        scopes = tuple(str(scope) for scope in authorizer.get("AuthorizationScopes") or ())
        if not scopes:
            raise TemplateError(f"{api}: authorizer {default} needs AuthorizationScopes (access tokens carry scopes)")
        settings.append(_AuthorizerSetting(api, str(authorizer["UserPoolArn"]), scopes))
    return settings
