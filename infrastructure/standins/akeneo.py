"""An Akeneo PIM stand-in that follows the Akeneo REST API (specs/akeneo).

OAuth2 token endpoint (password and refresh_token grants, Basic client credentials), system
information, channels, locales, a category tree, attributes of every type the connector reads,
products on /products and (from 7.0) /products-uuid with `search` filters (updated, categories
with IN CHILDREN, enabled), `search_after` and page pagination, `with_count`, scope and locales
filters on values, and media file downloads. It answers 429 with Retry-After when more than 4
calls of one connection are in flight, or on demand (`throttle`), and 401 once tokens are
revoked (`expire_tokens`). Fields the published document does not declare nullable are left out
rather than sent as null.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.standins.base import StandIn, json_response
from infrastructure.standins.contract import Contract, spec

SPEC = spec("akeneo", "akeneo-web-api.oas3.json")
MAX_CONCURRENT = 4
API = "/api/rest/v1"

# A 1x1 PNG: the demo's product images.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

CLIENT_ID = "stocksync_demo"
CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - the stand-in's own demo credentials
USERNAME = "stocksync"
PASSWORD = "demo-password"  # noqa: S105 - the stand-in's own demo credentials

CHANNELS = [
    {"code": "ecommerce", "category_tree": "master", "locales": ["en_US", "fr_FR"], "currencies": ["EUR", "USD"],
     "labels": {"en_US": "Ecommerce"}, "conversion_units": {}},
    {"code": "print", "category_tree": "master", "locales": ["en_US"], "currencies": ["USD"],
     "labels": {"en_US": "Print"}, "conversion_units": {}},
]
LOCALES = [{"code": "en_US", "enabled": True}, {"code": "fr_FR", "enabled": True},
           {"code": "de_DE", "enabled": False}]
CATEGORIES = [  # code, parent
    ("master", None), ("clothing", "master"), ("tshirts", "clothing"), ("caps", "clothing"),
    ("kitchen", "master"), ("mugs", "kitchen"), ("outdoor", "master"), ("lamps", "outdoor"),
]
ATTRIBUTES = [  # code, type, extra
    ("sku", "pim_catalog_identifier", {}),
    ("name", "pim_catalog_text", {"localizable": True}),
    ("marketplace_title", "pim_catalog_text", {}),
    ("description", "pim_catalog_textarea", {"localizable": True, "scopable": True}),
    ("short_description", "pim_catalog_textarea", {"localizable": True}),
    ("price", "pim_catalog_price_collection", {"scopable": False}),
    ("cost", "pim_catalog_price_collection", {}),
    ("ean", "pim_catalog_text", {}),
    ("weight", "pim_catalog_metric", {"metric_family": "Weight", "default_metric_unit": "GRAM"}),
    ("width", "pim_catalog_metric", {"metric_family": "Length", "default_metric_unit": "MILLIMETER"}),
    ("height", "pim_catalog_metric", {"metric_family": "Length", "default_metric_unit": "MILLIMETER"}),
    ("depth", "pim_catalog_metric", {"metric_family": "Length", "default_metric_unit": "MILLIMETER"}),
    ("main_image", "pim_catalog_image", {}),
    ("back_image", "pim_catalog_image", {}),
    ("color", "pim_catalog_simpleselect", {}),
    ("organic", "pim_catalog_boolean", {}),
    ("pack_size", "pim_catalog_number", {}),
]


def _value(data: Any, locale: str | None = None, scope: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"data": data}
    if locale:
        value["locale"] = locale
    if scope:
        value["scope"] = scope
    return value


def _share(price: str, share: float) -> str:
    try:
        return f"{float(price) * share:.2f}"
    except ValueError:
        return price  # a broken price stays broken


def demo_product(sku: str, name: str, categories: list[str], price: str, *, weight_g: str = "350",
                 size_mm: tuple[str, str, str] = ("90", "110", "90"), image: str | None = None,
                 color: str = "blue", updated: str = "2024-05-01T10:00:00+00:00") -> dict[str, Any]:
    values: dict[str, list[dict[str, Any]]] = {
        "sku": [_value(sku)],
        "name": [_value(name, "en_US"), _value(f"{name} (FR)", "fr_FR")],
        "marketplace_title": [_value(f"{name} - free delivery")],
        "description": [_value(f"<p>{name}, described for the web shop.</p>", "en_US", "ecommerce"),
                        _value(f"{name}, described for print.", "en_US", "print"),
                        _value(f"<p>{name}, pour la boutique.</p>", "fr_FR", "ecommerce")],
        "short_description": [_value(f"{name} in short", "en_US")],
        "price": [_value([{"amount": price, "currency": "EUR"}, {"amount": price, "currency": "USD"}])],
        "cost": [_value([{"amount": _share(price, 0.4), "currency": "EUR"}])],
        "ean": [_value(f"50{zlib.crc32(sku.encode()) % 10**11:011d}")],
        "weight": [_value({"amount": weight_g, "unit": "GRAM"})],
        "width": [_value({"amount": size_mm[0], "unit": "MILLIMETER"})],
        "height": [_value({"amount": size_mm[1], "unit": "MILLIMETER"})],
        "depth": [_value({"amount": size_mm[2], "unit": "MILLIMETER"})],
        "color": [_value(color)],
        "organic": [_value(False)],
        "pack_size": [_value(1)],
    }
    if image:
        values["main_image"] = [_value(image)]
    return {"identifier": sku, "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"akeneo:{sku}")), "enabled": True,
            "family": "demo", "groups": [], "categories": categories, "values": values,
            "created": "2024-01-01T09:00:00+00:00", "updated": updated, "associations": {},
            "quantified_associations": {}}


def demo_products() -> list[dict[str, Any]]:
    products = [
        demo_product("MUG-BLUE", "Ceramic mug, blue", ["mugs"], "9.90", image="mug_blue_main.png"),
        demo_product("MUG-RED", "Ceramic mug, red", ["mugs"], "9.90", image="mug_red_main.png", color="red"),
        demo_product("TEE-BLACK", "Cotton T-shirt, black", ["tshirts"], "15.00", weight_g="180",
                     size_mm=("300", "20", "250"), color="black"),
        demo_product("CAP-NAVY", "Baseball cap, navy", ["caps"], "12.50", weight_g="120", color="navy"),
        demo_product("AK-LAMP-01", "Garden lamp", ["lamps"], "39.00", weight_g="1500",
                     size_mm=("120", "450", "120"), image="lamp_main.png", color="black"),
        demo_product("AK-BROKEN-01", "Lamp with a broken price", ["lamps"], "not-a-number"),
    ]
    return products


class AkeneoStandIn(StandIn):
    name = "akeneo"

    def __init__(self, *, port: int = 0, contract: Contract | None = None, version: str = "7.0.40",
                 edition: str = "EE", products: list[dict[str, Any]] | None = None) -> None:
        if contract is None and SPEC.exists():
            contract = Contract(SPEC)
        self.version, self.edition = version, edition
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.username, self.password = USERNAME, PASSWORD
        self.channels = [dict(channel) for channel in CHANNELS]
        self.locales = [dict(locale) for locale in LOCALES]
        self.categories = [{"code": code, "parent": parent, "labels": {"en_US": code.title()}}
                           for code, parent in CATEGORIES]
        self.attributes = [{"code": code, "type": kind, "group": "marketing", "labels": {"en_US": code.title()},
                            "localizable": False, "scopable": False, "unique": kind == "pim_catalog_identifier",
                            **extra} for code, kind, extra in ATTRIBUTES]
        self.products = products if products is not None else demo_products()
        self.media = {"mug_blue_main.png": PNG, "mug_red_main.png": PNG, "lamp_main.png": PNG}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.grants: list[str] = []  # grant types asked for, in order
        self.in_flight = 0
        self.peak_in_flight = 0
        self.delay_s = 0.0  # time each API call takes (to observe concurrency)
        self._throttle: list[float] = []  # Retry-After of each forced 429 to come
        self._flight_lock = threading.Lock()
        super().__init__(port=port, contract=contract)

    def rules(self) -> list[Rule]:
        return [
            Rule("/api/oauth/v1/token", endpoint="token", methods=["POST"]),
            Rule(f"{API}/system-information", endpoint="system_information", methods=["GET"]),
            Rule(f"{API}/channels", endpoint="list_channels", methods=["GET"]),
            Rule(f"{API}/locales", endpoint="list_locales", methods=["GET"]),
            Rule(f"{API}/categories", endpoint="list_categories", methods=["GET"]),
            Rule(f"{API}/attributes", endpoint="list_attributes", methods=["GET"]),
            Rule(f"{API}/products", endpoint="list_products", methods=["GET"]),
            Rule(f"{API}/products-uuid", endpoint="list_products_uuid", methods=["GET"]),
            Rule(f"{API}/media-files/<path:code>/download", endpoint="download_media", methods=["GET"]),
        ]

    # --- what tests script -------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token stops working (refresh tokens still do), as when a token expires mid-run."""
        with self.lock:
            self.access_tokens.clear()

    def throttle(self, times: int = 1, retry_after: float = 1) -> None:
        """The next `times` API calls answer 429 with this Retry-After."""
        with self.lock:
            self._throttle.extend([retry_after] * times)

    @property
    def major_version(self) -> int:
        digits = "".join(ch for ch in self.version.split(".")[0] if ch.isdigit())
        return int(digits) if len(digits) < 4 else 99  # dated SaaS versions

    # --- authentication ------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        basic = request.authorization
        if basic is None or basic.type != "basic" or (basic.username, basic.password) != (
                self.client_id, self.client_secret):
            return _error(422, 'Parameter "client_id" is missing or does not match any client, '
                               "or secret is invalid")
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _error(400, "Invalid json message received")
        grant = body.get("grant_type")
        with self.lock:
            self.grants.append(str(grant))
            if grant == "password":
                if (body.get("username"), body.get("password")) != (self.username, self.password):
                    return _error(422, "No user found for the given username and password")
            elif grant == "refresh_token":
                if body.get("refresh_token") not in self.refresh_tokens:
                    return _error(422, "Invalid refresh token")
                self.refresh_tokens.discard(body["refresh_token"])
            else:
                return _error(422, "Invalid grant_type parameter or parameter missing")
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self.access_tokens.add(access)
            self.refresh_tokens.add(refresh)
        return json_response({"access_token": access, "expires_in": 3600, "token_type": "bearer",
                              "refresh_token": refresh})

    def _guard(self, request: Request) -> Response | None:
        """401 without a valid token; 429 when throttled on demand or over 4 calls in flight."""
        header = request.headers.get("Authorization", "")
        with self.lock:
            valid = header.startswith("Bearer ") and header[7:] in self.access_tokens
            forced = self._throttle.pop(0) if valid and self._throttle else None
        if not valid:
            return _error(401, "The access token provided is invalid.")
        if forced is not None:
            return _error(429, "You have exceeded the limit of API requests per second.",
                          {"Retry-After": f"{forced:g}"})
        return None

    def _serve(self, request: Request, answer: Any) -> Response:
        refused = self._guard(request)
        if refused is not None:
            return refused
        with self._flight_lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            over = self.in_flight > MAX_CONCURRENT
        try:
            if over:
                return _error(429, "Too many concurrent requests for this connection.", {"Retry-After": "1"})
            if self.delay_s:
                time.sleep(self.delay_s)
            return answer()
        finally:
            with self._flight_lock:
                self.in_flight -= 1

    # --- reference data ------------------------------------------------------------------------

    def system_information(self, request: Request) -> Response:
        if self.major_version < 6:
            return _error(404, "No route found for GET /api/rest/v1/system-information")
        return self._serve(request, lambda: json_response({"version": self.version, "edition": self.edition}))

    def list_channels(self, request: Request) -> Response:
        return self._serve(request, lambda: self._paged(request, "channels", self.channels))

    def list_locales(self, request: Request) -> Response:
        def answer() -> Response:
            search = _search(request)
            locales = self.locales
            for condition in (search or {}).get("enabled", []):
                locales = [locale for locale in locales if locale["enabled"] == condition.get("value")]
            return self._paged(request, "locales", locales)

        return self._serve(request, answer)

    def list_categories(self, request: Request) -> Response:
        def answer() -> Response:
            items = [{key: value for key, value in category.items() if value is not None}
                     for category in self.categories]
            return self._paged(request, "categories", items)

        return self._serve(request, answer)

    def list_attributes(self, request: Request) -> Response:
        return self._serve(request, lambda: self._paged(request, "attributes", self.attributes))

    def _paged(self, request: Request, resource: str, items: list[dict[str, Any]]) -> Response:
        limit, page = _int(request, "limit", 10), _int(request, "page", 1)
        if not 1 <= limit <= 100:
            return _error(422, "You cannot request more than 100 items.")
        chunk = items[(page - 1) * limit: page * limit]
        base = f"{request.host_url.rstrip('/')}{API}/{resource}"
        links = {"self": {"href": f"{base}?{urlencode({'page': page, 'limit': limit})}"},
                 "first": {"href": f"{base}?{urlencode({'page': 1, 'limit': limit})}"}}
        if page * limit < len(items):
            links["next"] = {"href": f"{base}?{urlencode({'page': page + 1, 'limit': limit})}"}
        body: dict[str, Any] = {"_links": links, "current_page": page,
                                "_embedded": {"items": [{"_links": {"self": {"href": f"{base}/{i['code']}"}}, **i}
                                                        for i in chunk]}}
        if request.args.get("with_count") == "true":
            body["items_count"] = len(items)
        return json_response(body)

    # --- products ------------------------------------------------------------------------------

    def list_products(self, request: Request) -> Response:
        return self._serve(request, lambda: self._products(request, uuid_api=False))

    def list_products_uuid(self, request: Request) -> Response:
        if self.major_version < 7:
            return _error(404, "No route found for GET /api/rest/v1/products-uuid")
        return self._serve(request, lambda: self._products(request, uuid_api=True))

    def _products(self, request: Request, *, uuid_api: bool) -> Response:
        limit = _int(request, "limit", 10)
        if not 1 <= limit <= 100:
            return _error(422, "You cannot request more than 100 items.")
        try:
            selected = self._select(_search(request) or {})
        except ValueError as exc:
            return _error(422, str(exc))
        key = "uuid" if uuid_api else "identifier"
        selected.sort(key=lambda product: product[key])
        resource = "products-uuid" if uuid_api else "products"
        base = f"{request.host_url.rstrip('/')}{API}/{resource}"
        passed = {name: value for name, value in request.args.items() if name not in ("search_after", "page")}
        body: dict[str, Any] = {"_links": {"self": {"href": f"{base}?{urlencode(request.args)}"}}}
        if request.args.get("pagination_type") == "search_after":
            after = request.args.get("search_after")
            rest = [product for product in selected if after is None or product[key] > after]
            chunk = rest[:limit]
            if len(rest) > limit:
                body["_links"]["next"] = {"href": f"{base}?{urlencode({**passed, 'search_after': chunk[-1][key]})}"}
        else:
            page = _int(request, "page", 1)
            chunk = selected[(page - 1) * limit: page * limit]
            body["current_page"] = page
            if page * limit < len(selected):
                body["_links"]["next"] = {"href": f"{base}?{urlencode({**passed, 'page': page + 1})}"}
            if request.args.get("with_count") == "true":
                body["items_count"] = len(selected)
        scope, locales = request.args.get("scope"), request.args.get("locales")
        body["_embedded"] = {"items": [self._shape(product, uuid_api, scope, locales, base) for product in chunk]}
        return json_response(body)

    def _select(self, search: dict[str, Any]) -> list[dict[str, Any]]:
        selected = list(self.products)
        for condition in search.get("updated", []):
            operator, value = condition.get("operator"), _akeneo_time(condition.get("value"))
            if operator == ">":
                selected = [p for p in selected if datetime.fromisoformat(p["updated"]) > value]
            elif operator == "<":
                selected = [p for p in selected if datetime.fromisoformat(p["updated"]) < value]
            else:
                raise ValueError(f"Filter on property \"updated\" does not support operator \"{operator}\"")
        for condition in search.get("categories", []):
            operator, codes = condition.get("operator"), set(condition.get("value") or [])
            if operator == "IN CHILDREN":
                codes = self._subtree(codes)
            elif operator not in ("IN", "NOT IN"):
                raise ValueError(f"Filter on property \"categories\" does not support operator \"{operator}\"")
            keep = operator != "NOT IN"
            selected = [p for p in selected if bool(codes & set(p["categories"])) == keep]
        for condition in search.get("enabled", []):
            selected = [p for p in selected if p["enabled"] == condition.get("value")]
        return selected

    def _subtree(self, codes: set[str]) -> set[str]:
        found = set(codes)
        while True:
            more = {c["code"] for c in self.categories if c["parent"] in found} - found
            if not more:
                return found
            found |= more

    @staticmethod
    def _shape(product: dict[str, Any], uuid_api: bool, scope: str | None, locales: str | None,
               base: str) -> dict[str, Any]:
        wanted_locales = set(locales.split(",")) if locales else None
        values = {
            code: kept for code, entries in product["values"].items()
            if (kept := [entry for entry in entries
                         if (scope is None or entry.get("scope") in (None, scope))
                         and (wanted_locales is None or entry.get("locale") in (None, *wanted_locales))])
        }
        shaped = {key: value for key, value in product.items() if key != "values" and value is not None}
        shaped["values"] = values
        if uuid_api:
            shaped.pop("identifier", None)
        link = product["uuid"] if uuid_api else product["identifier"]
        return {"_links": {"self": {"href": f"{base}/{link}"}}, **shaped}

    def download_media(self, request: Request, code: str) -> Response:
        def answer() -> Response:
            content = self.media.get(code)
            if content is None:
                return _error(404, f"Media file \"{code}\" does not exist.")
            return Response(content, content_type="image/png")

        return self._serve(request, answer)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"code": status, "message": message}, status, headers)


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default


def _search(request: Request) -> dict[str, Any] | None:
    raw = request.args.get("search")
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"_invalid": True}
    return parsed if isinstance(parsed, dict) else None


def _akeneo_time(value: Any) -> datetime:
    return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
