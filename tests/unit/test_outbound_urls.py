"""Channel and PIM URLs: public HTTPS hosts only, so a seller's settings cannot make our functions
call inside AWS (instance metadata, the VPC); loopback only where the local stack allows it."""

from __future__ import annotations

import pytest

from stocksync.channels.types import ChannelType, validate_settings
from stocksync.core.errors import InvalidInput
from stocksync.core.urls import ALLOW_LOOPBACK, outbound_url_problem
from stocksync.pim.akeneo import AkeneoCredentials

REFUSED = [
    "http://shop.example.com",  # plain http
    "https://169.254.169.254/latest/meta-data/",  # the instance metadata service
    "https://[fd00:ec2::254]/",  # its IPv6 address
    "https://metadata.google.internal/",
    "https://10.0.0.5/", "https://192.168.1.1/", "https://172.16.3.4/",  # private networks
    "https://127.0.0.1:8443/", "https://localhost/", "https://[::1]/",  # the function itself
    "https://0.0.0.0/", "https://intranet/",  # unroutable, a bare internal name
]


@pytest.fixture
def on_aws(monkeypatch):
    monkeypatch.delenv(ALLOW_LOOPBACK, raising=False)


@pytest.mark.parametrize("url", REFUSED)
def test_given_a_url_inside_the_network_when_a_channel_is_saved_on_aws_then_it_is_refused_saying_why(on_aws, url):
    with pytest.raises(InvalidInput) as refused:
        validate_settings(ChannelType.MAGENTO, {"base_url": url})

    assert refused.value.details[0]["field"] == "settings.base_url"
    assert outbound_url_problem(url)


@pytest.mark.parametrize("url", REFUSED[:3])
def test_given_a_pim_url_inside_the_network_when_saved_on_aws_then_it_is_refused(on_aws, url):
    with pytest.raises(ValueError, match="url"):
        AkeneoCredentials(url=url, client_id="a", client_secret="b", username="c", password="d")


def test_given_public_https_urls_when_saved_on_aws_then_they_are_kept(on_aws):
    assert validate_settings(ChannelType.MAGENTO, {"base_url": "https://shop.example.com/"})["base_url"]
    assert outbound_url_problem("https://pixmania-prod.mirakl.net") is None
    assert outbound_url_problem("https://93.184.215.14/") is None


def test_given_the_local_stack_when_a_stand_in_url_is_saved_then_loopback_http_is_allowed_and_nothing_else(
        monkeypatch):
    monkeypatch.setenv(ALLOW_LOOPBACK, "1")

    assert outbound_url_problem("http://127.0.0.1:8101") is None
    assert outbound_url_problem("http://10.0.0.5/") is not None
    assert outbound_url_problem("https://169.254.169.254/") is not None
