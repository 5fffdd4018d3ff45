"""The shared HTTP client: what is retried, how long it waits, what each failure becomes."""

from __future__ import annotations

import pytest
import requests

from stocksync.core.http_client import (
    CachedToken,
    HttpClient,
    RemoteAuthError,
    RemoteRequestError,
    RemoteThrottled,
    RemoteUnreachable,
    RetryPolicy,
    TokenCache,
)


class FakeSession(requests.Session):
    """Answers each request with the next scripted (status, headers) or exception."""

    def __init__(self, script):
        super().__init__()
        self.script = list(script)
        self.calls = 0

    def request(self, method, url, **kwargs):
        self.calls += 1
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, headers = step
        response = requests.Response()
        response.status_code, response.url = status, url
        response.headers.update(headers)
        response._content = b'{"message": "scripted"}'
        return response


def _client(script, waits, throttle_wait=None):
    return HttpClient("https://api.example", session=FakeSession(script), throttle_wait=throttle_wait,
                      policy=RetryPolicy(max_attempts=3, base_delay=0.1, sleep=waits.append))


def per_second(response):
    """A service's own throttle header: its rate in requests per second."""
    return 1 / float(response.headers["X-Rate"]) if "X-Rate" in response.headers else None


def test_given_a_throttle_then_success_when_called_then_it_waits_what_retry_after_asked():
    waits = []
    client = _client([(429, {"Retry-After": "7"}), (200, {})], waits)

    assert client.request("GET", "/things").status_code == 200
    assert waits == [7.0]


def test_given_throttling_that_never_ends_when_called_then_throttled_error_carries_retry_after():
    waits = []
    client = _client([(429, {"Retry-After": "2"})] * 3, waits)

    with pytest.raises(RemoteThrottled) as raised:
        client.request("GET", "/things")

    assert raised.value.retry_after == 2.0
    assert raised.value.retryable
    assert len(waits) == 2


def test_given_a_retry_after_longer_than_the_policy_allows_when_called_then_throttled_at_once_without_sleeping():
    waits = []
    client = _client([(429, {"Retry-After": "180"}), (200, {})], waits)

    with pytest.raises(RemoteThrottled) as raised:
        client.request("GET", "/things")

    assert raised.value.retry_after == 180.0 and waits == []


def test_given_a_throttle_naming_its_rate_not_retry_after_when_called_then_it_waits_what_the_service_reads():
    waits = []
    client = _client([(429, {"X-Rate": "4"}), (200, {})], waits, throttle_wait=per_second)

    assert client.request("GET", "/things").status_code == 200
    assert waits == [0.25]


def test_given_a_throttle_whose_rate_asks_longer_than_the_policy_allows_then_throttled_at_once_with_that_wait():
    waits = []
    client = _client([(429, {"X-Rate": "0.0222"}), (200, {})], waits, throttle_wait=per_second)

    with pytest.raises(RemoteThrottled) as raised:
        client.request("GET", "/things")

    assert raised.value.retry_after == pytest.approx(45.05, abs=0.01) and waits == []


def test_given_retry_after_and_the_services_own_header_when_throttled_then_retry_after_wins():
    waits = []
    client = _client([(429, {"Retry-After": "3", "X-Rate": "4"}), (200, {})], waits, throttle_wait=per_second)

    assert client.request("GET", "/things").status_code == 200
    assert waits == [3.0]


def test_given_throttles_that_name_no_wait_when_every_try_is_throttled_then_the_caller_is_asked_to_wait_a_minute():
    client = _client([(429, {})] * 3, [], throttle_wait=per_second)

    with pytest.raises(RemoteThrottled) as raised:
        client.request("GET", "/things")

    assert raised.value.retry_after == 60.0


def test_given_a_server_error_with_the_services_throttle_header_when_called_then_it_is_retried_as_a_server_error():
    waits = []
    client = _client([(503, {"X-Rate": "0.0222"}), (200, {})], waits, throttle_wait=per_second)

    assert client.request("GET", "/things").status_code == 200  # the rate speaks of throttles only
    assert len(waits) == 1 and waits[0] <= 0.1


def test_given_bad_credentials_when_called_then_auth_error_at_once():
    waits = []
    client = _client([(401, {})], waits)
    with pytest.raises(RemoteAuthError):
        client.request("GET", "/things")
    assert waits == []


def test_given_a_refused_request_when_called_then_request_error_with_body_and_no_retry():
    client = _client([(400, {})], [])
    with pytest.raises(RemoteRequestError) as raised:
        client.request("POST", "/things")
    assert "scripted" in raised.value.body
    assert not raised.value.retryable


def test_given_connection_errors_when_every_attempt_fails_then_unreachable():
    client = _client([requests.ConnectionError("refused")] * 3, [])
    with pytest.raises(RemoteUnreachable):
        client.request("GET", "/things")


def test_given_a_status_the_caller_accepts_when_called_then_it_is_returned():
    assert _client([(404, {})], []).request("GET", "/x", ok=[404]).status_code == 404


def test_given_a_cached_token_when_asked_again_then_it_is_not_fetched_twice():
    cache, fetched = TokenCache(), []

    def fetch(previous):
        fetched.append(previous)
        return CachedToken(f"token-{len(fetched)}", expires_at=10**12, refresh_token="r")

    assert cache.get("k", fetch) == "token-1"
    assert cache.get("k", fetch) == "token-1"
    cache.forget("k")
    assert cache.get("k", fetch) == "token-2"
    assert fetched[1].refresh_token == "r"
