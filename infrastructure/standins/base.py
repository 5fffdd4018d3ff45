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
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
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


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json")


class StandIn:
    """Subclasses set `name` and implement `rules()`; each rule's endpoint is a method name."""

    name = "stand-in"
    limits: dict[str, tuple[float, int]] = {}  # endpoint -> (requests per second, burst)

    def __init__(self, *, port: int = 0, contract: Contract | RoutedContract | None = None) -> None:
        self.lock = threading.RLock()
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

    def _control(self, request: Request) -> Response:
        route = request.path.removeprefix(CONTROL_PREFIX).strip("/")
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
