"""Pixmania, a Mirakl marketplace. Most sellers upload their catalogue file themselves; with a
marketplace URL and a shop API key the poller fetches it: OF52 asks for an asynchronous offers
export (CSV), OF53 polls it, OF54 downloads the files it names. Mirakl allows a full export once a
day: the full one (inactive offers included) then, a differential one (`last_request_date`: the
offers changed since, deleted ones marked; source `mirakl_offer_changes`, which removes nothing
absent) in between. Several chunk files become one document (the header kept once), written
exactly as Mirakl serves it otherwise.

Stock goes by offer resubmission: OF24 (POST /api/offers) resets every offer field it is not sent
("Offer fields that are not sent are reset"), so each offer is sent whole as the last catalogue
load exported it (OF52_OFFER_COLUMNS: the columns OF52 exports of the fields OF24 resets, kept on
the listing), with our quantity. The original price is sent as the price (OF52's `price` is the
discounted one during a discount). Quantity 0 disables the offer (its availability ends now); a
restock sends the availability the seller set, without our end date, which reactivates it. OF52
exports neither `min_quantity_alert` nor `internal_description`: OF24 still resets those two.
OF24 is asynchronous and allowed once a minute: its results are PENDING under the import id until
OF02 says the import is done and OF03's error report names the failed SKUs.

Orders: OR11 (GET /api/orders) by start_update_date (Mirakl subtracts a delta of its own so that
nothing is missed), 100 a page by max/offset until total_count; fetch_order is OR11 with
order_ids. order_state STAGING, WAITING_ACCEPTANCE, WAITING_DEBIT, WAITING_DEBIT_PAYMENT and
SHIPPING are open (the buyer has the units), SHIPPED, TO_COLLECT, RECEIVED and CLOSED shipped,
REFUSED and CANCELED cancelled. A line refused or cancelled (order_line_state) counts no units;
the quantity of its partial cancelations is taken off the others. OR11's "maximum usage" is once
a minute (recommended every 5): a poll every 2 minutes reads a page (100 orders) and, with the
budget refilled, the next page at the next poll (the poller keeps its page cursor).

Auth: the shop API key in the Authorization header (no scheme), as Mirakl documents.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from stocksync.channels.base import (
    SOURCE_MIRAKL,
    SOURCE_MIRAKL_CHANGES,
    CatalogueDocument,
    CatalogueProgress,
    CatalogueStatus,
    ChannelAdapter,
    ChannelNotConfigured,
    ChannelRejected,
    ChannelThrottled,
    QuantityResult,
    QuantityStatus,
    QuantityUpdate,
    shown_state,
    stream_response,
)
from stocksync.channels.order_side import (
    ChannelOrder,
    ChannelOrderLine,
    OrderPage,
    OrderStatus,
    iso_z,
    money,
    parse_time,
    units,
)

EXPORT = "/api/offers/export/async"
# OF52 columns (CSV header names) of the offer fields OF24 resets when they are not sent, and the
# OF24 field each one is sent back as ("." nests: discount.price). The catalogue load keeps these
# cells on the listing (catalogue/formats.py), and `PixmaniaAdapter.offer` sends them back.
OF52_OFFER_COLUMNS: dict[str, str] = {
    "origin-price": "price", "state-code": "state_code", "description": "description",
    "discount-price": "discount.price", "discount-start-date": "discount.start_date",
    "discount-end-date": "discount.end_date", "discount-ranges": "discount.ranges",
    "available-start-date": "available_started", "available-end-date": "available_ended",
    "leadtime-to-ship": "leadtime_to_ship", "logistic-class": "logistic_class",
    "price-additional-info": "price_additional_info", "product-tax-code": "product_tax_code",
    "min-order-quantity": "min_order_quantity", "max-order-quantity": "max_order_quantity",
    "package-quantity": "package_quantity", "allow-quote-requests": "allow_quote_requests",
}
_WHOLE_NUMBERS = {"leadtime_to_ship", "min_order_quantity", "max_order_quantity", "package_quantity"}
# What a catalogue load reads of OF52's file: the listing's own columns, then the offer's.
OF52_COLUMNS = ("offer-id", "product-sku", "shop-sku", "price", "quantity", "active", "currency-iso-code",
                "deleted", *OF52_OFFER_COLUMNS)
CSV_CONTENT_TYPE = "text/csv; charset=UTF-8"
FULL_EXPORT_EVERY = timedelta(days=1)  # OF52 "Maximum usage: Full: once per day" (differential: once a minute)
OFFERS = "/api/offers"
OFFER_BULK = 10_000  # offers per OF24 call: Mirakl allows one call a minute, so one call carries a lot
OF24_RATE = (1 / 60, 1)  # "Maximum usage: Once per minute"
_IMPORT_RUNNING = {"WAITING_SYNCHRONIZATION_PRODUCT", "WAITING", "RUNNING"}  # OF02 status enum
ORDERS = "/api/orders"
ORDERS_PAGE = 100  # OR11 `max`: at most 100
OR11_RATE = (1 / 60, 1)  # "Maximum usage: once per minute": a poll reads one page, the next poll the next
_ORDER_STATES = {
    **dict.fromkeys(("STAGING", "WAITING_ACCEPTANCE", "WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", "SHIPPING"),
                    OrderStatus.OPEN),
    **dict.fromkeys(("SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED"), OrderStatus.SHIPPED),
    **dict.fromkeys(("REFUSED", "CANCELED"), OrderStatus.CANCELLED),
}
_LINE_WITHOUT_UNITS = {"REFUSED", "CANCELED"}


class PixmaniaAdapter(ChannelAdapter):
    label = "Pixmania"
    source: ClassVar[str] = SOURCE_MIRAKL

    def base_url(self) -> str:
        return str(self.settings.get("base_url") or "https://pixmania.mirakl.net")

    def catalogue_configured(self) -> bool:
        return bool(self.settings.get("base_url") and self.credentials.get("api_key"))

    def auth_headers(self, token: str | None) -> dict[str, str]:
        if not self.credentials.get("api_key"):
            raise ChannelNotConfigured("The Pixmania channel has no shop API key: upload the catalogue file instead")
        return {"Authorization": self.credentials["api_key"]}

    def _shop(self) -> dict[str, str]:
        return {"shop_id": str(self.settings["shop_id"])} if self.settings.get("shop_id") else {}

    # --- catalogue -----------------------------------------------------------------------

    def request_catalogue(self) -> CatalogueProgress:
        return self.request_catalogue_after({})

    def request_catalogue_after(self, previous: Mapping[str, Any]) -> CatalogueProgress:
        """OF52: the full export when the last full one is a day old (Mirakl allows one a day), else
        the differential one: the offers changed since the last export we downloaded began (Mirakl
        adds a delta of its own), the deleted ones marked. A full export Mirakl refuses as too soon
        (one asked by another tool, or before we kept its date) becomes a differential one."""
        now = self.clock()
        full_at = parse_time(previous.get("full_at"))
        # a completed export (its files named) covers what changed up to its request; else the one before
        since = parse_time(previous.get("requested_at") if previous.get("urls") else previous.get("exported_since"))
        if since is not None and full_at is not None and now - full_at < FULL_EXPORT_EVERY:
            return self._export(now, since, full_at)
        try:
            return self._export(now, None, now, covered=since)
        except ChannelThrottled:
            if since is None:
                raise
            return self._export(now, since, full_at or now)

    def _export(self, now: datetime, since: datetime | None, full_at: datetime,
                covered: datetime | None = None) -> CatalogueProgress:
        """OF52, differential from `since` (None: full, inactive offers included). The details keep
        `full_at`, the last full export's time, and `exported_since`, up to when the exports already
        downloaded cover the offers (`since`, or `covered`): what the next one asks from if this one fails."""
        body: dict[str, Any] = {"export_type": "text/csv", "megabytes_per_chunk": 100,
                                "include_fields": list(OF52_COLUMNS)}
        if since is not None:
            body["last_request_date"] = iso_z(since)
        else:
            # without it the full export leaves out the offers we disabled at 0, and the catalogue
            # load would take them for removed: they would never come back on a restock
            body["include_inactive_offers"] = True
        answer = self.call_json("POST", EXPORT, params=self._shop(), idempotent=False, json=body)
        tracking_id = (answer or {}).get("tracking_id")
        if not tracking_id:
            raise ChannelRejected("Mirakl accepted the export but gave no tracking_id", details={"answer": answer})
        details = {"mode": "full" if since is None else "differential", "requested_at": iso_z(now),
                   "full_at": iso_z(full_at)}
        if (start := since or covered) is not None:
            details["exported_since"] = iso_z(start)
        return CatalogueProgress(CatalogueStatus.REQUESTED, str(tracking_id), details=details)

    def catalogue_source(self, progress: CatalogueProgress) -> str:
        return SOURCE_MIRAKL_CHANGES if progress.details.get("mode") == "differential" else SOURCE_MIRAKL

    def poll_catalogue(self, report_id: str, details: Mapping[str, Any]) -> CatalogueProgress:
        answer = self.call_json("GET", f"{EXPORT}/status/{report_id}", params=self._shop())
        status = str(answer.get("status") or "")
        if status == "COMPLETED":
            return CatalogueProgress(CatalogueStatus.DONE, report_id,
                                     details={**details, "urls": list(answer.get("urls") or [])})
        if status == "FAILED":
            error = answer.get("error") or {}
            return CatalogueProgress(CatalogueStatus.FAILED, report_id, details=details,
                                     message=f"Mirakl's offers export failed: {error.get('detail') or 'no detail'}")
        return CatalogueProgress(CatalogueStatus.IN_PROGRESS, report_id, message=f"Mirakl: {status or 'PENDING'}",
                                 details=details)

    def open_catalogue(self, progress: CatalogueProgress) -> CatalogueDocument:
        urls = list(progress.details.get("urls") or [])
        if not urls:
            raise ChannelRejected("Mirakl's export is complete but names no file", details=dict(progress.details))
        return CatalogueDocument(self.catalogue_source(progress), "csv", CSV_CONTENT_TYPE, self._chunks(urls))

    def _chunks(self, urls: list[str]) -> Iterator[bytes]:
        for index, url in enumerate(urls):
            response = self.call("GET", url, stream=True)
            body = stream_response(response)
            if index == 0:
                yield from body
            else:
                yield from _without_first_line(body)


    # --- orders --------------------------------------------------------------------------

    order_poll_minutes: ClassVar[int] = 2
    order_poll_floor_s: ClassVar[float] = 60.0  # OR11: one call a minute

    def orders_configured(self) -> bool:
        return self.catalogue_configured()

    def fetch_orders(self, updated_after: datetime, page: str | None = None) -> OrderPage:
        offset = int(page or 0)
        answer = self._or11({"start_update_date": iso_z(updated_after), "max": ORDERS_PAGE, "offset": offset,
                             "paginate": "true"})
        found = [o for o in answer.get("orders") or [] if isinstance(o, dict)]
        offset += len(found)
        more = bool(found) and offset < int(answer.get("total_count") or 0)
        return OrderPage([self.channel_order(o) for o in found], str(offset) if more else None)

    def fetch_order(self, order_id: str) -> ChannelOrder | None:
        answer = self._or11({"order_ids": order_id})
        found = [o for o in answer.get("orders") or [] if isinstance(o, dict) and str(o.get("order_id")) == order_id]
        return self.channel_order(found[0]) if found else None

    def _or11(self, params: dict[str, Any]) -> Mapping[str, Any]:
        self.limited("or11", OR11_RATE)
        return self.call_json("GET", ORDERS, params={**params, **self._shop()}) or {}

    def channel_order(self, order: Mapping[str, Any]) -> ChannelOrder:
        """An OR11 order as ours."""
        order_id = str(order.get("order_id") or "")
        state = str(order.get("order_state") or "")
        updated = parse_time(order.get("last_updated_date"))
        if not order_id or updated is None or state not in _ORDER_STATES:
            raise ChannelRejected(f"Mirakl answered order {order_id or '?'} with state {state!r} and update date "
                                  f"{order.get('last_updated_date')!r}", details={"order_id": order_id})
        customer = order.get("customer") or {}
        return ChannelOrder(
            order_id=order_id, status=_ORDER_STATES[state], fulfilled_by_channel=False, updated_at=updated,
            lines=tuple(order_line(line) for line in order.get("order_lines") or [] if isinstance(line, dict)),
            placed_at=parse_time(order.get("created_date")), currency=order.get("currency_iso_code"),
            total=money(order.get("total_price")),
            buyer_name=" ".join(str(customer.get(k) or "") for k in ("firstname", "lastname")).strip(),
            channel_status=state,
            raw_reference={k: v for k, v in {"commercial_id": order.get("commercial_id")}.items() if v},
        )

    # --- stock ---------------------------------------------------------------------------

    bulk_size: ClassVar[int] = OFFER_BULK

    def send_quantity_batch(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        priced = [u for u in batch if u.price is not None]
        results = [QuantityResult(u.sku, QuantityStatus.ERROR, "no price from the last loaded catalogue: "
                                  "OF24 would reset it") for u in batch if u.price is None]
        if not priced:
            return results
        self.limited("of24", OF24_RATE)
        answer = self.call_json("POST", OFFERS, params=self._shop(), idempotent=False,
                                json={"offers": [self.offer(u) for u in priced]})
        import_id = (answer or {}).get("import_id")
        if import_id is None:
            raise ChannelRejected("Mirakl accepted the offers but gave no import_id", details={"answer": answer})
        return results + [QuantityResult(u.sku, QuantityStatus.PENDING, f"in Mirakl offer import {import_id}",
                                         state=shown_state(u), reference=str(import_id)) for u in priced]

    def offer(self, update: QuantityUpdate) -> dict[str, Any]:
        """An OF24 offer: the offer as the last catalogue load exported it (every field OF24 would
        otherwise reset), every required field, and our quantity. At 0 the offer's availability ends
        now (disabled); a restock sends the seller's own end date if it is still ahead (active again)."""
        offer: dict[str, Any] = {
            "shop_sku": update.sku, "product_id": update.sku,
            "product_id_type": str(self.settings.get("product_id_type") or "SHOP_SKU"),
            "state_code": str(self.settings.get("state_code") or "11"), "update_delete": "update",
            "price": update.price, **exported_offer(update.offer), "quantity": max(update.quantity, 0),
        }
        now = self.clock()
        ended = offer.get("available_ended")
        if update.quantity <= 0:
            offer["available_ended"] = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif ended and (parse_time(ended) or now) <= now:
            del offer["available_ended"]  # our own end date of the offer disabled at 0 (or one past)
        return offer

    def pending_outcome(self, reference: str) -> dict[str, str] | None:
        """OF02 until the import is done, then OF03's error report: the error text per SKU."""
        status = self.call_json("GET", f"{OFFERS}/imports/{reference}", params=self._shop()) or {}
        state = str(status.get("status") or "")
        if state in _IMPORT_RUNNING:
            return None
        if state != "COMPLETE":
            return {"*": f"Mirakl offer import {reference} ended {state}: {status.get('reason_status') or ''}"}
        if not status.get("has_error_report"):
            return {}
        report = self.call("GET", f"{OFFERS}/imports/{reference}/error_report", params=self._shop())
        rows = csv.DictReader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";")
        return {str(row.get("sku") or row.get("shop-sku")): str(row.get("error-message") or "refused")
                for row in rows if row.get("sku") or row.get("shop-sku")}


def exported_offer(cells: Mapping[str, str]) -> dict[str, Any]:
    """OF52 cells (OF52_OFFER_COLUMNS) as OF24 fields: numbers as numbers, discount nested, discount
    ranges as OF24's list ("1|49.00,50|44.00"). A cell that does not read as its field's kind is
    left out (a seller's own file may hold anything): the rest of the offer still goes."""
    offer: dict[str, Any] = {}
    for column, text in cells.items():
        field = OF52_OFFER_COLUMNS.get(column)
        if field is None or text == "":
            continue
        try:
            value = _of24_value(field, text)
        except ValueError:
            continue
        outer, _, inner = field.partition(".")
        if inner:
            offer.setdefault(outer, {})[inner] = value
        else:
            offer[field] = value
    discount = offer.get("discount")
    if discount and discount.get("ranges"):
        discount.pop("price", None)  # OF24: "Not to be used when ranges are specified"
    return offer


def _of24_value(field: str, text: str) -> Any:
    if field in ("price", "discount.price"):
        return float(text)
    if field in _WHOLE_NUMBERS:
        number = float(text)
        if not number.is_integer():
            raise ValueError(text)
        return int(number)
    if field == "allow_quote_requests":
        return text.strip().casefold() == "true"
    if field == "discount.ranges":
        return [{"quantity_threshold": int(threshold), "price": float(price)}
                for threshold, price in (pair.split("|", 1) for pair in text.split(",") if "|" in pair)]
    return text


def order_line(line: Mapping[str, Any]) -> ChannelOrderLine:
    """An OR11 order line: no units once refused or cancelled, partial cancelations taken off."""
    if str(line.get("order_line_state") or "") in _LINE_WITHOUT_UNITS:
        quantity = 0
    else:
        cancelled = sum(units(c.get("quantity")) for c in line.get("cancelations") or [] if isinstance(c, dict))
        quantity = max(units(line.get("quantity")) - cancelled, 0)
    return ChannelOrderLine(line_id=str(line.get("order_line_id") or ""), sku=str(line.get("offer_sku") or ""),
                            quantity=quantity, title=str(line.get("product_title") or ""),
                            unit_price=money(line.get("price_unit")))


def _without_first_line(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A later chunk file repeats the header: drop everything up to the first line break."""
    header_done = False
    for chunk in chunks:
        if header_done:
            yield chunk
            continue
        newline = chunk.find(b"\n")
        if newline >= 0:
            header_done = True
            if chunk[newline + 1:]:
                yield chunk[newline + 1:]
