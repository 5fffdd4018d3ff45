"""Every route of every stand-in refuses a call without credentials, as the real APIs do: an adapter
that forgets its token on one call fails in our tests, not first in a seller's shop. The only
anonymous routes are the ones the real services leave open: token endpoints and pre-signed URLs."""

from __future__ import annotations

import importlib

import pytest
import requests
from werkzeug.routing import IntegerConverter, Map

from infrastructure.standins.registry import STANDINS

# (stand-in, endpoint): open on the real service too.
ANONYMOUS = {
    ("akeneo", "token"),  # client id and secret go in the body's Basic auth
    ("amazon", "token"),  # Login with Amazon: the refresh token is the credential
    ("amazon", "download"),  # getReportDocument's pre-signed S3 URL
    ("amazon", "upload"),  # createFeedDocument's pre-signed S3 URL
    ("ebay", "token"),
}

# eBay's Trading API answers HTTP 200 to everything; a refused token is an Ack of Failure.
REFUSED_IN_THE_BODY = {("ebay", "trading"): "<Ack>Failure</Ack>"}


def routes():
    for name, target in STANDINS.items():
        module, _, cls = target.partition(":")
        standin_class = getattr(importlib.import_module(module), cls)
        for rule in standin_class().rules():
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                if (name, rule.endpoint) not in ANONYMOUS:
                    yield pytest.param(name, rule.rule, method, id=f"{name}-{method}-{rule.endpoint}")


@pytest.fixture(scope="module")
def running():
    started = {}
    yield lambda name: started.get(name) or started.setdefault(name, _start(name))
    for standin in started.values():
        standin.stop()


def _start(name: str):
    module, _, cls = STANDINS[name].partition(":")
    return getattr(importlib.import_module(module), cls)().start()


@pytest.mark.parametrize(("name", "path", "method"), list(routes()))
def test_given_no_credentials_when_any_route_is_called_then_it_is_refused(running, name, path, method):
    standin = running(name)
    [rule] = [r for r in standin.rules() if r.rule == path and method in (r.methods or ())]
    routing = Map([rule])  # binding the rule names its arguments
    values = {argument: 1 if isinstance(rule._converters[argument], IntegerConverter) else "x"
              for argument in rule.arguments}
    url = routing.bind("127.0.0.1").build(rule.endpoint, values, method=method)

    answer = requests.request(method, f"{standin.url}{url}", json={}, timeout=10)

    if (name, rule.endpoint) in REFUSED_IN_THE_BODY:
        assert answer.status_code == 200 and REFUSED_IN_THE_BODY[name, rule.endpoint] in answer.text
    else:
        assert answer.status_code in (401, 403), f"{method} {url} answered {answer.status_code} without credentials"
