"""The Magento stand-in checks OAuth 1.0a as Magento does, driven by oauthlib's own client (not our
adapter's signing): a good signature passes; another consumer secret or token, a timestamp more
than 10 minutes ahead or a nonce used before is refused with 401."""

from __future__ import annotations

import time

import pytest
import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, Client

from infrastructure.standins import magento

PRODUCTS = "/rest/default/V1/products?searchCriteria%5BpageSize%5D=5&searchCriteria%5BcurrentPage%5D=1"


@pytest.fixture(scope="module")
def running():
    with magento.MagentoStandIn() as standin:
        yield standin


def signed_get(running, *, method=SIGNATURE_HMAC_SHA256, **changes) -> requests.Response:
    given = {"client_key": magento.OAUTH_CONSUMER_KEY, "client_secret": magento.OAUTH_CONSUMER_SECRET,
             "resource_owner_key": magento.ACCESS_TOKEN, "resource_owner_secret": magento.OAUTH_TOKEN_SECRET,
             **changes}
    url = f"{running.url}{PRODUCTS}"
    _url, headers, _body = Client(signature_method=method, **given).sign(url, http_method="GET")
    return requests.get(url, headers=headers, timeout=10)


@pytest.mark.parametrize("method", [SIGNATURE_HMAC_SHA256, SIGNATURE_HMAC_SHA1])
def test_given_a_signature_by_the_integrations_credentials_when_called_then_magento_answers(running, method):
    answer = signed_get(running, method=method)

    assert answer.status_code == 200 and answer.json()["total_count"] > 0


@pytest.mark.parametrize("changes", [
    {"client_secret": "another-secret"},
    {"resource_owner_secret": "another-token-secret"},
    {"resource_owner_key": "another-token"},
    {"client_key": "another-consumer"},
    {"timestamp": str(int(time.time()) + 3600)},
], ids=["consumer-secret", "token-secret", "token", "consumer", "timestamp-ahead"])
def test_given_a_wrong_credential_or_timestamp_when_called_then_401(running, changes):
    assert signed_get(running, **changes).status_code == 401


def test_given_a_nonce_used_before_when_called_again_then_401(running):
    assert signed_get(running, nonce="once-only").status_code == 200

    assert signed_get(running, nonce="once-only").status_code == 401
