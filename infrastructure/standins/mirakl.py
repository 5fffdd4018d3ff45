"""Mirakl (Pixmania) stand-in: OF52 asynchronous offers export, OF53 status, OF54 file download
(CSV, `;`-separated, in chunk files that each repeat the header), behind the shop API key.

Stock: OF24 offers update (every required field per offer, once a minute), processed when OF02 is
polled (`polls_until_done`), OF03's error report naming the lines that failed. An offer whose
availability has ended is inactive; one without an end date and with quantity is active."""

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
OFFERS = "/api/offers"
OF24_REQUIRED = ("price", "product_id", "product_id_type", "shop_sku", "state_code", "update_delete")
ERROR_COLUMNS = ("sku", "product-id", "product-id-type", "price", "quantity", "state", "update-delete",
                 "error-line", "error-message")
API_KEY = "demo-pixmania-shop-key"
COLUMNS = ("offer-id", "product-sku", "shop-sku", "price", "quantity", "state-code", "active", "currency-iso-code",
           "description")


def mirakl_contract() -> RoutedContract:
    # OF54's URL comes from OF53: the document's placeholder path is not a route to check against.
    document = Contract(spec("mirakl", "mirakl-mmp-seller-openapi.json"))
    return RoutedContract([(f"{EXPORT}/file/", None), (EXPORT, document), (OFFERS, document)])


class MiraklStandIn(StandIn):
    name = "mirakl"
    limits = {"create_export": (0.1, 3), "update_offers": (1 / 60, 1)}  # OF24: "Maximum usage: once per minute"

    def __init__(self, *, listings: list[DemoListing] | None = None, chunk_rows: int = 10,
                 polls_until_done: int = 1, **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("PIX", products=2, colours=8)
        self.chunk_rows = chunk_rows
        self.polls_until_done = polls_until_done
        self.exports: dict[str, dict[str, Any]] = {}
        self.imports: dict[int, dict[str, Any]] = {}
        self.available_ended: dict[str, str] = {}
        self._import_ids = itertools.count(2001)
        self._ids = itertools.count(1)
        kwargs.setdefault("contract", mirakl_contract())
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        return [
            Rule(EXPORT, endpoint="create_export", methods=["POST"]),
            Rule(f"{EXPORT}/status/<tracking_id>", endpoint="export_status", methods=["GET"]),
            Rule(f"{EXPORT}/file/<tracking_id>", endpoint="export_file", methods=["GET"]),
            Rule(OFFERS, endpoint="update_offers", methods=["POST"]),
            Rule(f"{OFFERS}/imports/<int:import_id>", endpoint="import_status", methods=["GET"]),
            Rule(f"{OFFERS}/imports/<int:import_id>/error_report", endpoint="error_report", methods=["GET"]),
        ]

    def listing(self, sku: str) -> DemoListing:
        return next(item for item in self.listings if item.sku == sku)

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


    # --- OF24 / OF02 / OF03 --------------------------------------------------------------------

    def update_offers(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        offers = (request.get_json(silent=True) or {}).get("offers")
        if not isinstance(offers, list) or not offers:
            return json_response({"status": 400, "message": "offers is required"}, 400)
        with self.lock:
            import_id = next(self._import_ids)
            self.imports[import_id] = {"offers": offers, "polls": 0, "status": "WAITING", "errors": [],
                                       "created": _now()}
        return json_response({"import_id": import_id}, 201,
                             {"Location": f"{self.url}{OFFERS}/imports/{import_id}"})

    def import_status(self, request: Request, import_id: int) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            job = self.imports.get(import_id)
            if job is None:
                return json_response({"status": 404, "message": "Unknown import"}, 404)
            job["polls"] += 1
            if job["status"] != "COMPLETE":
                job["status"] = "RUNNING"
                if job["polls"] >= self.polls_until_done:
                    self._process(job)
            lines, errors = len(job["offers"]), len(job["errors"])
            done = job["status"] == "COMPLETE"
            return json_response({
                "date_created": job["created"], "has_error_report": done and errors > 0, "import_id": import_id,
                "lines_in_error": errors if done else 0, "lines_in_pending": 0 if done else lines,
                "lines_in_success": lines - errors if done else 0, "lines_read": lines if done else 0,
                "mode": "NORMAL", "offer_deleted": 0, "offer_inserted": 0,
                "offer_updated": lines - errors if done else 0, "reason_status": "", "status": job["status"],
                "type": "API"})

    def _process(self, job: dict[str, Any]) -> None:
        by_sku = {item.sku: item for item in self.listings}
        for line, offer in enumerate(job["offers"], start=1):
            missing = [name for name in OF24_REQUIRED if offer.get(name) in (None, "")]
            item = by_sku.get(str(offer.get("shop_sku")))
            if missing:
                job["errors"].append((line, offer, f"Missing required fields: {', '.join(missing)}"))
            elif item is None:
                job["errors"].append((line, offer, "The product does not exist"))
            elif not isinstance(offer.get("quantity"), int) or offer["quantity"] < 0:
                job["errors"].append((line, offer, "The quantity is not valid"))
            else:
                item.price, item.quantity = float(offer["price"]), offer["quantity"]
                ended = str(offer.get("available_ended") or "")
                if ended:
                    self.available_ended[item.sku] = ended
                else:  # an update without the field deletes it
                    self.available_ended.pop(item.sku, None)
                item.active = item.quantity > 0 and not (ended and ended <= _now())
        job["status"] = "COMPLETE"

    def error_report(self, request: Request, import_id: int) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            job = self.imports.get(import_id)
            if job is None or job["status"] != "COMPLETE" or not job["errors"]:
                return json_response({"status": 404, "message": "No error report"}, 404)
            buffer = io.StringIO()
            writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
            writer.writerow(ERROR_COLUMNS)
            for line, offer, message in job["errors"]:
                writer.writerow([offer.get("shop_sku"), offer.get("product_id"), offer.get("product_id_type"),
                                 offer.get("price"), offer.get("quantity"), offer.get("state_code"),
                                 offer.get("update_delete"), line, message])
        return Response(buffer.getvalue().encode(), 200, content_type="application/octet-stream")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
