"""The Akeneo REST API client, on the shared HttpClient (retries, backoff, Retry-After, typed errors).

- OAuth2 password grant at /api/oauth/v1/token with the client id and secret as Basic credentials;
  tokens cached per connection and renewed with the refresh token (a password grant again when the
  refresh token is refused); a 401 in the middle of a run forgets the token and retries once.
- At most 4 calls in flight per connection (Akeneo's limit); a 429 waits as long as Retry-After says.
- Products are read with `search_after` pagination, 100 a page, from /products-uuid on a PIM that
  has it (7.0 and the SaaS editions) and from /products before that.

Credentials are never logged: errors carry the URL and status, never the request.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, field_validator

from stocksync.core.errors import PimError
from stocksync.core.http_client import (
    CachedToken,
    HttpClient,
    RemoteAuthError,
    RemoteError,
    RemoteRequestError,
    RemoteUnreachable,
    RetryPolicy,
    TokenCache,
)
from stocksync.core.observability import logger
from stocksync.core.urls import outbound_url_problem

TOKEN_PATH = "/api/oauth/v1/token"  # noqa: S105 - a path, not a secret
API = "/api/rest/v1"
MAX_CONCURRENT_CALLS = 4
PAGE_LIMIT = 100
PRODUCTS = "products"
PRODUCTS_UUID = "products-uuid"
UPDATED_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_TOKEN_LIFE_S = 3600


class AkeneoCredentials(BaseModel):
    """What an Akeneo connection (System > Connections, flow type Destination) gives a connector."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    url: str = Field(min_length=1, max_length=500, pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
                     description="The Akeneo URL, e.g. https://example.cloud.akeneo.com: public, HTTPS")
    client_id: str = Field(min_length=1, max_length=500, description="As Akeneo shows it: printable ASCII")
    client_secret: str = Field(min_length=1, max_length=500, repr=False,
                               description="As Akeneo shows it: printable ASCII")
    username: str = Field(min_length=1, max_length=500)
    password: str = Field(min_length=1, max_length=500, repr=False)

    @field_validator("url")
    @classmethod
    def _public(cls, url: str) -> str:
        problem = outbound_url_problem(url)
        if problem:
            raise ValueError(problem)
        return url

    @field_validator("client_id", "client_secret")
    @classmethod
    def _as_akeneo_generates_them(cls, value: str) -> str:
        # Both go into the token request's Basic Authorization header, which carries Latin-1 only;
        # Akeneo generates them as printable ASCII, so anything else was not copied whole.
        if not value.isascii() or not value.isprintable() or " " in value:
            raise ValueError("must be printable ASCII without spaces, exactly as Akeneo shows it")
        return value


@dataclass(frozen=True)
class PimVersion:
    version: str | None
    edition: str | None
    products_api: str


def products_api_for(version: str | None, edition: str | None) -> str:
    """/products-uuid exists from 7.0 and on the SaaS editions (Serenity, Growth, GE: dated versions)."""
    if edition and edition.strip().lower() in {"serenity", "ge", "growth", "growth edition"}:
        return PRODUCTS_UUID
    match = re.match(r"^v?(\d+)", version or "")
    if not match:
        return PRODUCTS
    major = int(match.group(1))
    return PRODUCTS_UUID if major >= 7 else PRODUCTS  # dated SaaS versions (20210521...) are >= 7 too


def product_search(categories: list[str], updated_since: datetime | None) -> dict[str, Any]:
    """The `search` filter: products in the categories or their children, updated after a time (UTC)."""
    search: dict[str, Any] = {}
    if categories:
        search["categories"] = [{"operator": "IN CHILDREN", "value": list(categories)}]
    if updated_since is not None:
        search["updated"] = [{"operator": ">", "value": updated_since.strftime(UPDATED_FORMAT)}]
    return search


class AkeneoClient:
    def __init__(self, credentials: AkeneoCredentials, *, tokens: TokenCache, policy: RetryPolicy | None = None,
                 products_api: str | None = None) -> None:
        self.credentials = credentials
        self.tokens = tokens
        self.http = HttpClient(credentials.url, policy=policy, max_concurrent=MAX_CONCURRENT_CALLS)
        self.token_key = "akeneo:" + hashlib.sha256(
            f"{credentials.url}|{credentials.client_id}|{credentials.username}".encode()).hexdigest()
        self._products_api = products_api
        self.token_renewals = 0  # 401s answered by a new token (for the run's log)

    # --- authentication ------------------------------------------------------------------

    def authenticate(self) -> None:
        """A fresh password grant: proves the URL and the four credentials (Test Connection)."""
        self.tokens.forget(self.token_key)
        self.tokens.get(self.token_key, lambda _previous: self._password_grant())

    def _fetch_token(self, previous: CachedToken | None) -> CachedToken:
        if previous and previous.refresh_token:
            try:
                return self._grant({"grant_type": "refresh_token", "refresh_token": previous.refresh_token})
            except (RemoteAuthError, RemoteRequestError):
                logger.info("Akeneo refused the refresh token; logging in again")
        return self._password_grant()

    def _password_grant(self) -> CachedToken:
        return self._grant({"grant_type": "password", "username": self.credentials.username,
                            "password": self.credentials.password})

    def _grant(self, body: dict[str, str]) -> CachedToken:
        response = self.http.request("POST", TOKEN_PATH, data=json.dumps(body),
                                     auth=(self.credentials.client_id, self.credentials.client_secret),
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            payload = response.json()
            access_token = payload["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise PimError("No Akeneo API answers at this URL (the token endpoint gave no token)",
                           problem="bad_url") from exc
        expires_in = payload.get("expires_in") or DEFAULT_TOKEN_LIFE_S
        return CachedToken(str(access_token), time.monotonic() + float(expires_in), payload.get("refresh_token"))

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An authenticated call. A 401 (token expired or revoked) gets one new token and one retry."""
        headers = kwargs.pop("headers", {})
        for attempt in range(2):
            token = self.tokens.get(self.token_key, self._fetch_token)
            try:
                return self.http.request(method, path, headers={**headers, "Authorization": f"Bearer {token}"},
                                         **kwargs)
            except RemoteAuthError as exc:
                if exc.status != 401 or attempt:
                    raise
                self.tokens.forget(self.token_key)
                self.token_renewals += 1
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = self._call("GET", path, params=params, headers={"Accept": "application/json"})
        try:
            return response.json()
        except ValueError as exc:
            raise PimError(f"Akeneo answered {path} with something that is not JSON", problem="bad_url") from exc

    # --- version -------------------------------------------------------------------------

    def version(self) -> PimVersion:
        """The PIM's version and edition (/system-information, 6.0+; absent before: /products). Akeneo
        serves it behind OAuth like every other route but the API root and the token endpoint."""
        try:
            response = self._call("GET", f"{API}/system-information", headers={"Accept": "application/json"})
            info = response.json()
        except (RemoteRequestError, ValueError):
            info = {}
        version, edition = info.get("version"), info.get("edition")
        return PimVersion(version, edition, products_api_for(version, edition))

    @property
    def products_api(self) -> str:
        if self._products_api is None:
            self._products_api = self.version().products_api
        return self._products_api

    # --- reference data ------------------------------------------------------------------

    def _all(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, 100 a page (page numbers only: next links are not followed
        to wherever they point, so a token never leaves the PIM's host)."""
        page = 1
        while True:
            body = self._get_json(path, {**(params or {}), "limit": PAGE_LIMIT, "page": page})
            yield from (body.get("_embedded") or {}).get("items") or []
            if not (body.get("_links") or {}).get("next"):
                return
            page += 1

    def channels(self) -> list[dict[str, Any]]:
        return list(self._all(f"{API}/channels"))

    def locales(self) -> list[dict[str, Any]]:
        search = json.dumps({"enabled": [{"operator": "=", "value": True}]})
        return [locale for locale in self._all(f"{API}/locales", {"search": search}) if locale.get("enabled", True)]

    def categories(self) -> list[dict[str, Any]]:
        return list(self._all(f"{API}/categories"))

    def attributes(self) -> list[dict[str, Any]]:
        return list(self._all(f"{API}/attributes"))

    # --- products --------------------------------------------------------------------------

    def products_page(self, search: dict[str, Any], *, scope: str | None = None, locale: str | None = None,
                      search_after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of products (100) and the cursor of the next page (None on the last)."""
        params: dict[str, Any] = {"pagination_type": "search_after", "limit": PAGE_LIMIT}
        if scope:
            params["scope"] = scope
        if locale:
            params["locales"] = locale
        if search:
            params["search"] = json.dumps(search)
        if search_after:
            params["search_after"] = search_after
        body = self._get_json(f"{API}/{self.products_api}", params)
        items = (body.get("_embedded") or {}).get("items") or []
        next_link = ((body.get("_links") or {}).get("next") or {}).get("href")
        return items, _search_after_of(next_link)

    def count_products(self, search: dict[str, Any]) -> int:
        """How many products the filter selects: `with_count`, or paging through when it is not given."""
        params: dict[str, Any] = {"limit": 1, "with_count": "true"}
        if search:
            params["search"] = json.dumps(search)
        body = self._get_json(f"{API}/{self.products_api}", params)
        if isinstance(body.get("items_count"), int):
            return body["items_count"]
        total, cursor = 0, None
        while True:
            items, cursor = self.products_page(search, search_after=cursor)
            total += len(items)
            if not cursor:
                return total

    def download_media(self, code: str) -> requests.Response:
        """A product media file, streamed (read `.raw` or `.iter_content`, then close it)."""
        return self._call("GET", f"{API}/media-files/{quote(code, safe='/')}/download", stream=True)


def _search_after_of(next_link: str | None) -> str | None:
    if not next_link:
        return None
    values = parse_qs(urlsplit(next_link).query).get("search_after")
    return values[0] if values else None


def problem_of(error: Exception) -> tuple[str, str]:
    """(problem, message) for a connection test: bad_url, bad_credentials, unreachable or error."""
    if isinstance(error, PimError):
        return error.problem, error.message
    if isinstance(error, RemoteUnreachable):
        return "unreachable", "The Akeneo URL could not be reached (no answer from the server)"
    if isinstance(error, RemoteAuthError | RemoteRequestError) and error.status in (404, 405):
        return "bad_url", "No Akeneo API answers at this URL"
    if isinstance(error, RemoteAuthError | RemoteRequestError) and error.status in (400, 401, 403, 422):
        return "bad_credentials", "Akeneo refused the client id, client secret, username or password"
    if isinstance(error, RemoteError):
        return "error", f"Akeneo answered {error.status or 'with an error'}; try again later"
    return "error", "The connection could not be tested"
