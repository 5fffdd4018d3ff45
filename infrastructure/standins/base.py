"""What every stand-in shares: a threaded HTTP server on 127.0.0.1, routing, JSON helpers, a record
of the requests it served and, when given a contract, a check of each exchange against the real
API's OpenAPI document.

A stand-in subclass declares `rules()` (werkzeug Rules whose endpoint names a method) and keeps
its state (listings, products...) in plain attributes guarded by `self.lock`.

Tests driving a stand-in in another process (the local stack) use its control routes under
`/_standin/`, which no real API has: they are neither recorded, checked against the contract,
rate-limited nor faulted.
- `GET /_standin/listings`: what a buyer sees of each listing (quantity, active, listing id...).
- `POST /_standin/listings` `{"sku", "title", "price", "quantity", "listing_id", ["parent", "variation",
  "kind"]}`: the seller lists a new product on the channel (a variation of `parent` when given; `kind`
  as the stand-in reads it, e.g. eBay's `inventory_api`), as stand-ins that hold `listings` keep them;
  409 when the SKU is listed already. Answers what a buyer sees of it, 201.
- `GET /_standin/violations`: every contract violation seen so far.
- `POST /_standin/faults` `{"rate": 0.3, "kinds": ["timeout", "slow", "reset", "5xx"], "seed": 7,
  "for_s": 30, "statuses": [500, 503, 429], "endpoints": [...], "hold_s": 61, "slow_s": 3}`: that share
  of calls (to those endpoints; all when omitted) meets a fault of one of those kinds (`FaultPlan`;
  only "5xx", one of `statuses`, when `kinds` is omitted), for `for_s` seconds (until switched off
  when omitted); `{"rate": 0}` switches it off. `GET` or `POST` answers the setting and the faults
  served since it was switched on, by kind. STOCKSYNC_STANDIN_FAULTS sets the same at start
  (`FaultPlan.parse`).
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

import contextlib
import itertools
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from infrastructure.demo.listings import DemoListing
from infrastructure.standins.contract import Contract, RoutedContract

LOCAL_HOST = "127.0.0.1"
CONTROL_PREFIX = "/_standin/"

FAULT_KINDS = ("timeout", "slow", "reset", "5xx")
# A timeout holds the answer past our client's read timeout (stocksync.core.http_client.DEFAULT_TIMEOUT,
# 60 s), so the client gives up before it comes. Not imported: importing the layer here would build
# its Powertools objects before the local stack has set the functions' environment.
TIMEOUT_HOLD_S = 61.0
SLOW_S = 3.0  # a slow answer waits between half this and this: well under the read timeout


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


class FaultSettingError(ValueError):
    """A fault setting (STOCKSYNC_STANDIN_FAULTS or the control route's body) that makes no sense."""


@dataclass(frozen=True)
class FaultPlan:
    """Which share of a stand-in's calls fail, and how, as a network and a loaded service fail them:

    - `timeout`: the answer is held `hold_s` (past our client's read timeout); then, as the seeded
      generator picks, it comes too late (the call was served: its change is applied) or the
      connection is closed without one (the call was never served).
    - `slow`: the call is served after a delay of `slow_s` / 2 to `slow_s` seconds.
    - `reset`: the connection is closed at once without an answer; the call is not served.
    - `5xx`: one of `statuses` (the stand-in's own error shape; 429 as the endpoint throttles).

    A generator seeded with `seed` (and the stand-in's name, so stand-ins sharing a plan do not
    fail in step) picks which calls fail and how, so a run that makes the same calls meets the same
    faults. The kinds come in turn, from one the generator picks: a stand-in that meets as many faults
    as there are kinds meets every kind, however few calls a run happens to make. `for_s` ends the
    faults that long after they start; `endpoints` limits them to those."""

    rate: float
    kinds: tuple[str, ...] = ("5xx",)
    statuses: tuple[int, ...] = (500, 503, 429)
    endpoints: frozenset[str] | None = None
    seed: int | None = None
    for_s: float | None = None
    hold_s: float = TIMEOUT_HOLD_S
    slow_s: float = SLOW_S

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise FaultSettingError(f"rate must be within 0..1, not {self.rate}")
        unknown = sorted(set(self.kinds) - set(FAULT_KINDS))
        if not self.kinds or unknown:
            raise FaultSettingError(f"kinds must be some of {', '.join(FAULT_KINDS)}; not {unknown or 'none'}")
        if not self.statuses or any(not 400 <= status <= 599 for status in self.statuses):
            raise FaultSettingError(f"statuses must be HTTP error statuses, not {list(self.statuses)}")
        if min(self.hold_s, self.slow_s) < 0 or (self.for_s is not None and self.for_s <= 0):
            raise FaultSettingError("hold_s and slow_s must not be negative, for_s must be positive")

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """STOCKSYNC_STANDIN_FAULTS: `rate=0.3,kinds=timeout+slow+reset+5xx,seed=7,for_s=30` (also
        `statuses=500+503`, `endpoints=a+b`, `hold_s=`, `slow_s=`)."""
        fields: dict[str, Any] = {}
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            key, equals, value = part.partition("=")
            if not equals:
                raise FaultSettingError(f"{part!r} is not name=value")
            fields[key.strip()] = value.strip().split("+") if key.strip() in _LISTED else value.strip()
        return cls.from_fields(fields)

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> FaultPlan:
        """From the control route's JSON body (or the parsed environment setting)."""
        unknown = sorted(set(fields) - _FIELDS)
        if unknown:
            raise FaultSettingError(f"unknown fault settings {unknown}; known: {sorted(_FIELDS)}")
        try:
            plan = cls(rate=float(fields.get("rate", 0)),
                       kinds=tuple(map(str, fields.get("kinds") or ("5xx",))),
                       statuses=tuple(int(status) for status in fields.get("statuses") or (500, 503, 429)),
                       endpoints=frozenset(map(str, fields["endpoints"])) if fields.get("endpoints") else None,
                       seed=None if fields.get("seed") is None else int(fields["seed"]),
                       for_s=None if fields.get("for_s") is None else float(fields["for_s"]),
                       hold_s=float(fields.get("hold_s", TIMEOUT_HOLD_S)),
                       slow_s=float(fields.get("slow_s", SLOW_S)))
        except (TypeError, ValueError) as exc:
            raise FaultSettingError(str(exc)) from exc
        return plan

    def describe(self) -> dict[str, Any]:
        return {"rate": self.rate, "kinds": list(self.kinds), "statuses": list(self.statuses),
                "endpoints": sorted(self.endpoints or ()), "seed": self.seed, "for_s": self.for_s,
                "hold_s": self.hold_s, "slow_s": self.slow_s}


_FIELDS = {"rate", "kinds", "statuses", "endpoints", "seed", "for_s", "hold_s", "slow_s"}
_LISTED = {"kinds", "statuses", "endpoints"}
NO_FAULTS = FaultPlan(0.0)


@dataclass
class ActiveFaults:
    plan: FaultPlan
    chance: random.Random
    until: float | None  # time.monotonic() when the faults end
    next_kind: int = 0  # index into plan.kinds of the next fault's kind

    def __post_init__(self) -> None:
        self.next_kind = self.chance.randrange(len(self.plan.kinds))

    def kind(self) -> str:
        kind = self.plan.kinds[self.next_kind % len(self.plan.kinds)]
        self.next_kind += 1
        return kind


@dataclass(frozen=True)
class NetworkFault:
    """What the network does to one call: `kind` timeout, slow or reset; `wait_s` before it (the hold,
    or the slow answer's delay); a timeout's `answered` (too late) or not (dropped)."""

    kind: str
    wait_s: float = 0.0
    answered: bool = False


class ConnectionDropped(ConnectionResetError):
    """Raised out of the WSGI app to close the connection without an answer (werkzeug takes a
    ConnectionError there for a client gone, and says nothing)."""


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
        self._random_faults: ActiveFaults | None = None
        self._plan = NO_FAULTS
        self.faults_served: Counter[str] = Counter()  # by kind, since the faults were last switched on
        self._network = threading.local()  # the network fault drawn for the call this thread serves
        self._stopping = threading.Event()  # wakes held calls when the stand-in stops
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
        self._stopping.clear()
        self._server = make_server(LOCAL_HOST, self._port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
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
        self._network.fault = None
        response = self._dispatch(request)
        fault: NetworkFault | None = self._network.fault
        # An answered timeout was served as it came; its answer comes after the client gave up.
        if fault is not None and fault.kind == "timeout" and self._stopping.wait(fault.wait_s):
            raise ConnectionDropped(f"{self.name} stopped while holding an answer")
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
        self.inject_faults(FaultPlan(rate, ("5xx",), tuple(statuses), endpoints, seed))

    def inject_faults(self, plan: FaultPlan) -> None:
        """From now on (for `plan.for_s`), `plan.rate` of the calls meet one of `plan.kinds` of fault; a
        plan of rate 0 switches them off."""
        with self.lock:
            self._plan = plan
            if plan.rate > 0:
                chance = random.Random(f"{plan.seed}:{self.name}") if plan.seed is not None else random.Random()  # noqa: S311
                until = time.monotonic() + plan.for_s if plan.for_s is not None else None
                self._random_faults = ActiveFaults(plan, chance, until)
                self.faults_served = Counter()
            else:
                self._random_faults = None

    def faults_state(self) -> dict[str, Any]:
        """The fault setting in force (rate 0 once off or past `for_s`), and the faults served, by kind."""
        with self.lock:
            active = self._active_faults()
            plan = active.plan if active else replace(self._plan, rate=0.0)
            remaining = None if active is None or active.until is None else max(0.0, active.until - time.monotonic())
            return {**plan.describe(), "active": active is not None, "remaining_s": remaining,
                    "served": sum(self.faults_served.values()), "served_by_kind": dict(self.faults_served)}

    def _active_faults(self) -> ActiveFaults | None:
        """The random faults in force (under the lock), ending them once their time is up."""
        active = self._random_faults
        if active is not None and active.until is not None and time.monotonic() >= active.until:
            self._random_faults = active = None
        return active

    def _draw_fault(self, endpoint: str) -> Response | None:
        """Whether this call meets a random fault (under the lock): a 5xx is answered here; a network
        fault is left for this thread's call (`self._network.fault`) to meet."""
        active = self._active_faults()
        if active is None or (active.plan.endpoints is not None and endpoint not in active.plan.endpoints):
            return None
        plan, chance = active.plan, active.chance
        if chance.random() >= plan.rate:
            return None
        kind = active.kind()
        self.faults_served[kind] += 1
        if kind == "5xx":
            return self.fault_response(chance.choice(plan.statuses))
        if kind == "timeout":
            self._network.fault = NetworkFault(kind, plan.hold_s, answered=chance.random() < 0.5)
        elif kind == "slow":
            self._network.fault = NetworkFault(kind, plan.slow_s * (0.5 + chance.random() / 2))
        else:
            self._network.fault = NetworkFault(kind)
        return None

    def fail_next(self, endpoint: str, *statuses: int) -> None:
        """The next calls to `endpoint` answer these statuses (e.g. 500, then 429) before working again."""
        with self.lock:
            self._faults.setdefault(endpoint, []).extend(statuses)

    def budgets_refilled(self) -> None:
        """Every endpoint's token bucket full again, as after a quiet minute: for a caller that moves
        its own clock on (a test's runs 15 minutes apart, the day's cost bench)."""
        with self.lock:
            self._buckets.clear()

    def throttled(self, endpoint: str) -> Response | None:
        """A scripted fault, or 429 when the endpoint's token bucket (`limits`: rate/s, burst) is empty."""
        with self.lock:
            faults = self._faults.get(endpoint)
            if faults:
                status = faults.pop(0)
                return self.fault_response(status)
            refused = self._draw_fault(endpoint)
            if refused is not None:
                return refused
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

    def _meet_network_fault(self, request: Request) -> None:
        """A slow answer waits before the call is served; a reset closes the connection unserved, and
        so does a dropped timeout once held. (An answered timeout is served as it comes: `_wsgi` holds
        its answer.)"""
        fault: NetworkFault | None = self._network.fault
        if fault is None:
            return
        if fault.kind == "slow":
            self._stopping.wait(fault.wait_s)
        elif fault.kind == "reset" or (fault.kind == "timeout" and not fault.answered):
            self._stopping.wait(fault.wait_s)
            _reset(request)
            raise ConnectionDropped(f"{self.name} closed a call without an answer ({fault.kind})")

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

    def _add_listing(self, body: Mapping[str, Any]) -> Response:
        try:
            listing = DemoListing(sku=str(body["sku"]), title=str(body.get("title") or body["sku"]),
                                  price=float(body.get("price") or 0), quantity=int(body.get("quantity") or 0),
                                  listing_id=str(body.get("listing_id") or ""), parent=str(body.get("parent") or ""),
                                  variation={str(k): str(v) for k, v in (body.get("variation") or {}).items()})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return json_response({"message": f"bad listing: {exc}"}, 400)
        with self.lock:
            listings = self.listings  # type: ignore[attr-defined]
            if any(item.sku == listing.sku for item in listings):
                return json_response({"message": f"{listing.sku} is listed already"}, 409)
            listings.append(listing)
            self.listing_added(listing, body)
        return json_response(next(row for row in self.listings_state() if row["sku"] == listing.sku), 201)

    def listing_added(self, listing: Any, body: Mapping[str, Any]) -> None:
        """What a stand-in keeps besides its `listings` about a listing the seller added (under the lock)."""

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

    def _control(self, request: Request) -> Response:  # noqa: PLR0911 - one answer per route
        route = request.path.removeprefix(CONTROL_PREFIX).strip("/")
        if route == "orders" or route.startswith("orders/"):
            return self._order_control(request, route)
        if route == "listings" and request.method == "GET":
            return json_response({"standin": self.name, "listings": self.listings_state()})
        if route == "listings" and request.method == "POST" and hasattr(self, "listings"):
            return self._add_listing(request.get_json(silent=True) or {})
        if route == "violations" and request.method == "GET":
            return json_response({"standin": self.name, "violations": self.violations()})
        if route == "faults" and request.method == "POST":
            try:
                self.inject_faults(FaultPlan.from_fields(request.get_json(silent=True) or {}))
            except FaultSettingError as exc:
                return json_response({"message": f"bad fault switch: {exc}"}, 400)
        if route == "faults" and request.method in ("GET", "POST"):
            return json_response(self.faults_state())
        return json_response({"message": f"{self.name} has no control route {request.method} {request.path}"}, 404)

    def _dispatch(self, request: Request) -> Response:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
            refused = self.throttled(endpoint)
            self._meet_network_fault(request)
            if refused is not None:
                return refused
            return getattr(self, endpoint)(request, **arguments)
        except NotFound:
            return json_response({"message": f"{self.name} has no route {request.method} {request.path}"}, 404)
        except HTTPException as exc:
            return json_response({"message": exc.description}, exc.code or 500)


def _reset(request: Request) -> None:
    """Close the call's connection without an answer: shut at once (the server would otherwise wait
    for the client's next request on it), then reset when werkzeug closes it (no lingering)."""
    connection = request.environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):  # the client may have gone already
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.shutdown(socket.SHUT_RDWR)


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
