"""eBay. Catalogue: the Sell Feed API's LMS_ACTIVE_INVENTORY_REPORT (every active listing, Inventory
API and legacy Trading alike, with ItemID, SKU, price and quantity), joined with the Inventory API's
inventory items (GET /inventory_item pages) to tell which SKUs are Inventory-API listings (and
their titles); every other SKU of the report is a Trading listing. The result is the normalized
listings CSV.

Variations: a multi-variation listing is one SKUDetails of the report with its Variations, each
variation a listing of its own (its SKU, price and quantity) whose parent is the listing: an
Inventory-API variation's inventory item names its group (`groupIds`), and the group
(getInventoryItemGroup) what its variations vary by, read from each item's aspects; a Trading
variation's parent is its ItemID, its attributes the VariationSpecifics GetItem gives (one call per
multi-variation listing).

Why the feed and not only Inventory API offers: offers are read one SKU at a time (getOffers
needs `sku`) and never show Trading listings, which stock sync revises through the Trading API instead.

Stock: Inventory-API listings by bulkUpdatePriceQuantity (25 SKUs a call, the inventory item's
ship-to-home quantity; every item of a 200/207 answer read); at 0 the offer is withdrawn (the
listing ends), on restock published again (a new listing id). A variation of an inventory item
group is a quantity of its own (0 included) on a listing that stays live; the group's listing is
withdrawn (withdrawOfferByInventoryItemGroup) only once every variation is at 0, and published
again (publishOfferByInventoryItemGroup, a new listing id) when one returns: eBay refuses both
calls on a single variation's offer. A Trading variation is revised by ItemID and its SKU, at 0 too
(it stays on the live listing, out of stock), and never ends or relists the listing alone. Legacy Trading listings by
ReviseInventoryStatus (4 a call), EndFixedPriceItem at 0 and RelistFixedPriceItem on restock, whose
new ItemID the listing follows. A relist carries a UUID derived from the ended ItemID, so a relist
sent twice (a crash before the record) is refused as a duplicate naming the listing it made.

Orders: the Fulfillment API's getOrders filtered by lastmodifieddate:[from..], 200 a page by
limit/offset until `total`; getOrder for one order. A cancelState of CANCELED is cancelled, an
orderFulfillmentStatus of FULFILLED shipped, anything else (NOT_STARTED, IN_PROGRESS) open (a
cancelState IN_PROGRESS is a request the seller has not accepted: the buyer still has the units).
eBay has no cancel state per line: a line cancelled out of an order that goes on is refunded in
full (its `refunds` add up to its cost) and is never fulfilled, so it holds nothing (quantity 0);
a partial refund is a price adjustment and keeps the units, as does a refund of a line that shipped
(a return, which the seller restocks). A line
carries its SKU; a legacy Trading listing without one is keyed by its ItemID (and variation id),
which no catalogue SKU matches: the line comes in unmapped for the seller to see. The Fulfillment
API allows 100,000 calls a day: a poll every 2 minutes.

Auth: OAuth refresh-token grant at /identity/v1/oauth2/token, cached; `Authorization: Bearer`
(the Trading API reads the same user token from X-EBAY-API-IAF-TOKEN). The token asks for the
inventory and the read-only fulfillment scopes (the seller's consent must include both).
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import IO, Any, ClassVar
from urllib.parse import quote
from xml.etree.ElementTree import Element, fromstring, iterparse  # eBay's own XML; no external entities
from xml.sax.saxutils import escape

from stocksync.channels.base import (
    NORMALIZED_CONTENT_TYPE,
    SOURCE_STOCKSYNC,
    CatalogueDocument,
    CatalogueProgress,
    CatalogueStatus,
    ChannelAdapter,
    ChannelAuthFailed,
    ChannelError,
    ChannelRejected,
    ChannelThrottled,
    ChannelUnavailable,
    ItemReply,
    Listing,
    QuantityResult,
    QuantityStatus,
    QuantityUpdate,
    batch_results,
    decimal_text,
    ends_listing,
    expires_in,
    normalized_csv,
    restores_listing,
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
from stocksync.core.chunks import batched
from stocksync.core.http_client import CachedToken

API = "https://api.ebay.com"
SANDBOX_API = "https://api.sandbox.ebay.com"
FEED = "/sell/feed/v1"
INVENTORY = "/sell/inventory/v1"
SCOPES = ("https://api.ebay.com/oauth/api_scope/sell.inventory "
          "https://api.ebay.com/oauth/api_scope/sell.fulfillment.readonly")
FULFILLMENT = "/sell/fulfillment/v1"
ORDERS_PAGE = 200  # getOrders: limit at most 200
ACTIVE_INVENTORY = "LMS_ACTIVE_INVENTORY_REPORT"
PAGE_SIZE = 200
CURRENCIES = {"EBAY_GB": "GBP", "EBAY_US": "USD", "EBAY_DE": "EUR", "EBAY_FR": "EUR", "EBAY_IT": "EUR",
              "EBAY_ES": "EUR", "EBAY_AU": "AUD", "EBAY_CA": "CAD", "EBAY_IE": "EUR"}

_DONE = {"COMPLETED"}
_FAILED = {"FAILED", "PARTIALLY_PROCESSED", "COMPLETED_WITH_ERROR"}  # a partial report is no snapshot
KIND_INVENTORY_API = "inventory_api"
KIND_TRADING = "trading"

INVENTORY_BULK = 25  # bulkUpdatePriceQuantity: at most 25 SKUs a call
INVENTORY_AT_ONCE = 4  # bulkUpdatePriceQuantity calls in flight at once (distinct SKUs, within the rate)
TRADING_BULK = 4  # ReviseInventoryStatus: at most 4 InventoryStatus a call
TRADING = "/ws/api.dll"
TRADING_NS = "urn:ebay:apis:eBLBaseComponents"
COMPATIBILITY_LEVEL = "1349"
SITE_IDS = {"EBAY_US": "0", "EBAY_CA": "2", "EBAY_GB": "3", "EBAY_AU": "15", "EBAY_FR": "71", "EBAY_DE": "77",
            "EBAY_IT": "101", "EBAY_ES": "186", "EBAY_IE": "205"}
# Trading error codes that are about the call, not the listing
_TRADING_THROTTLED = {"518", "21919144"}  # call usage limit reached
_TRADING_AUTH = {"931", "932", "16110", "21916984", "21917053"}  # token invalid / expired / revoked
_TRADING_SYSTEM = {"10007", "10009"}  # internal error, try again
_ALREADY_ENDED = "1047"  # EndFixedPriceItem on a listing already closed
_DUPLICATE_UUID = "488"  # RelistFixedPriceItem with a UUID already used: the listing it made is named


class EbayAdapter(ChannelAdapter):
    label = "eBay"
    source: ClassVar[str] = SOURCE_STOCKSYNC
    catalogue_lists_active_only: ClassVar[bool] = True  # LMS_ACTIVE_INVENTORY_REPORT: ended listings are absent
    uses_bearer_token = True

    def base_url(self) -> str:
        if self.settings.get("api_base_url"):
            return str(self.settings["api_base_url"])
        return SANDBOX_API if self.settings.get("sandbox") else API

    @property
    def marketplace_id(self) -> str:
        return str(self.settings.get("marketplace_id") or "EBAY_GB")

    def fetch_token(self, previous: CachedToken | None) -> CachedToken:
        self.require("client_id", "client_secret", "refresh_token")
        basic = base64.b64encode(f"{self.credentials['client_id']}:{self.credentials['client_secret']}".encode())
        response = self.http.request(
            "POST", "/identity/v1/oauth2/token",
            headers={"Authorization": f"Basic {basic.decode()}"},
            data={"grant_type": "refresh_token", "refresh_token": self.credentials["refresh_token"], "scope": SCOPES},
        )
        answer = response.json()
        return CachedToken(answer["access_token"], expires_in(answer.get("expires_in"), 7200))

    def auth_headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "X-EBAY-API-IAF-TOKEN": str(token)}

    # --- catalogue -----------------------------------------------------------------------

    def request_catalogue(self) -> CatalogueProgress:
        response = self.call("POST", f"{FEED}/inventory_task", idempotent=False,
                             headers={"X-EBAY-C-MARKETPLACE-ID": self.marketplace_id},
                             json={"feedType": ACTIVE_INVENTORY, "schemaVersion": "1.0"})
        location = response.headers.get("Location") or response.headers.get("location") or ""
        task_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not task_id:
            raise ChannelRejected("eBay accepted the inventory task but gave no Location", details={})
        return CatalogueProgress(CatalogueStatus.REQUESTED, task_id)

    def poll_catalogue(self, report_id: str, details: Mapping[str, Any]) -> CatalogueProgress:
        task = self.call_json("GET", f"{FEED}/inventory_task/{report_id}")
        status = str(task.get("status") or "")
        if status in _DONE:
            return CatalogueProgress(CatalogueStatus.DONE, report_id)
        if status in _FAILED:
            return CatalogueProgress(CatalogueStatus.FAILED, report_id, message=f"eBay's inventory task ended {status}")
        return CatalogueProgress(CatalogueStatus.IN_PROGRESS, report_id, message=f"eBay: {status or 'pending'}")

    def open_catalogue(self, progress: CatalogueProgress) -> CatalogueDocument:
        items = {str(item.get("sku") or ""): item for item in self.inventory_items()}
        titles = {sku: str((item.get("product") or {}).get("title") or "") for sku, item in items.items()}
        variations = _Variations(self, items)
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed by the document
        download = self.call("GET", f"{FEED}/task/{progress.report_id}/download_result_file", stream=True)
        try:
            for chunk in download.iter_content(1024 * 1024):
                spool.write(chunk)
        finally:
            download.close()
        spool.seek(0)
        listings = self._report_listings(spool, titles, variations)
        return CatalogueDocument(self.source, "csv", NORMALIZED_CONTENT_TYPE, normalized_csv(listings),
                                 closers=[spool.close])

    def inventory_items(self) -> Iterator[Mapping[str, Any]]:
        """Every Inventory-API inventory item. `offset` is a page number, not a record offset: follow
        the pages until eBay gives no `next` link."""
        page_number = 0
        while True:
            page = self.call_json("GET", f"{INVENTORY}/inventory_item",
                                  params={"limit": str(PAGE_SIZE), "offset": str(page_number)}) or {}
            items = page.get("inventoryItems") or []
            yield from (item for item in items if isinstance(item, dict))
            if not items or not page.get("next"):
                return
            page_number += 1

    def _report_listings(self, spool: IO[bytes], inventory_titles: dict[str, str],
                         variations: _Variations) -> Iterator[Listing]:
        currency = CURRENCIES.get(self.marketplace_id, "")
        try:
            archive = zipfile.ZipFile(spool)
        except zipfile.BadZipFile:  # some feeds come as the bare XML
            spool.seek(0)
            yield from _sku_details(spool, inventory_titles, currency, variations)
            return
        with archive:
            for name in archive.namelist():
                with archive.open(name) as member:
                    yield from _sku_details(member, inventory_titles, currency, variations)

    def inventory_item_group(self, group_key: str) -> Mapping[str, Any]:
        self.limited("inventory_item_group")
        return self.call_json("GET", f"{INVENTORY}/inventory_item_group/{quote(group_key, safe='')}") or {}

    def trading_variations(self, item_id: str) -> dict[str, dict[str, str]]:
        """A Trading multi-variation listing's variations: SKU -> VariationSpecifics (GetItem)."""
        answer = self.trading("GetItem", f"<ItemID>{escape(item_id)}</ItemID><IncludeItemSpecifics>true"
                                         "</IncludeItemSpecifics>")
        found: dict[str, dict[str, str]] = {}
        for item in _children(answer, "Item"):
            for container in _children(item, "Variations"):
                for variation in _children(container, "Variation"):
                    specifics = {_text(pair, "Name"): _text(pair, "Value")
                                 for block in _children(variation, "VariationSpecifics")
                                 for pair in _children(block, "NameValueList") if _text(pair, "Name")}
                    found[_text(variation, "SKU")] = specifics
        return found

    # --- orders --------------------------------------------------------------------------

    order_poll_minutes: ClassVar[int] = 2

    def orders_configured(self) -> bool:
        return bool(self.credentials.get("refresh_token"))

    def fetch_orders(self, updated_after: datetime, page: str | None = None) -> OrderPage:
        offset = int(page or 0)
        self.limited("get_orders")
        answer = self.call_json("GET", f"{FULFILLMENT}/order", params={
            "filter": f"lastmodifieddate:[{iso_z(updated_after, millis=True)}..]",
            "limit": str(ORDERS_PAGE), "offset": str(offset)}) or {}
        found = [o for o in answer.get("orders") or [] if isinstance(o, dict)]
        offset += len(found)
        more = bool(found) and offset < int(answer.get("total") or 0)
        return OrderPage([self.channel_order(o) for o in found], str(offset) if more else None)

    def fetch_order(self, order_id: str) -> ChannelOrder | None:
        self.limited("get_order")
        answer = self.call_json_or_none("GET", f"{FULFILLMENT}/order/{quote(order_id, safe='')}")
        return self.channel_order(answer) if isinstance(answer, dict) else None

    def channel_order(self, order: Mapping[str, Any]) -> ChannelOrder:
        """A Fulfillment API Order as ours."""
        order_id = str(order.get("orderId") or "")
        updated = parse_time(order.get("lastModifiedDate"))
        if not order_id or updated is None:
            raise ChannelRejected("eBay answered an order without orderId or lastModifiedDate",
                                  details={"orderId": order_id})
        cancel_state = str((order.get("cancelStatus") or {}).get("cancelState") or "")
        fulfillment = str(order.get("orderFulfillmentStatus") or "")
        if cancel_state == "CANCELED":
            status = OrderStatus.CANCELLED
        elif fulfillment == "FULFILLED":
            status = OrderStatus.SHIPPED
        else:
            status = OrderStatus.OPEN
        lines = tuple(ChannelOrderLine(
            line_id=str(item.get("lineItemId") or ""), sku=line_sku(item),
            quantity=0 if line_cancelled(item) else units(item.get("quantity")),
            title=str(item.get("title") or ""), unit_price=_unit_price(item))
            for item in order.get("lineItems") or [] if isinstance(item, dict))
        total = (order.get("pricingSummary") or {}).get("total") or {}
        reference = {"salesRecordReference": order.get("salesRecordReference"),
                     "orderPaymentStatus": order.get("orderPaymentStatus")}
        return ChannelOrder(
            order_id=order_id, status=status, fulfilled_by_channel=False, updated_at=updated, lines=lines,
            placed_at=parse_time(order.get("creationDate")), currency=total.get("currency"),
            total=money(total.get("value")), buyer_name=str((order.get("buyer") or {}).get("username") or ""),
            channel_status=cancel_state if cancel_state == "CANCELED" else fulfillment,
            raw_reference={k: v for k, v in reference.items() if v},
        )

    # --- stock ---------------------------------------------------------------------------

    bulk_size: ClassVar[int] = INVENTORY_BULK

    def submit_quantities(self, updates: Sequence[QuantityUpdate]) -> list[QuantityResult]:
        """Inventory-API SKUs, each its own inventory item, INVENTORY_AT_ONCE calls at a time; then the
        Trading revisions, ends and relists one call after another (a listing's variations share its
        ItemID)."""
        inventory = [u for u in updates if u.listing_kind != KIND_TRADING]
        trading = [u for u in updates if u.listing_kind == KIND_TRADING]
        return [*self.sent(batched(inventory, INVENTORY_BULK), INVENTORY_AT_ONCE),
                *self.sent(self.quantity_batches(trading), 1)]

    def quantity_batches(self, updates: Sequence[QuantityUpdate]) -> Iterator[list[QuantityUpdate]]:
        """Inventory-API SKUs 25 a call; Trading revisions 4 a call (every Trading variation, 0 or not);
        each Trading end or relist alone; Trading listings already ended and still at 0 in one batch
        that needs no call."""
        trading = [u for u in updates if u.listing_kind == KIND_TRADING and not u.parent]
        variations = [u for u in updates if u.listing_kind == KIND_TRADING and u.parent]
        yield from batched([u for u in updates if u.listing_kind != KIND_TRADING], INVENTORY_BULK)
        yield from batched([*variations, *(u for u in trading if u.quantity > 0 and u.state == "active")],
                           TRADING_BULK)
        yield from ([u] for u in trading if ends_listing(u) or restores_listing(u))
        settled = [u for u in trading if u.quantity <= 0 and u.state != "active"]
        if settled:
            yield settled

    def send_quantity_batch(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        first = batch[0]
        if first.listing_kind != KIND_TRADING:
            return self._inventory_quantities(batch)
        if first.parent:  # variations (and single listings) revised together
            return self._revise_inventory_status(batch)
        if ends_listing(first):
            return [self._end_item(first)]
        if restores_listing(first):
            return [self._relist_item(first)]
        if first.quantity <= 0:  # ended already: nothing to show
            return [QuantityResult(u.sku, QuantityStatus.OK) for u in batch]
        return self._revise_inventory_status(batch)

    # Inventory API

    def _inventory_quantities(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        self.limited("bulk_update_price_quantity")
        answer = self.call_json("POST", f"{INVENTORY}/bulk_update_price_quantity", json={"requests": [
            {"sku": u.sku, "shipToLocationAvailability": {"quantity": max(u.quantity, 0)}} for u in batch]})
        replies = {str(item.get("sku")): ItemReply(int(item.get("statusCode") or 0) == 200,
                                                  _rest_errors(item.get("errors")))
                   for item in (answer or {}).get("responses") or [] if isinstance(item, dict)}
        results = batch_results(batch, replies, self.label)
        singles = [n for n, update in enumerate(batch) if not update.parent]
        for n, result in zip(singles, self.then_transitions([batch[n] for n in singles], [results[n] for n in singles],
                                                            self._offer_transition), strict=True):
            results[n] = result
        for group in dict.fromkeys(u.parent for u in batch if u.parent):
            shown = [n for n, update in enumerate(batch)
                     if update.parent == group and results[n].status == QuantityStatus.OK]
            if shown:
                for n, result in zip(shown, self.guarded([batch[n] for n in shown], self._group_transition),
                                     strict=True):
                    results[n] = result
        return results

    def _group_transition(self, members: list[QuantityUpdate]) -> list[QuantityResult]:
        """After the quantities of some variations of one inventory item group: withdraw the group's
        listing when every variation is at 0, publish it again when one is not. The listing's state
        is read from eBay (a variation's offer), so a crash before the record, or a sibling brought
        to 0 by an earlier submission, is taken as it is."""
        group = str(members[0].parent)
        stocked = any(u.quantity > 0 for u in members)
        if not stocked:
            sent = {u.sku for u in members}
            variants = [str(sku) for sku in self.inventory_item_group(group).get("variantSKUs") or []]
            stocked = any(quantity > 0 for quantity in self._available([s for s in variants if s not in sent]))
        offer = self._offer(members[0].sku)
        published = str(offer.get("status") or "") == "PUBLISHED"
        listing_id = str((offer.get("listing") or {}).get("listingId") or "") or None
        body = {"inventoryItemGroupKey": group, "marketplaceId": self.marketplace_id}
        if stocked and not published:
            self.limited("publish_offer")
            answer = self.call_json("POST", f"{INVENTORY}/offer/publish_by_inventory_item_group", json=body)
            listing_id = str((answer or {}).get("listingId") or "") or None
        elif not stocked and published:
            self.limited("withdraw_offer")
            self.call("POST", f"{INVENTORY}/offer/withdraw_by_inventory_item_group", json=body)
        state = "active" if stocked else "ended"
        return [QuantityResult(u.sku, QuantityStatus.OK, state=state, listing_id=listing_id if stocked else None)
                for u in members]

    def _available(self, skus: list[str]) -> Iterator[int]:
        """Each SKU's ship-to-home quantity on eBay (bulkGetInventoryItem, 25 a call)."""
        for chunk in batched(skus, INVENTORY_BULK):
            self.limited("bulk_get_inventory_item")
            answer = self.call_json("POST", f"{INVENTORY}/bulk_get_inventory_item",
                                    json={"requests": [{"sku": sku} for sku in chunk]}) or {}
            for reply in answer.get("responses") or []:
                item = (reply or {}).get("inventoryItem") or {}
                availability = (item.get("availability") or {}).get("shipToLocationAvailability") or {}
                yield int(availability.get("quantity") or 0)

    def _offer_transition(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        """Withdraw the SKU's offer (the listing ends) or publish it (a new listing). An offer already
        in the wanted status (a crash before the record) is taken as it is."""
        update = batch[0]
        offer = self._offer(update.sku)
        offer_id = quote(str(offer.get("offerId")), safe="")
        published = str(offer.get("status") or "") == "PUBLISHED"
        listing_id = str((offer.get("listing") or {}).get("listingId") or "") or None
        if ends_listing(update):
            if published:
                self.limited("withdraw_offer")
                self.call_json("POST", f"{INVENTORY}/offer/{offer_id}/withdraw")
            return [QuantityResult(update.sku, QuantityStatus.OK, state="ended")]
        if not published:
            self.limited("publish_offer")
            answer = self.call_json("POST", f"{INVENTORY}/offer/{offer_id}/publish")
            listing_id = str((answer or {}).get("listingId") or "") or None
        return [QuantityResult(update.sku, QuantityStatus.OK, state="active", listing_id=listing_id)]

    def _offer(self, sku: str) -> Mapping[str, Any]:
        answer = self.call_json("GET", f"{INVENTORY}/offer", params={
            "sku": sku, "marketplace_id": self.marketplace_id, "format": "FIXED_PRICE"})
        offers = [o for o in (answer or {}).get("offers") or []
                  if isinstance(o, dict) and o.get("marketplaceId", self.marketplace_id) == self.marketplace_id]
        if not offers or not offers[0].get("offerId"):
            raise ChannelRejected(f"eBay has no fixed-price offer for SKU {sku} on {self.marketplace_id}")
        return offers[0]

    # Trading API

    def _revise_inventory_status(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        missing = [u for u in batch if not u.listing_id]
        batch = [u for u in batch if u.listing_id]
        results = [QuantityResult(u.sku, QuantityStatus.ERROR, "the listing has no eBay ItemID") for u in missing]
        if not batch:
            return results
        body = "".join(f"<InventoryStatus><ItemID>{escape(str(u.listing_id))}</ItemID><SKU>{escape(u.sku)}</SKU>"
                       f"<Quantity>{u.quantity}</Quantity></InventoryStatus>" for u in batch)
        answer = self.trading("ReviseInventoryStatus", body, per_item=True)
        revised = {_text(s, "ItemID") for s in _children(answer, "InventoryStatus")} | {
            _text(s, "SKU") for s in _children(answer, "InventoryStatus")}
        errors = _trading_errors(answer)
        replies: dict[str, ItemReply] = {}
        for update in batch:
            if update.sku in revised or update.listing_id in revised:
                replies[update.sku] = ItemReply(True)
                continue
            named = [e.message for e in errors if {update.sku, update.listing_id} & e.parameters]
            general = [e.message for e in errors if not e.parameters & _keys(batch)]
            replies[update.sku] = ItemReply(False, "; ".join(named or general) or "eBay did not revise it")
        return results + batch_results(batch, replies, self.label)

    def _end_item(self, update: QuantityUpdate) -> QuantityResult:
        if not update.listing_id:
            return QuantityResult(update.sku, QuantityStatus.ERROR, "the listing has no eBay ItemID")
        answer = self.trading("EndFixedPriceItem", f"<ItemID>{escape(update.listing_id)}</ItemID>"
                                                   "<EndingReason>NotAvailable</EndingReason>", per_item=True)
        errors = [e for e in _trading_errors(answer) if e.code != _ALREADY_ENDED]
        if _ack(answer) == "Failure" and errors:
            return QuantityResult(update.sku, QuantityStatus.ERROR, "; ".join(e.message for e in errors))
        return QuantityResult(update.sku, QuantityStatus.OK, state="ended")

    def _relist_item(self, update: QuantityUpdate) -> QuantityResult:
        if not update.listing_id:
            return QuantityResult(update.sku, QuantityStatus.ERROR, "the listing has no eBay ItemID")
        answer = self.trading("RelistFixedPriceItem", (
            f"<Item><ItemID>{escape(update.listing_id)}</ItemID><Quantity>{update.quantity}</Quantity>"
            f"<UUID>{self.relist_uuid(update.listing_id)}</UUID></Item>"), per_item=True)
        new_id = _text(answer, "ItemID")
        errors = _trading_errors(answer)
        duplicate = next((e for e in errors if e.code == _DUPLICATE_UUID and e.values), None)
        if not new_id and duplicate is not None:
            new_id = duplicate.values[0]  # relisted already by an earlier try: follow that listing
        if not new_id:
            return QuantityResult(update.sku, QuantityStatus.ERROR,
                                  "; ".join(e.message for e in errors) or "eBay did not relist it")
        return QuantityResult(update.sku, QuantityStatus.OK, state="active", listing_id=new_id)

    def relist_uuid(self, item_id: str) -> str:
        """The relist's idempotency key: one relist per ended listing (32 hex digits, as eBay wants)."""
        return hashlib.md5(f"{self.account.channel_id}:{item_id}".encode()).hexdigest().upper()  # noqa: S324

    def trading(self, call_name: str, body: str, *, per_item: bool = False) -> Element:
        """One Trading API call. A failure about the call itself (throttled, token, eBay's side) raises
        the domain error; `per_item` callers read listing errors from the answer themselves."""
        self.limited("trading")
        payload = (f'<?xml version="1.0" encoding="utf-8"?>\n<{call_name}Request xmlns="{TRADING_NS}">'
                   f"{body}</{call_name}Request>").encode()
        response = self.call("POST", TRADING, data=payload, headers={
            "X-EBAY-API-CALL-NAME": call_name, "X-EBAY-API-SITEID": SITE_IDS.get(self.marketplace_id, "3"),
            "X-EBAY-API-COMPATIBILITY-LEVEL": COMPATIBILITY_LEVEL, "Content-Type": "text/xml; charset=utf-8"})
        try:
            answer = fromstring(response.content)  # noqa: S314 - eBay's answer; no external entities
        except SyntaxError as exc:
            raise ChannelRejected(f"eBay answered {call_name} with unreadable XML: {exc}") from exc
        if _ack(answer) == "Failure":
            raise_call_failure(call_name, _trading_errors(answer), per_item=per_item)
        return answer


class _TradingError:
    def __init__(self, element: Element) -> None:
        self.code = _text(element, "ErrorCode")
        self.severity = _text(element, "SeverityCode")
        self.message = _text(element, "LongMessage") or _text(element, "ShortMessage") or f"eBay error {self.code}"
        self.values = [_text(p, "Value") for p in _children(element, "ErrorParameters") if _text(p, "Value")]
        self.parameters = set(self.values)


def raise_call_failure(call_name: str, errors: list[_TradingError], *, per_item: bool) -> None:
    codes = {e.code for e in errors}
    text = "; ".join(e.message for e in errors) or f"eBay refused {call_name}"
    details = {"call": call_name, "codes": sorted(codes)}
    error: ChannelError | None = None
    if codes & _TRADING_THROTTLED:
        error = ChannelThrottled(f"eBay throttled the account: {text}", retry_after=60.0, details=details)
    elif codes & _TRADING_AUTH:
        error = ChannelAuthFailed(f"eBay refused the credentials: {text}", details=details)
    elif codes & _TRADING_SYSTEM:
        error = ChannelUnavailable(f"eBay is unavailable: {text}", details=details)
    elif not per_item:
        error = ChannelRejected(text, details=details)
    if error is not None:
        raise error


def _trading_errors(answer: Element) -> list[_TradingError]:
    return [_TradingError(e) for e in _children(answer, "Errors") if _text(e, "SeverityCode") != "Warning"]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: Element, name: str) -> str:
    found = next(iter(_children(element, name)), None)
    return (found.text or "").strip() if found is not None else ""


def _ack(answer: Element) -> str:
    return _text(answer, "Ack")


def _keys(batch: list[QuantityUpdate]) -> set[str]:
    return {u.sku for u in batch} | {str(u.listing_id) for u in batch if u.listing_id}


def line_sku(item: Mapping[str, Any]) -> str:
    """A line's SKU; a legacy listing without one is keyed `ItemID` (or `ItemID-VariationID`)."""
    if item.get("sku"):
        return str(item["sku"])
    legacy = str(item.get("legacyItemId") or "")
    variation = str(item.get("legacyVariationId") or "")
    return f"{legacy}-{variation}" if legacy and variation else legacy


def line_cancelled(item: Mapping[str, Any]) -> bool:
    """A line cancelled out of its order: not fulfilled, and refunded its whole (discounted) cost."""
    if item.get("lineItemFulfillmentStatus") == "FULFILLED":
        return False
    cost = money((item.get("discountedLineItemCost") or item.get("lineItemCost") or {}).get("value"))
    refunds = [money((refund.get("amount") or {}).get("value"))
               for refund in item.get("refunds") or [] if isinstance(refund, dict)]
    refunded = sum((amount for amount in refunds if amount is not None), Decimal(0))
    return cost is not None and refunded > 0 and refunded >= cost


def _unit_price(item: Mapping[str, Any]) -> Decimal | None:
    cost = money((item.get("lineItemCost") or {}).get("value"))
    quantity = units(item.get("quantity"))
    return cost / quantity if cost is not None and quantity else None


def _rest_errors(errors: Any) -> str:
    return "; ".join(str(e.get("longMessage") or e.get("message") or e.get("errorId"))
                     for e in errors or [] if isinstance(e, dict))


class _Variations:
    """Who a variation's parent is and what sets it apart, read once per group or listing."""

    def __init__(self, adapter: EbayAdapter, items: Mapping[str, Mapping[str, Any]]) -> None:
        self.adapter, self.items = adapter, items
        self.varies_by: dict[str, list[str]] = {}
        self.trading: dict[str, dict[str, dict[str, str]]] = {}

    def of(self, item_id: str, sku: str) -> tuple[str, dict[str, str]]:
        """(parent, attributes) of a variation of the listing `item_id`."""
        item = self.items.get(sku)
        if item is not None:  # an Inventory-API variation: its inventory item group
            group = next((str(key) for key in item.get("groupIds") or item.get("inventoryItemGroupKeys") or []
                          if key), "")
            if not group:
                return item_id, {}
            if group not in self.varies_by:
                specifications = (self.adapter.inventory_item_group(group).get("variesBy") or {}).get(
                    "specifications") or []
                self.varies_by[group] = [str(s.get("name")) for s in specifications if isinstance(s, dict)
                                         and s.get("name")]
            aspects = (item.get("product") or {}).get("aspects") or {}
            return group, {name: str(aspects[name][0]) for name in self.varies_by[group]
                           if isinstance(aspects.get(name), list) and aspects[name]}
        if item_id not in self.trading:
            self.trading[item_id] = self.adapter.trading_variations(item_id)
        return item_id, self.trading[item_id].get(sku, {})


def _sku_details(stream: IO[bytes], titles: dict[str, str], currency: str,
                 grouping: _Variations) -> Iterator[Listing]:
    """Each SKUDetails (and each of its Variations) of an ActiveInventoryReport, streamed."""
    try:
        for _event, element in iterparse(stream, events=("end",)):  # noqa: S314
            if _local(element.tag) != "SKUDetails":
                continue
            fields = {_local(child.tag): child for child in element}
            item_id = (fields["ItemID"].text or "").strip() if "ItemID" in fields else ""
            variations = [v for v in element.iter() if _local(v.tag) == "Variation"]
            for row in variations or [element]:
                values = {_local(child.tag): child for child in row}
                sku = (values["SKU"].text or "").strip() if "SKU" in values else ""
                if not sku:
                    continue
                price = values.get("Price")
                parent, attributes = grouping.of(item_id, sku) if row is not element else ("", {})
                yield Listing(
                    sku=sku, title=titles.get(sku, ""),
                    price=decimal_text((price.text or "").strip()) if price is not None else "",
                    quantity=(values["Quantity"].text or "").strip() if "Quantity" in values else "",
                    currency=(price.get("currencyID") if price is not None else None) or currency,
                    listing_id=item_id,
                    listing_kind=KIND_INVENTORY_API if sku in titles else KIND_TRADING,
                    parent=parent, variation=attributes,
                )
            element.clear()
    except SyntaxError as exc:  # ElementTree's ParseError
        raise ChannelRejected(f"eBay's active inventory report is not readable XML: {exc}") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
