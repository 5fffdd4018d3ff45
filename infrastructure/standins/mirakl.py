"""Mirakl (Pixmania) stand-in: OF52 asynchronous offers export, OF53 status, OF54 file download
(CSV, `;`-separated, in chunk files that each repeat the header), behind the shop API key."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.standins.base import StandIn, json_response
from infrastructure.standins.contract import Contract, RoutedContract, spec
from infrastructure.standins.demo_listings import DemoListing, demo_listings

EXPORT = "/api/offers/export/async"
API_KEY = "demo-pixmania-shop-key"
COLUMNS = ("offer-id", "product-sku", "shop-sku", "price", "quantity", "state-code", "active", "currency-iso-code",
           "description")


def mirakl_contract() -> RoutedContract:
    # OF54's URL comes from OF53: the document's placeholder path is not a route to check against.
    return RoutedContract([(f"{EXPORT}/file/", None),
                           (EXPORT, Contract(spec("mirakl", "mirakl-mmp-seller-openapi.json")))])


class MiraklStandIn(StandIn):
    name = "mirakl"
    limits = {"create_export": (0.1, 3)}

    def __init__(self, *, listings: list[DemoListing] | None = None, chunk_rows: int = 10,
                 polls_until_done: int = 1, **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("PIX", products=2, colours=8)
        self.chunk_rows = chunk_rows
        self.polls_until_done = polls_until_done
        self.exports: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        kwargs.setdefault("contract", mirakl_contract())
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        return [
            Rule(EXPORT, endpoint="create_export", methods=["POST"]),
            Rule(f"{EXPORT}/status/<tracking_id>", endpoint="export_status", methods=["GET"]),
            Rule(f"{EXPORT}/file/<tracking_id>", endpoint="export_file", methods=["GET"]),
        ]

    def fault_response(self, status: int) -> Response:
        return json_response({"status": status, "message": "Too many requests" if status == 429 else "Error"},
                             status, {"Retry-After": "1"} if status == 429 else None)

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") == API_KEY:
            return None
        return json_response({"status": 401, "message": "Unauthorized"}, 401)

    def create_export(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            tracking_id = f"0000000{next(self._ids)}-2adb-43d9-bdc3-4bb9fcc90909"
            self.exports[tracking_id] = {"polls": 0, "status": "PENDING"}
        return json_response({"tracking_id": tracking_id})

    def export_status(self, request: Request, tracking_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            export = self.exports.get(tracking_id)
            if export is None:
                return json_response({"status": 404, "message": "Unknown tracking id"}, 404)
            export["polls"] += 1
            if export["polls"] >= self.polls_until_done:
                export["status"] = "COMPLETED"
            answer: dict[str, Any] = {"status": export["status"], "last_updated": _now()}
            if export["status"] == "COMPLETED":
                chunks = max((len(self.listings) + self.chunk_rows - 1) // self.chunk_rows, 1)
                answer["urls"] = [f"{self.url}{EXPORT}/file/{tracking_id}?file=of52-export/offers/{n}.csv"
                                  for n in range(chunks)]
        return json_response(answer)

    def export_file(self, request: Request, tracking_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        name = request.args.get("file", "")
        index = int(name.rsplit("/", 1)[-1].split(".")[0]) if name else 0
        with self.lock:
            rows = self.listings[index * self.chunk_rows:(index + 1) * self.chunk_rows]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
        writer.writerow(COLUMNS)
        for n, item in enumerate(rows):
            writer.writerow([item.listing_id, item.barcode or item.sku, item.sku, f"{item.price:.2f}", item.quantity,
                             "11", "true" if item.active else "false", "EUR", f"{item.title}; offer {n}"])
        return Response(buffer.getvalue().encode(), 200, content_type="text/csv; charset=UTF-8")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
