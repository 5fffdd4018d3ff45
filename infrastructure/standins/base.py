"""What every stand-in shares: a threaded HTTP server on 127.0.0.1, routing, JSON helpers, a record
of the requests it served and, when given a contract, a check of each exchange against the real
API's OpenAPI document.

A stand-in subclass declares `rules()` (werkzeug Rules whose endpoint names a method) and keeps
its state (listings, products...) in plain attributes guarded by `self.lock`.

Tests driving a stand-in in another process (the local stack) use its control routes under
`/_standin/`, which no real API has: they are neither recorded, checked against the contract,
rate-limited nor faulted.
- `GET /_standin/listings`: what a buyer sees of each listing (quantity, active, listing id...).
- `GET /_standin/violations`: every contract violation seen so far.
- `POST /_standin/faults` `{"rate": 0.3, "statuses": [500, 503, 429], "endpoints": [...], "seed": 1}`:
  that share of calls (to those endpoints; all when omitted) answers one of those statuses;
  `{"rate": 0}` switches it off. Answers the switch's setting and the faults served so far.
- `POST /_standin/orders` `{"sku", "quantity", ["fulfilled_by_channel"]}` (or `{"lines": [{"sku",
  "quantity"}, ...]}`): a buyer's order. It takes the units off the listings as the marketplace
  would, and is refused with 409 when a listing shows fewer units than asked or is not active (a
  buyer cannot buy what is not shown); 404 for an unknown SKU. Answers the order, 201.
- `GET /_standin/orders`: every order placed, with its status and lines.
- `POST /_standin/orders/{order_id}/ship` and `.../cancel` (`{"line_ids": [...]}` cancels only those
  lines): the seller ships / the order is cancelled (its units go back on the listing, as channels
  restock a cancelled sale). 404 for an unknown order, 409 once it is shipped or cancelled.
Orders placed by stand-ins that serve order APIs (`serves_orders`) are what those APIs answer.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from infrastructure.standins.contract import Contract, RoutedContract

LOCAL_HOST = "127.0.0.1"
CONTROL_PREFIX = "/_standin/"


@dataclass(frozen=True)
class Exchange:
    """One request a stand-in served, and what it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    violations: tuple[str, ...] = field(default=())

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class RandomFaults:
    rate: float
    statuses: tuple[int, ...]
    endpoints: frozenset[str] | None
    chance: random.Random


@dataclass
class PlacedLine:
    """One line of a buyer's order at a stand-in."""

    line_id: str
    sku: str
    quantity: int
    title: str
    unit_price: float
    listing_id: str
    cancelled: bool = False


@dataclass
class PlacedOrder:
    """A buyer's order at a stand-in: `status` is open, shipped or cancelled; `number` counts orders
    from 1 (stand-ins build their channel's order ids from it)."""

    order_id: str
    number: int
    lines: list[PlacedLine]
    created: datetime
    updated: datetime
    status: str = "open"
    fulfilled_by_channel: bool = False

    def summary(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.status, "fulfilled_by_channel": self.fulfilled_by_channel,
                "created": self.created.isoformat(), "updated": self.updated.isoformat(),
                "lines": [{"line_id": line.line_id, "sku": line.sku, "quantity": line.quantity,
                           "cancelled": line.cancelled} for line in self.lines]}


class OrderRefused(Exception):
    """A control call on orders the marketplace would not allow (`status`: 404 or 409)."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json")


class StandIn:
    """Subclasses set `name` and implement `rules()`; each rule's endpoint is a method name."""

    name = "stand-in"
    limits: dict[str, tuple[float, int]] = {}  # endpoint -> (requests per second, burst)
    serves_orders = False  # True where the stand-in serves its channel's order API

    def __init__(self, *, port: int = 0, contract: Contract | RoutedContract | None = None) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, PlacedOrder] = {}
        self._order_numbers = itertools.count(1)
        self._last_order_change: datetime | None = None
        self.contract = contract
        self._faults: dict[str, list[int]] = {}
        self._random_faults: RandomFaults | None = None
        self.faults_served = 0
        self._buckets: dict[str, tuple[float, float]] = {}
        self.exchanges: list[Exchange] = []
        self._map = Map(self.rules(), strict_slashes=False)
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def rules(self) -> list[Rule]:
        raise NotImplementedError

    # --- life ------------------------------------------------------------------------------

    def start(self) -> StandIn:
        self._server = make_server(LOCAL_HOST, self._port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self._server:
            raise RuntimeError(f"{self.name} is not running")
        return f"http://{LOCAL_HOST}:{self._server.server_port}"

    # --- serving ---------------------------------------------------------------------------

    def violations(self) -> list[str]:
        """Every contract violation seen so far, one line each (tests assert this is empty)."""
        return [f"{e.method} {e.path}: {v}" for e in self.exchanges for v in e.violations]

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)(environ, start_response)
        response = self._dispatch(request)
        body = response.get_data()
        violations = (
            tuple(self.contract.check(request, response.status_code, dict(response.headers), body))
            if self.contract
            else ()
        )
        with self.lock:
            self.exchanges.append(
                Exchange(
                    method=request.method, path=request.path, query=request.args.to_dict(flat=False),
                    headers=dict(request.headers), body=request.get_data(), status=response.status_code,
                    response_headers=dict(response.headers), response_body=body, violations=violations,
                )
            )
        return response(environ, start_response)

    # --- faults and limits (tests script failures; `limits` makes overload answer 429) ------

    def fail_randomly(self, rate: float, statuses: tuple[int, ...] = (500, 503, 429),
                      endpoints: frozenset[str] | None = None, seed: int | None = None) -> None:
        """From now on, `rate` of the calls (to `endpoints`, or every one) answer one of `statuses`."""
        with self.lock:
            self._random_faults = (RandomFaults(rate, tuple(statuses), endpoints, random.Random(seed))  # noqa: S311
                                   if rate > 0 else None)

    def fail_next(self, endpoint: str, *statuses: int) -> None:
        """The next calls to `endpoint` answer these statuses (e.g. 500, then 429) before working again."""
        with self.lock:
            self._faults.setdefault(endpoint, []).extend(statuses)

    def throttled(self, endpoint: str) -> Response | None:
        """A scripted fault, or 429 when the endpoint's token bucket (`limits`: rate/s, burst) is empty."""
        with self.lock:
            faults = self._faults.get(endpoint)
            if faults:
                status = faults.pop(0)
                return self.fault_response(status)
            chaos = self._random_faults
            if chaos is not None and (chaos.endpoints is None or endpoint in chaos.endpoints) and (
                    chaos.chance.random() < chaos.rate):
                self.faults_served += 1
                return self.fault_response(chaos.chance.choice(chaos.statuses))
            limit = self.limits.get(endpoint)
            if limit is None:
                return None
            rate, burst = limit
            now = time.monotonic()
            tokens, last = self._buckets.get(endpoint, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[endpoint] = (tokens, now)
                return self.fault_response(429)
            self._buckets[endpoint] = (tokens - 1, now)
            return None

    def fault_response(self, status: int) -> Response:
        """How this API says `status` (subclasses shape the body and headers of their real API)."""
        headers = {"Retry-After": "1"} if status == 429 else None
        return json_response({"message": f"{self.name} answered {status}"}, status, headers)

    # --- control routes (tests in another process) -------------------------------------------

    def listings_state(self) -> list[dict[str, Any]]:
        """What a buyer sees of each listing; stand-ins without `listings` show none."""
        with self.lock:
            return [{"sku": item.sku, "quantity": item.quantity, "active": item.active,
                     "listing_id": item.listing_id, "fba": item.fba, "backorders": item.backorders}
                    for item in getattr(self, "listings", [])]

    # --- buyers' orders -----------------------------------------------------------------------

    def place_order(self, lines: list[tuple[str, int]], *, fulfilled_by_channel: bool = False) -> PlacedOrder:
        """A buyer orders `lines` ((SKU, units) pairs): every listing must be active and show the units,
        else nothing is taken and OrderRefused says why. Orders the channel fulfils from its own stock
        (Amazon FBA) take nothing off the seller's listings."""
        if not lines or any(quantity < 1 for _sku, quantity in lines):
            raise OrderRefused("an order needs lines of at least one unit", 400)
        with self.lock:
            by_sku = {item.sku: item for item in getattr(self, "listings", [])}
            for sku, quantity in lines:
                item = by_sku.get(sku)
                if item is None:
                    raise OrderRefused(f"{self.name} has no listing {sku}", 404)
                if fulfilled_by_channel:
                    continue
                if not item.active:
                    raise OrderRefused(f"listing {sku} is not active: a buyer cannot buy it")
                if item.quantity < quantity:
                    raise OrderRefused(f"listing {sku} shows {item.quantity} units, {quantity} asked")
            number = next(self._order_numbers)
            now = self._order_clock()
            placed = PlacedOrder(self.order_id_for(number), number, [], now, now,
                                 fulfilled_by_channel=fulfilled_by_channel)
            for index, (sku, quantity) in enumerate(lines, start=1):
                item = by_sku[sku]
                if not fulfilled_by_channel:
                    self.take_units(item, quantity)
                placed.lines.append(PlacedLine(self.line_id_for(number, index), sku, quantity, item.title,
                                               item.price, item.listing_id))
            self.orders[placed.order_id] = placed
        self.order_changed(placed)
        return placed

    def ship_order(self, order_id: str) -> PlacedOrder:
        return self._change_order(order_id, "shipped")

    def cancel_order(self, order_id: str, line_ids: list[str] | None = None) -> PlacedOrder:
        """Cancel the order, or only `line_ids` of it (the order is cancelled once every line is);
        the cancelled units go back on their listings."""
        return self._change_order(order_id, "cancelled", line_ids)

    def _change_order(self, order_id: str, status: str, line_ids: list[str] | None = None) -> PlacedOrder:
        with self.lock:
            placed = self.orders.get(order_id)
            if placed is None:
                raise OrderRefused(f"{self.name} has no order {order_id}", 404)
            if placed.status != "open":
                raise OrderRefused(f"order {order_id} is {placed.status} already")
            by_sku = {item.sku: item for item in getattr(self, "listings", [])}
            if status == "cancelled":
                chosen = [line for line in placed.lines if line_ids is None or line.line_id in line_ids]
                if line_ids is not None and len(chosen) != len(set(line_ids)):
                    raise OrderRefused(f"order {order_id} has no line {sorted(set(line_ids))}", 404)
                for line in chosen:
                    if not line.cancelled and not placed.fulfilled_by_channel and line.sku in by_sku:
                        self.return_units(by_sku[line.sku], line.quantity)
                    line.cancelled = True
                if all(line.cancelled for line in placed.lines):
                    placed.status = "cancelled"
            else:
                placed.status = status
            placed.updated = self._order_clock()
        self.order_changed(placed)
        return placed

    def _order_clock(self) -> datetime:
        """Now, strictly after the last order change (two changes never share a revision), to the
        millisecond."""
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_order_change is not None and now <= self._last_order_change:
            now = self._last_order_change + timedelta(milliseconds=1)
        self._last_order_change = now
        return now

    def orders_changed_since(self, since: datetime | None, *, inclusive: bool = True) -> list[PlacedOrder]:
        """Orders changed at or after `since` (after, unless `inclusive`), oldest change first."""
        with self.lock:
            chosen = [o for o in self.orders.values()
                      if since is None or o.updated > since or (inclusive and o.updated == since)]
        return sorted(chosen, key=lambda o: (o.updated, o.number))

    # Hooks: channels name orders their own way and keep stock their own way.

    def order_id_for(self, number: int) -> str:
        return f"{number:06d}"

    def line_id_for(self, number: int, index: int) -> str:
        return f"{number}{index:03d}"

    def take_units(self, item: Any, quantity: int) -> None:
        item.quantity -= quantity

    def return_units(self, item: Any, quantity: int) -> None:
        item.quantity += quantity

    def order_changed(self, placed: PlacedOrder) -> None:
        """Called (outside the lock) after an order is placed, shipped or cancelled."""

    def order_summary(self, placed: PlacedOrder) -> dict[str, Any]:
        return placed.summary()

    def _order_control(self, request: Request, route: str) -> Response:
        parts = route.split("/")
        body = request.get_json(silent=True) or {}
        try:
            if parts == ["orders"] and request.method == "GET":
                with self.lock:
                    return json_response({"standin": self.name,
                                          "orders": [self.order_summary(o) for o in self.orders.values()]})
            if parts == ["orders"] and request.method == "POST":
                given = body.get("lines") or [{"sku": body.get("sku"), "quantity": body.get("quantity", 1)}]
                lines = [(str(line.get("sku")), int(line.get("quantity", 1))) for line in given]
                placed = self.place_order(lines, fulfilled_by_channel=bool(body.get("fulfilled_by_channel")))
                return json_response(self.order_summary(placed), 201)
            if len(parts) == 3 and parts[0] == "orders" and parts[2] in ("ship", "cancel") and request.method == "POST":
                if parts[2] == "ship":
                    placed = self.ship_order(parts[1])
                else:
                    line_ids = body.get("line_ids")
                    placed = self.cancel_order(parts[1], [str(i) for i in line_ids] if line_ids else None)
                return json_response(self.order_summary(placed))
        except OrderRefused as refused:
            return json_response({"message": refused.message}, refused.status)
        except (TypeError, ValueError) as exc:
            return json_response({"message": f"bad order request: {exc}"}, 400)
        return json_response({"message": f"{self.name} has no control route {request.method} {request.path}"}, 404)

    def _control(self, request: Request) -> Response:  # noqa: PLR0911 - one answer per control route
        route = request.path.removeprefix(CONTROL_PREFIX).strip("/")
        if route == "orders" or route.startswith("orders/"):
            return self._order_control(request, route)
        if route == "listings" and request.method == "GET":
            return json_response({"standin": self.name, "listings": self.listings_state()})
        if route == "violations" and request.method == "GET":
            return json_response({"standin": self.name, "violations": self.violations()})
        if route == "faults" and request.method == "POST":
            body = request.get_json(silent=True) or {}
            try:
                rate = float(body.get("rate", 0))
                statuses = tuple(int(s) for s in body.get("statuses") or (500, 503, 429))
                endpoints = frozenset(map(str, body["endpoints"])) if body.get("endpoints") else None
                seed = None if body.get("seed") is None else int(body["seed"])
            except (TypeError, ValueError) as exc:
                return json_response({"message": f"bad fault switch: {exc}"}, 400)
            if not 0 <= rate <= 1 or not statuses:
                return json_response({"message": "rate must be within 0..1, statuses not empty"}, 400)
            self.fail_randomly(rate, statuses, endpoints, seed)
        if route == "faults" and request.method in ("GET", "POST"):
            with self.lock:
                chaos = self._random_faults
                return json_response({"rate": chaos.rate if chaos else 0.0,
                                      "statuses": list(chaos.statuses) if chaos else [],
                                      "endpoints": sorted(chaos.endpoints or ()) if chaos else [],
                                      "served": self.faults_served})
        return json_response({"message": f"{self.name} has no control route {request.method} {request.path}"}, 404)

    def _dispatch(self, request: Request) -> Response:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
            refused = self.throttled(endpoint)
            if refused is not None:
                return refused
            return getattr(self, endpoint)(request, **arguments)
        except NotFound:
            return json_response({"message": f"{self.name} has no route {request.method} {request.path}"}, 404)
        except HTTPException as exc:
            return json_response({"message": exc.description}, exc.code or 500)


def contract_order_document(placed: PlacedOrder, status: str, currency: str) -> dict[str, Any]:
    """An order as our own contracts spell it (docs/channels/rakuten.md and generic.md): a
    cancelled line keeps its quantity and says it in quantity_cancelled."""
    return {
        "order_id": placed.order_id, "status": status, "created_at": iso_millis(placed.created),
        "updated_at": iso_millis(placed.updated), "currency": currency, "buyer_name": "Demo Buyer",
        "total": round(sum(line.unit_price * line.quantity for line in placed.lines if not line.cancelled), 2),
        "lines": [{"line_id": line.line_id, "sku": line.sku, "title": line.title, "quantity": line.quantity,
                   "quantity_cancelled": line.quantity if line.cancelled else 0, "unit_price": line.unit_price}
                  for line in placed.lines],
    }


def iso_millis(moment: datetime) -> str:
    """A time as the marketplaces write it: UTC ISO 8601 with milliseconds and `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 query value (`Z` or an offset) as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
