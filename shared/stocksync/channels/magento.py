"""Magento 2 (Adobe Commerce) REST. Catalogue: products search pages (searchCriteria pageSize /
currentPage) of 300, the most a shop with Web API input limits on accepts; the first page says how
many there are (total_count: asking past the last page answers the last page again), the others are
read four at a time, in order; quantities from MSI source items (summed over the channel's mapped sources, or every
source) or, for the legacy inventory, the product's stock item. The search carries no stock item
(only GET products/{sku} does), so it is read with GET stockItems/{sku}: per product for the
legacy inventory, and in zero_backorder mode for the enabled products at 0, whose state is ours
("backorders") when their stock item allows back-orders itself and is in stock. A reload then keeps
the state the restock undoes.

Configurable products: the configurable parent has no stock of its own and is no listing; each of
its simple children is, naming the configurable's SKU as its parent and, as its attributes, the
label of each configurable option (attribute) with the child's option of it. The configurables are
read first (the search filtered on type_id), each with its children (GET configurable-products/
{sku}/children: their option ids in custom_attributes) and each attribute once (the attribute
search by attribute_id: its code and its options' labels).

Stock (settings `inventory_api`: "msi" or "legacy"; `out_of_stock_mode`: "disable" or
"zero_backorder"; `source_codes`: our location id -> MSI source code):
- MSI: POST inventory/source-items, every mapped source of each listing, the target split over the
  sources by their locations' stock (split_quantity below); unmapped channels use "default".
  Magento takes or refuses the whole call: a refused batch is sent again listing by listing so that
  the error lands on the listing that caused it.
- legacy: the product's stock item read (its item_id and settings) and PUT back with the quantity.
- out of stock: the product disabled (PUT products/{sku} status 2), or kept enabled at quantity 0
  with back-orders allowed on its stock item; a restock enables it / turns back-orders off again.
  The status is written under /rest/all/V1, the global scope every store view follows: under a
  store view's code it is that view's own value (its website's, status being website-scoped), and
  the other views would keep selling. The channel's store view is read back and, when it still
  shows another status (a value of its own, as earlier versions of this adapter wrote), written
  too; other views the seller gave a status of their own keep it (Magento's REST API cannot remove
  a store-view value). Stock items and source items have no store scope.

Orders: GET orders with searchCriteria updated_at gteq (Magento keeps whole seconds: an order
changed within the cursor's second is read again rather than missed; importing is idempotent),
sorted by updated_at, 50 a page until total_count. Our order id is the increment_id the seller
sees (fetch_order searches by it); the entity_id is kept in raw_reference. The status comes from
`state`: new, pending_payment, payment_review, processing and holded are open; complete is
shipped; canceled is cancelled; closed (fully refunded) is shipped when anything was shipped
(the units left the warehouse; a return is the seller's to book) and cancelled otherwise. A
configurable product is two items (the configurable parent, the simple child): they are one line,
the child's SKU with the parent's quantities. A bundle's children are its lines (each is its own
stock), the bundle parent none. A line's units are qty_ordered - qty_canceled - qty_refunded;
once shipped, qty_shipped.

Auth: an integration access token as `Authorization: Bearer`, or, given consumer key/secret and
token secret, OAuth 1.0a HMAC-SHA256 signatures made by oauthlib's client (Magento's default for
integration tokens); a refused signature is ChannelAuthFailed, as a refused token is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client  # type: ignore[import-untyped]

from stocksync.channels.base import (
    ChannelNotConfigured,
    ChannelRejected,
    Listing,
    PagedListingsAdapter,
    QuantityResult,
    QuantityStatus,
    QuantityUpdate,
    decimal_text,
)
from stocksync.channels.order_side import (
    ChannelOrder,
    ChannelOrderLine,
    OrderPage,
    OrderStatus,
    money,
    parse_time,
    units,
)
from stocksync.core.chunks import batched, mapped_in_order

# Search pages as large as a shop with Magento's Web API input limits on accepts (its default maximum page
# size, 300): a catalogue read in a third of the calls pages of 100 took.
PAGE_SIZE = 300
PAGES_AT_ONCE = 4  # catalogue pages read at once (each a product search and its source items)
ENABLED, DISABLED = 1, 2
CONFIGURABLE = "configurable"  # a product type: the parent of simple children, with no stock of its own
MSI_BATCH = 100  # listings per source-items call (Magento sets no limit; keeps a call well under a second)
DEFAULT_SOURCE = "default"
IN_STOCK, OUT_OF_STOCK = 1, 0
BACKORDERS_ALLOWED = 1  # \Magento\CatalogInventory\Model\Stock::BACKORDERS_YES_NONOTIFY
ZERO_BACKORDER = "zero_backorder"
BACKORDER_STATE = "backorders"  # our listing state: enabled, quantity 0, back-orders allowed
ORDERS_PAGE = 50
ALL_STORES = "all"  # the store code of the global scope: a product status written there holds in every view
_OPEN_STATES = {"new", "pending_payment", "payment_review", "processing", "holded"}


class MagentoAdapter(PagedListingsAdapter):
    label = "Magento"

    def base_url(self) -> str:
        return self.rest_url(str(self.settings.get("store_code") or "default"))

    def rest_url(self, store: str) -> str:
        """The REST API at a store code's scope: a store view's code, or `all` (the global scope)."""
        if not self.settings.get("base_url"):
            raise ChannelNotConfigured("The Magento channel has no base_url")
        return f"{str(self.settings['base_url']).rstrip('/')}/rest/{store}/V1"

    @property
    def oauth1(self) -> bool:
        return all(self.credentials.get(n) for n in ("consumer_key", "consumer_secret", "access_token_secret"))

    def auth_headers(self, token: str | None) -> dict[str, str]:
        if self.oauth1:
            return {}
        self.require("access_token")
        return {"Authorization": f"Bearer {self.credentials['access_token']}"}

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        if not self.oauth1:
            return {}
        return {"Authorization": oauth1_header(method, url, self.credentials)}

    # --- catalogue -----------------------------------------------------------------------

    def listings(self) -> Iterator[Listing]:
        variations = self.configurable_children()
        for products, quantities in self._catalogue_pages():
            for product in products:
                sku = str(product.get("sku") or "")
                parent, attributes = variations.get(sku, ("", {}))
                yield Listing(
                    sku=sku, title=str(product.get("name") or ""), price=decimal_text(product.get("price")),
                    quantity=decimal_text(quantities.get(sku)), listing_id=str(product.get("id") or ""),
                    state=self.listing_state(product, quantities.get(sku)), parent=parent, variation=attributes,
                )

    def configurable_children(self) -> dict[str, tuple[str, dict[str, str]]]:
        """Every configurable's simple children: child SKU -> (configurable SKU, option label -> value label)."""
        found: dict[str, tuple[str, dict[str, str]]] = {}
        attributes: dict[str, tuple[str, dict[str, str]]] = {}  # attribute id -> (code, option id -> label)
        for page in self.product_pages({"searchCriteria[filterGroups][0][filters][0][field]": "type_id",
                                        "searchCriteria[filterGroups][0][filters][0][value]": CONFIGURABLE,
                                        "searchCriteria[filterGroups][0][filters][0][conditionType]": "eq"}):
            for configurable in page:
                sku = str(configurable.get("sku") or "")
                options = [o for o in (configurable.get("extension_attributes") or {}).get(
                    "configurable_product_options") or [] if isinstance(o, dict) and o.get("attribute_id")]
                for option in options:
                    key = str(option["attribute_id"])
                    if key not in attributes:
                        attributes[key] = self._attribute(key)
                children = self.call_json("GET", f"configurable-products/{quote(sku, safe='')}/children") or []
                for child in children:
                    values = {str(a.get("attribute_code")): str(a.get("value"))
                              for a in child.get("custom_attributes") or [] if isinstance(a, dict)}
                    chosen = {}
                    for option in options:
                        code, labels = attributes[str(option["attribute_id"])]
                        if code in values:
                            chosen[str(option.get("label") or code)] = labels.get(values[code], values[code])
                    found[str(child.get("sku") or "")] = (sku, chosen)
        return found

    def _attribute(self, attribute_id: str) -> tuple[str, dict[str, str]]:
        """An attribute's code and its options' labels (option id -> label)."""
        answer = self.call_json("GET", "products/attributes", params={
            "searchCriteria[filterGroups][0][filters][0][field]": "attribute_id",
            "searchCriteria[filterGroups][0][filters][0][value]": attribute_id,
            "searchCriteria[filterGroups][0][filters][0][conditionType]": "eq"}) or {}
        item: Mapping[str, Any] = next(iter(answer.get("items") or []), {})
        return str(item.get("attribute_code") or ""), {
            str(o.get("value")): str(o.get("label") or "").strip() for o in item.get("options") or []
            if isinstance(o, dict) and str(o.get("value") or "")}

    def listing_state(self, product: dict[str, Any], quantity: float | None) -> str:
        """disabled, active, or (in zero_backorder mode) ours at 0: enabled with back-orders allowed.
        Reading that as "active" would leave back-orders on at the restock, which only undoes a state
        it knows (an oversell). Only then is the stock item read: Magento's product search omits it."""
        if int(product.get("status") or ENABLED) != ENABLED:
            return "disabled"
        if self.backorder_mode and not (quantity or 0) > 0:
            stock = self._stock_item(product)
            if stock is not None and backorders_allowed(stock) and stock.get("is_in_stock"):
                return BACKORDER_STATE
        return "active"

    def _catalogue_pages(self) -> Iterator[tuple[list[dict[str, Any]], dict[str, float]]]:
        """Each page of the catalogue's products (configurables left out: their children hold the
        stock) with their quantities. The first page says how many there are; the others are read
        PAGES_AT_ONCE at a time, each with its quantities, and come in order."""

        def with_quantities(page: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, float]]:
            products = [p for p in page if p.get("type_id") != CONFIGURABLE]
            return products, self.quantities(products) if products else {}

        first, total = self._product_page(None, 1)
        yield with_quantities(first)
        last = -(-total // PAGE_SIZE)
        yield from mapped_in_order(lambda page: with_quantities(self._product_page(None, page)[0]),
                                   range(2, last + 1), at_once=PAGES_AT_ONCE)

    def product_pages(self, search: Mapping[str, str] | None = None) -> Iterator[list[dict[str, Any]]]:
        page, seen = 1, 0
        while True:
            items, total = self._product_page(search, page)
            if items:
                yield items
            seen += len(items)
            if not items or seen >= total:
                return
            page += 1

    def _product_page(self, search: Mapping[str, str] | None, page: int) -> tuple[list[dict[str, Any]], int]:
        """One page of a product search and the search's total_count. A page past the last answers the
        last page again: what lies past total_count is left out."""
        answer = self.call_json("GET", "products", params={
            **(search or {}), "searchCriteria[pageSize]": PAGE_SIZE, "searchCriteria[currentPage]": page,
            "searchCriteria[sortOrders][0][field]": "entity_id",
            "searchCriteria[sortOrders][0][direction]": "ASC",
        })
        total = int(answer.get("total_count") or 0)
        return list(answer.get("items") or [])[: max(total - (page - 1) * PAGE_SIZE, 0)], total

    def quantities(self, products: list[dict[str, Any]]) -> dict[str, float]:
        if self.legacy:
            return {
                str(p.get("sku")): float(stock.get("qty") or 0)
                for p in products
                if (stock := self._stock_item(p)) is not None
            }
        return self._source_quantities([str(p.get("sku")) for p in products])

    def _stock_item(self, product: dict[str, Any]) -> Mapping[str, Any] | None:
        """The product's legacy stock item: from the product when it carries one (GET products/{sku}
        does, the search does not), else read, and kept on the product for the next question."""
        extension = product.setdefault("extension_attributes", {})
        if extension.get("stock_item") is None:
            extension["stock_item"] = self.call_json("GET", f"stockItems/{quote(str(product.get('sku')), safe='')}")
        return extension["stock_item"]

    def _source_quantities(self, skus: list[str]) -> dict[str, float]:
        sources = set((self.settings.get("source_codes") or {}).values())
        totals: dict[str, float] = {}
        page, seen = 1, 0
        while skus:
            answer = self.call_json("GET", "inventory/source-items", params={
                "searchCriteria[filterGroups][0][filters][0][field]": "sku",
                "searchCriteria[filterGroups][0][filters][0][value]": ",".join(skus),
                "searchCriteria[filterGroups][0][filters][0][conditionType]": "in",
                "searchCriteria[pageSize]": PAGE_SIZE, "searchCriteria[currentPage]": page,
            })
            items = list(answer.get("items") or [])
            total = int(answer.get("total_count") or 0)
            items = items[: max(total - seen, 0)]
            for item in items:
                if not sources or item.get("source_code") in sources:
                    sku = str(item.get("sku"))
                    totals[sku] = totals.get(sku, 0) + float(item.get("quantity") or 0)
            seen += len(items)
            if not items or seen >= total:
                break
            page += 1
        return totals


    # --- orders --------------------------------------------------------------------------

    order_poll_minutes: ClassVar[int] = 2

    def orders_configured(self) -> bool:
        return bool(self.settings.get("base_url"))

    def fetch_orders(self, updated_after: datetime, page: str | None = None) -> OrderPage:
        current = int(page or 1)
        answer = self._search_orders({
            "searchCriteria[filterGroups][0][filters][0][field]": "updated_at",
            "searchCriteria[filterGroups][0][filters][0][value]": magento_time(updated_after),
            "searchCriteria[filterGroups][0][filters][0][conditionType]": "gteq",
            "searchCriteria[sortOrders][0][field]": "updated_at",
            "searchCriteria[sortOrders][0][direction]": "ASC",
            "searchCriteria[pageSize]": ORDERS_PAGE, "searchCriteria[currentPage]": current,
        })
        total = int(answer.get("total_count") or 0)
        seen = (current - 1) * ORDERS_PAGE
        items = list(answer.get("items") or [])[: max(total - seen, 0)]  # past the last page: none
        more = bool(items) and seen + len(items) < total
        return OrderPage([self.channel_order(o) for o in items if isinstance(o, dict)],
                         str(current + 1) if more else None)

    def fetch_order(self, order_id: str) -> ChannelOrder | None:
        answer = self._search_orders({
            "searchCriteria[filterGroups][0][filters][0][field]": "increment_id",
            "searchCriteria[filterGroups][0][filters][0][value]": order_id,
            "searchCriteria[filterGroups][0][filters][0][conditionType]": "eq",
            "searchCriteria[pageSize]": 1, "searchCriteria[currentPage]": 1,
        })
        found = [o for o in answer.get("items") or [] if isinstance(o, dict) and str(o.get("increment_id")) == order_id]
        return self.channel_order(found[0]) if found and int(answer.get("total_count") or 0) else None

    def _search_orders(self, params: dict[str, Any]) -> Mapping[str, Any]:
        self.limited("orders")
        return self.call_json("GET", "orders", params=params) or {}

    def channel_order(self, order: Mapping[str, Any]) -> ChannelOrder:
        """A sales order (salesDataOrderInterface) as ours."""
        order_id = str(order.get("increment_id") or order.get("entity_id") or "")
        updated = parse_time(order.get("updated_at") or order.get("created_at"))
        if not order_id or updated is None:
            raise ChannelRejected("Magento answered an order without increment_id or updated_at",
                                  details={"entity_id": order.get("entity_id")})
        items: list[Mapping[str, Any]] = [i for i in order.get("items") or [] if isinstance(i, dict)]
        state = str(order.get("state") or "")
        shipped_any = any(units(i.get("qty_shipped")) for i in items)
        status = order_status(state, shipped_any)
        name = " ".join(str(order.get(k) or "") for k in ("customer_firstname", "customer_lastname")).strip()
        return ChannelOrder(
            order_id=order_id, status=status, fulfilled_by_channel=False, updated_at=updated,
            lines=order_lines(items, shipped=status == OrderStatus.SHIPPED),
            placed_at=parse_time(order.get("created_at")), currency=order.get("order_currency_code"),
            total=money(order.get("grand_total")), buyer_name=name,
            channel_status=str(order.get("status") or state),
            raw_reference={"entity_id": str(order.get("entity_id") or ""), "store_id": order.get("store_id")},
        )

    # --- stock ---------------------------------------------------------------------------

    bulk_size: ClassVar[int] = MSI_BATCH
    batches_at_once: ClassVar[int] = 4

    @property
    def legacy(self) -> bool:
        return self.settings.get("inventory_api", "msi") == "legacy"

    @property
    def backorder_mode(self) -> bool:
        return self.settings.get("out_of_stock_mode") == ZERO_BACKORDER

    def quantity_batches(self, updates: Sequence[QuantityUpdate]) -> Iterator[list[QuantityUpdate]]:
        return batched(updates, 1 if self.legacy else MSI_BATCH)

    def send_quantity_batch(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        results = [self._legacy_quantity(batch[0])] if self.legacy else self._source_items(batch)
        return self.then_transitions(batch, results, self._transition)

    def _source_items(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        try:
            self.limited("source_items")
            self.call_json("POST", "inventory/source-items", json={
                "sourceItems": [row for u in batch for row in self.source_rows(u)]})
        except ChannelRejected as exc:
            if len(batch) == 1:
                return [QuantityResult(batch[0].sku, QuantityStatus.ERROR, _magento_message(exc))]
            return [r for u in batch for r in self.guarded([u], self._source_items)]
        return [QuantityResult(u.sku, QuantityStatus.OK) for u in batch]

    def place_split(self, update: QuantityUpdate) -> dict[str, int] | None:
        return None if self.legacy else {row["source_code"]: row["quantity"] for row in self.source_rows(update)}

    def source_rows(self, update: QuantityUpdate) -> list[dict[str, Any]]:
        """The listing's source items: the target split over the mapped sources by their stock."""
        mapping: Mapping[str, str] = self.settings.get("source_codes") or {}
        shares = dict.fromkeys((str(code) for code in mapping.values()), 0)  # every mapped source, cleared
        for location_id, available in update.locations.items():
            if location_id in mapping:
                shares[str(mapping[location_id])] += max(int(available), 0)
        split = split_quantity(update.quantity, shares or {DEFAULT_SOURCE: update.quantity})
        status = IN_STOCK if update.quantity > 0 or self.backorder_mode else OUT_OF_STOCK
        return [{"sku": update.sku, "source_code": code, "quantity": quantity,
                 "status": IN_STOCK if quantity > 0 else status} for code, quantity in split.items()]

    def _legacy_quantity(self, update: QuantityUpdate) -> QuantityResult:
        """The stock item as Magento has it, with our quantity (and back-orders, in that mode)."""
        try:
            self._put_stock_item(update, qty=True)
        except ChannelRejected as exc:
            return QuantityResult(update.sku, QuantityStatus.ERROR, _magento_message(exc))
        return QuantityResult(update.sku, QuantityStatus.OK)

    def _put_stock_item(self, update: QuantityUpdate, *, qty: bool) -> None:
        sku = quote(update.sku, safe="")
        self.limited("stock_items")
        item = dict(self.call_json("GET", f"stockItems/{sku}") or {})
        if "item_id" not in item:
            raise ChannelRejected(f"Magento has no stock item for {update.sku}")
        backorders = self.backorder_mode and update.quantity <= 0
        if qty:
            item["qty"] = max(update.quantity, 0)
        item["is_in_stock"] = update.quantity > 0 or backorders
        if self.backorder_mode:
            item["use_config_backorders"] = False
            item["backorders"] = BACKORDERS_ALLOWED if backorders else 0
        self.call_json("PUT", f"products/{sku}/stockItems/{item['item_id']}", json={"stockItem": item})

    def _transition(self, batch: list[QuantityUpdate]) -> list[QuantityResult]:
        """Out of stock: disable the product, or allow back-orders at 0. Restock: undo what was done."""
        update = batch[0]
        if self.backorder_mode:
            if not self.legacy:  # back-orders live on the stock item (legacy already wrote it)
                self._put_stock_item(update, qty=False)
            if update.state == "disabled" and update.quantity > 0:
                self._product_status(update.sku, ENABLED)
            state = "active" if update.quantity > 0 else BACKORDER_STATE
        else:
            self._product_status(update.sku, ENABLED if update.quantity > 0 else DISABLED)
            state = "active" if update.quantity > 0 else "disabled"
        return [QuantityResult(update.sku, QuantityStatus.OK, state=state)]

    def _product_status(self, sku: str, status: int) -> None:
        """Enable or disable the product in every store view: written at the global scope (`all`);
        under a store view's code it would be that view's own value, and the others would keep selling.
        The channel's own store view is read back: a value of its own there (versions of stocksync
        before this one wrote the status under it) outlives the global one, so it is written too."""
        path, body = f"products/{quote(sku, safe='')}", {"product": {"sku": sku, "status": status}}
        self.limited("products")
        self.call_json("PUT", f"{self.rest_url(ALL_STORES)}/{path}", json=body)
        self.limited("products")
        shown = self.call_json("GET", path) or {}
        if int(shown.get("status") or status) != status:
            self.limited("products")
            self.call_json("PUT", path, json=body)


def backorders_allowed(stock: Mapping[str, Any]) -> bool:
    """The stock item's own back-orders setting allows them (one following the store's
    configuration is the seller's, not ours)."""
    return not stock.get("use_config_backorders") and int(stock.get("backorders") or 0) > 0


def magento_time(moment: datetime) -> str:
    """Magento's `YYYY-MM-DD HH:MM:SS` (UTC, whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def order_status(state: str, shipped_any: bool) -> OrderStatus:
    if state in _OPEN_STATES:
        return OrderStatus.OPEN
    if state == "complete":
        return OrderStatus.SHIPPED
    if state == "canceled":
        return OrderStatus.CANCELLED
    if state == "closed":
        return OrderStatus.SHIPPED if shipped_any else OrderStatus.CANCELLED
    raise ChannelRejected(f"Magento answered an unknown order state {state!r}")


def order_lines(items: list[Mapping[str, Any]], *, shipped: bool) -> tuple[ChannelOrderLine, ...]:
    """One line per unit of stock: a configurable's parent and child once (the child's SKU, the
    parent's quantities), a bundle's children (not the bundle)."""
    by_id = {str(i.get("item_id")): i for i in items if i.get("item_id") is not None}
    children: dict[str, Mapping[str, Any]] = {}
    for item in items:
        if item.get("parent_item_id") is not None:
            children.setdefault(str(item["parent_item_id"]), item)
    lines = []
    for item in items:
        parent = by_id.get(str(item.get("parent_item_id"))) if item.get("parent_item_id") is not None else None
        if parent is not None and parent.get("product_type") == "configurable":
            continue  # counted on its configurable parent
        if item.get("product_type") == "bundle" and str(item.get("item_id")) in children:
            continue  # its children are the stock
        child = children.get(str(item.get("item_id"))) if item.get("product_type") == "configurable" else None
        net = units(item.get("qty_ordered")) - units(item.get("qty_canceled")) - units(item.get("qty_refunded"))
        quantity = units(item.get("qty_shipped")) if shipped and units(item.get("qty_shipped")) else max(net, 0)
        lines.append(ChannelOrderLine(
            line_id=str(item.get("item_id") or ""), sku=str((child or item).get("sku") or ""), quantity=quantity,
            title=str(item.get("name") or ""), unit_price=money(item.get("price"))))
    return tuple(lines)


def _magento_message(exc: ChannelRejected) -> str:
    """Magento's own message (its %1 placeholders filled from `parameters`), else ours."""
    body = str((exc.details or {}).get("body") or "")
    try:
        answer = json.loads(body)
        message = str(answer.get("message") or "")
        parameters = answer.get("parameters") or []
        values = parameters.values() if isinstance(parameters, dict) else parameters
        for n, value in enumerate(values, start=1):
            message = message.replace(f"%{n}", str(value))
        return message or exc.message
    except (ValueError, AttributeError):
        return exc.message


def oauth1_header(method: str, url: str, credentials: Mapping[str, str]) -> str:
    """RFC 5849 `Authorization: OAuth ...` signed HMAC-SHA256 over the method, URL and query, by
    oauthlib. A JSON body is not signed (only a form-encoded one would be)."""
    client = Client(credentials["consumer_key"], client_secret=credentials["consumer_secret"],
                    resource_owner_key=credentials["access_token"],
                    resource_owner_secret=credentials["access_token_secret"], signature_method=SIGNATURE_HMAC_SHA256)
    _url, headers, _body = client.sign(url, http_method=method.upper())
    return str(headers["Authorization"])


def split_quantity(target: int, shares: dict[str, int]) -> dict[str, int]:
    """`target` spread over places (Magento sources) that hold `shares` of the stock, in order: each
    takes up to its own share, so an undersold total comes off the later ones; a total above the
    shares (a kit buildable only across locations) goes on the first. Always sums to `target`."""
    if not shares:
        return {}
    left = max(int(target), 0)
    split: dict[str, int] = {}
    for key, share in shares.items():
        split[key] = min(max(int(share), 0), left)
        left -= split[key]
    first = next(iter(split))
    split[first] += left
    return split
