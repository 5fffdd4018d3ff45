"""Mirakl (Pixmania) stand-in: OF52 asynchronous offers export, OF53 status, OF54 file download
(CSV, `;`-separated, in chunk files that each repeat the header), behind the shop API key.

Stock: OF24 offers update (every required field per offer, once a minute), processed when OF02 is
polled (`polls_until_done`), OF03's error report naming the lines that failed. OF24 replaces the
whole offer: a field not sent goes back to its default (no description, no discount, no lead time),
as Mirakl documents. An offer whose availability has ended is inactive; one without an end date and
with quantity is active. OF52's full export leaves inactive offers out unless `include_inactive_offers`
and is allowed once a day (429 otherwise); the differential one (`last_request_date`) has every offer
changed since, deleted ones marked `deleted`. `include_fields` chooses the columns (Mirakl's names).

Orders: OR11 (GET /api/orders: order_ids, order_state_codes, start_update_date / end_update_date,
offset pagination by max (at most 100) and offset, sorted by creation date) over the orders buyers
placed (`/_standin/orders`), accepted at once (SHIPPING); a cancelled line is CANCELED with its
cancelation, the order CANCELED once every line is."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.demo.listings import DemoListing, demo_listings
from infrastructure.standins.base import PlacedLine, PlacedOrder, StandIn, iso_millis, json_response, parse_iso
from infrastructure.standins.contract import Contract, RoutedContract, spec

EXPORT = "/api/offers/export/async"
ORDERS = "/api/orders"
ORDERS_MAX = 100
_MIRAKL_STATE = {"open": "SHIPPING", "shipped": "SHIPPED", "cancelled": "CANCELED"}
OFFERS = "/api/offers"
OF24_REQUIRED = ("price", "product_id", "product_id_type", "shop_sku", "state_code", "update_delete")
ERROR_COLUMNS = ("sku", "product-id", "product-id-type", "price", "quantity", "state", "update-delete",
                 "error-line", "error-message")
API_KEY = "demo-pixmania-shop-key"
# OF52's CSV columns this stand-in exports (Mirakl's own names; a real export has more, e.g. shipping).
COLUMNS = ("offer-id", "product-sku", "shop-sku", "price", "origin-price", "quantity", "state-code", "active",
           "deleted", "currency-iso-code", "description", "discount-price", "discount-start-date",
           "discount-end-date", "discount-ranges", "available-start-date", "available-end-date", "leadtime-to-ship",
           "logistic-class", "price-additional-info", "product-tax-code", "min-order-quantity",
           "max-order-quantity", "package-quantity", "allow-quote-requests", "last-updated")
# The seller's own offer fields that OF24 resets when they are not sent (OF24 field names), and the
# OF52 column each one is exported in (None: OF52 does not export it, so a resubmission loses it).
SELLER_FIELDS: dict[str, str | None] = {
    "description": "description", "discount": "discount-*", "available_started": "available-start-date",
    "leadtime_to_ship": "leadtime-to-ship", "logistic_class": "logistic-class",
    "price_additional_info": "price-additional-info", "product_tax_code": "product-tax-code",
    "min_order_quantity": "min-order-quantity", "max_order_quantity": "max-order-quantity",
    "package_quantity": "package-quantity", "allow_quote_requests": "allow-quote-requests",
    "min_quantity_alert": None, "internal_description": None,
}
FULL_EXPORT_EVERY = timedelta(days=1)  # OF52 "Maximum usage: Full: once per day"


def mirakl_contract() -> RoutedContract:
    # OF54's URL comes from OF53: the document's placeholder path is not a route to check against.
    document = Contract(spec("mirakl", "mirakl-mmp-seller-openapi.json"))
    return RoutedContract([(f"{EXPORT}/file/", None), (EXPORT, document), (OFFERS, document), (ORDERS, document)])


class MiraklStandIn(StandIn):
    name = "mirakl"
    # OF24 and OR11: "Maximum usage: once per minute"
    limits = {"create_export": (0.1, 3), "update_offers": (1 / 60, 1), "list_orders": (1 / 60, 1)}
    serves_orders = True

    def __init__(self, *, listings: list[DemoListing] | None = None, chunk_rows: int = 10,
                 polls_until_done: int = 1, **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("PIX", products=2, colours=8)
        self.chunk_rows = chunk_rows
        self.polls_until_done = polls_until_done
        self.exports: dict[str, dict[str, Any]] = {}
        self.imports: dict[int, dict[str, Any]] = {}
        self.available_ended: dict[str, str] = {}
        # Each offer's other fields as the seller set them in Mirakl's back office.
        self.offer_fields: dict[str, dict[str, Any]] = {item.sku: _seller_fields(n, item)
                                                        for n, item in enumerate(self.listings)}
        now = datetime.now(UTC)
        self.last_updated: dict[str, datetime] = {item.sku: now for item in self.listings}  # per offer
        self.deleted: dict[str, tuple[DemoListing, datetime]] = {}  # offers the seller deleted, and when
        self.last_full_export: datetime | None = None  # when OF52 last accepted a full export
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
            Rule(ORDERS, endpoint="list_orders", methods=["GET"]),
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

    def delete_offer(self, sku: str) -> None:
        """The seller deletes an offer in the back office: gone from full exports, marked deleted in
        the differential ones."""
        with self.lock:
            item = self.listing(sku)
            self.listings.remove(item)
            self.deleted[sku] = (item, datetime.now(UTC))

    def change_offer(self, sku: str, **fields: Any) -> None:
        """The seller edits an offer in the back office (OF24 field names; price and quantity on the listing)."""
        with self.lock:
            item = self.listing(sku)
            for name in ("price", "quantity"):
                if name in fields:
                    setattr(item, name, fields.pop(name))
            self.offer_fields[sku] = {**self.offer_fields.get(sku, {}), **fields}
            self.last_updated[sku] = datetime.now(UTC)

    def create_export(self, request: Request) -> Response:
        """OF52. Full (no `last_request_date`): the active offers, the inactive ones too when asked,
        once a day. Differential: every offer changed since the date, deleted ones marked, once a
        minute; `include_inactive_offers` then fails the call, as Mirakl documents."""
        if refused := self._unauthorized(request):
            return refused
        body = request.get_json(silent=True) or {}
        since = parse_iso(body.get("last_request_date")) if body.get("last_request_date") else None
        if body.get("last_request_date") and since is None:
            return json_response({"status": 400, "message": "last_request_date is not a date"}, 400)
        if since is not None and "include_inactive_offers" in body:
            return json_response({"status": 400, "message": "include_inactive_offers cannot be used with "
                                                            "last_request_date"}, 400)
        fields = body.get("include_fields") or list(COLUMNS)
        unknown = [name for name in fields if name not in COLUMNS]
        if unknown:
            return json_response({"status": 400, "message": f"Unknown fields: {', '.join(map(str, unknown))}"}, 400)
        now = datetime.now(UTC)
        with self.lock:
            if since is None:
                if self.last_full_export is not None and now - self.last_full_export < FULL_EXPORT_EVERY:
                    return json_response({"status": 429, "message": "A full offers export is allowed once per "
                                                                    "day: use last_request_date"}, 429,
                                         {"Retry-After": str(int((self.last_full_export + FULL_EXPORT_EVERY
                                                                  - now).total_seconds()) + 1)})
                self.last_full_export = now
            tracking_id = f"0000000{next(self._ids)}-2adb-43d9-bdc3-4bb9fcc90909"
            self.exports[tracking_id] = {"polls": 0, "status": "PENDING", "since": since, "fields": list(fields),
                                         "include_inactive": body.get("include_inactive_offers") is True,
                                         "rows": None}
        return json_response({"tracking_id": tracking_id})

    def export_status(self, request: Request, tracking_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            export = self.exports.get(tracking_id)
            if export is None:
                return json_response({"status": 404, "message": "Unknown tracking id"}, 404)
            export["polls"] += 1
            if export["polls"] >= self.polls_until_done and export["status"] != "COMPLETED":
                export["status"] = "COMPLETED"
                export["rows"] = self._exported(export)  # the files hold the offers as they were now
            answer: dict[str, Any] = {"status": export["status"], "last_updated": _now()}
            if export["status"] == "COMPLETED":
                chunks = max((len(export["rows"]) + self.chunk_rows - 1) // self.chunk_rows, 1)
                answer["urls"] = [f"{self.url}{EXPORT}/file/{tracking_id}?file=of52-export/offers/{n}.csv"
                                  for n in range(chunks)]
        return json_response(answer)

    def export_file(self, request: Request, tracking_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        name = request.args.get("file", "")
        index = int(name.rsplit("/", 1)[-1].split(".")[0]) if name else 0
        with self.lock:
            export = self.exports.get(tracking_id)
            if export is None or export["rows"] is None:
                return json_response({"status": 404, "message": "Unknown tracking id"}, 404)
            rows = export["rows"][index * self.chunk_rows:(index + 1) * self.chunk_rows]
            fields = export["fields"]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
        writer.writerow(fields)
        for row in rows:
            writer.writerow([row.get(name, "") for name in fields])
        return Response(buffer.getvalue().encode(), 200, content_type="text/csv; charset=UTF-8")

    def _exported(self, export: dict[str, Any]) -> list[dict[str, str]]:
        """OF52's offers as CSV cells: a full export's active ones (inactive too when asked), or a
        differential one's changed since its date, deleted ones with their ids and `deleted` only."""
        since = export["since"]
        if since is None:
            return [self._cells(item) for item in self.listings if export["include_inactive"] or item.active]
        changed = [self._cells(item) for item in self.listings if self.last_updated.get(item.sku, since) >= since]
        gone = [{"offer-id": item.listing_id, "product-sku": item.barcode or item.sku, "shop-sku": sku,
                 "active": "false", "deleted": "true", "last-updated": iso_millis(at)}
                for sku, (item, at) in self.deleted.items() if at >= since]
        return changed + gone

    def _cells(self, item: DemoListing) -> dict[str, str]:
        """One offer as OF52 exports it: `price` is the discount price during the discount period."""
        offer = self.offer_fields.get(item.sku, {})
        discount = offer.get("discount") or {}
        now = _now()
        discounted = (discount.get("price") is not None
                      and (discount.get("start_date") or "") <= now <= (discount.get("end_date") or "9999"))
        price = float(discount["price"]) if discounted else item.price
        ranges = ",".join(f"{r['quantity_threshold']}|{float(r['price']):.2f}" for r in discount.get("ranges") or [])
        cells = {
            "offer-id": item.listing_id, "product-sku": item.barcode or item.sku, "shop-sku": item.sku,
            "price": f"{price:.2f}", "origin-price": f"{item.price:.2f}", "quantity": str(item.quantity),
            "state-code": "11", "active": "true" if item.active else "false", "deleted": "false",
            "currency-iso-code": "EUR",
            "discount-price": "" if discount.get("price") is None else f"{float(discount['price']):.2f}",
            "discount-start-date": discount.get("start_date") or "",
            "discount-end-date": discount.get("end_date") or "",
            "discount-ranges": ranges, "available-end-date": self.available_ended.get(item.sku, ""),
            "allow-quote-requests": "true" if offer.get("allow_quote_requests") else "false",
            "last-updated": iso_millis(self.last_updated.get(item.sku, datetime.now(UTC))),
        }
        for name, column in SELLER_FIELDS.items():
            if column and not column.endswith("*") and name != "allow_quote_requests":
                cells[column] = "" if offer.get(name) is None else str(offer[name])
        return cells

    # --- OR11 --------------------------------------------------------------------------------

    def order_id_for(self, number: int) -> str:
        return f"PIX-{100000 + number}-A"

    def line_id_for(self, number: int, index: int) -> str:
        return f"PIX-{100000 + number}-A-{index}"

    def order_document(self, placed: PlacedOrder) -> dict[str, Any]:
        """An OR11 order with every field the document requires."""
        state = _MIRAKL_STATE[placed.status]
        lines = [self._order_line(placed, line, index, state) for index, line in enumerate(placed.lines)]
        price = round(sum(line.unit_price * line.quantity for line in placed.lines if not line.cancelled), 2)
        address = {"city": "Lyon", "country": "France", "country_iso_code": "FRA", "firstname": "Demo",
                   "lastname": "Acheteur", "street_1": "1 rue de la Paix", "zip_code": "69001"}
        return {
            "order_id": placed.order_id, "commercial_id": placed.order_id.removesuffix("-A"),
            "order_state": state, "created_date": iso_millis(placed.created),
            "last_updated_date": iso_millis(placed.updated),
            "acceptance_decision_date": iso_millis(placed.created), "can_cancel": placed.status == "open",
            "can_shop_ship": placed.status == "open", "currency_iso_code": "EUR",
            "customer": {"customer_id": "demo-customer", "firstname": "Demo", "lastname": "Acheteur",
                         "billing_address": address, "shipping_address": address},
            "fulfillment": {"center": {"code": "DEFAULT"}}, "fully_refunded": False, "has_customer_message": False,
            "has_incident": False, "has_invoice": False, "leadtime_to_ship": 2, "order_lines": lines,
            "order_tax_mode": "TAX_INCLUDED", "paymentType": "CREDIT_CARD", "payment_type": "CREDIT_CARD",
            "price": price, "shipping_price": 0.0, "shipping_type_code": "STD", "shipping_type_label": "Standard",
            "shipping_zone_code": "FR", "shipping_zone_label": "France", "total_commission": 0.0,
            "total_price": price,
        }

    @staticmethod
    def _order_line(placed: PlacedOrder, line: PlacedLine, index: int, state: str) -> dict[str, Any]:
        line_state = "CANCELED" if line.cancelled else state
        cancelations = [{"id": f"{line.line_id}-C", "created_date": iso_millis(placed.updated),
                         "quantity": line.quantity,
                         "amount": round(line.unit_price * line.quantity, 2), "commission_amount": 0.0,
                         "commission_taxes": [], "commission_total_amount": 0.0, "reason_code": "34"}
                        ] if line.cancelled else []
        return {
            "order_line_id": line.line_id, "order_line_index": index + 1, "order_line_state": line_state,
            "offer_id": 3000 + index, "offer_sku": line.sku, "offer_state_code": "11", "product_sku": line.sku,
            "product_title": line.title, "quantity": line.quantity, "price_unit": line.unit_price,
            "price": round(line.unit_price * line.quantity, 2),
            "total_price": round(line.unit_price * line.quantity, 2),
            "shipping_price": 0.0, "can_refund": False, "cancelations": cancelations, "refunds": [],
            "category_code": "demo", "category_label": "Demo", "commission_fee": 0.0, "commission_rate_vat": 0.0,
            "commission_vat": 0.0, "total_commission": 0.0, "created_date": iso_millis(placed.created),
            "last_updated_date": iso_millis(placed.updated), "description": line.title,
            "order_line_additional_fields": [],
            "product_medias": [],
        }

    def list_orders(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        args = request.args
        size, offset = int(args.get("max", 10)), int(args.get("offset", 0))
        if not 1 <= size <= ORDERS_MAX or offset < 0:
            return json_response({"status": 400, "message": f"max must be within 1..{ORDERS_MAX}"}, 400)
        since, until = parse_iso(args.get("start_update_date")), parse_iso(args.get("end_update_date"))
        chosen = sorted((o for o in self.orders_changed_since(since) if until is None or o.updated <= until),
                        key=lambda o: (o.created, o.number))  # sorted by creation date, Mirakl's default
        if args.get("order_ids"):
            chosen = [o for o in chosen if o.order_id in args["order_ids"].split(",")]
        with self.lock:
            documents = [self.order_document(o) for o in chosen]
        if args.get("order_state_codes"):
            documents = [d for d in documents if d["order_state"] in args["order_state_codes"].split(",")]
        return json_response({"orders": documents[offset:offset + size], "total_count": len(documents)})

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
            else:  # the whole offer is replaced: a field not sent goes back to its default
                item.price, item.quantity = float(offer["price"]), offer["quantity"]
                self.offer_fields[item.sku] = {name: offer[name] for name in SELLER_FIELDS if name in offer}
                ended = str(offer.get("available_ended") or "")
                if ended:
                    self.available_ended[item.sku] = ended
                else:  # an update without the field deletes it
                    self.available_ended.pop(item.sku, None)
                item.active = item.quantity > 0 and not (ended and ended <= _now())
                self.last_updated[item.sku] = datetime.now(UTC)
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


def _seller_fields(n: int, item: DemoListing) -> dict[str, Any]:
    """What a seller sets on an offer beyond price and quantity: a discount planned for next month,
    a lead time, a logistic class..."""
    return {"description": f"{item.title}; offer {n}",
            "discount": {"price": round(item.price * 0.9, 2), "start_date": "2099-01-01T00:00:00Z",
                         "end_date": "2099-01-31T23:59:59Z"},
            "leadtime_to_ship": 2, "logistic_class": "M", "price_additional_info": "Eco-part incluse",
            "min_order_quantity": 1, "allow_quote_requests": False, "min_quantity_alert": 1}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


