"""eBay stand-in: OAuth refresh-token grant, Sell Feed inventory tasks (LMS_ACTIVE_INVENTORY_REPORT,
the result a zip of ActiveInventoryReport XML) and Inventory API inventory items. Listings are
Inventory-API (`kind="inventory_api"`) or legacy Trading ones."""

from __future__ import annotations

import io
import itertools
import zipfile
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from infrastructure.standins.base import StandIn, json_response
from infrastructure.standins.contract import Contract, RoutedContract, spec
from infrastructure.standins.demo_listings import DemoListing, demo_listings

FEED, INVENTORY = "/sell/feed/v1", "/sell/inventory/v1"
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "demo-ebay-app", "demo-ebay-secret", "v^1.1#demo-refresh"


def ebay_contract() -> RoutedContract:
    return RoutedContract([
        (FEED, Contract(spec("ebay", "sell_feed_v1_oas3.json"), f"https://api.ebay.com{FEED}")),
        (INVENTORY, Contract(spec("ebay", "sell_inventory_v1_oas3.json"), f"https://api.ebay.com{INVENTORY}")),
    ])


class EbayStandIn(StandIn):
    name = "ebay"
    limits = {"create_task": (1.0, 5), "inventory_items": (20.0, 40)}

    def __init__(self, *, listings: list[DemoListing] | None = None, inventory_api_skus: set[str] | None = None,
                 polls_until_done: int = 1, **kwargs: Any) -> None:
        self.listings = listings if listings is not None else demo_listings("EBAY", products=4, colours=5,
                                                                            id_base=110000000000)
        # Every other listing is an Inventory-API one unless told otherwise.
        self.inventory_api_skus = (inventory_api_skus if inventory_api_skus is not None
                                   else {item.sku for n, item in enumerate(self.listings) if n % 2 == 0})
        self.polls_until_done = polls_until_done
        self.tasks: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self._ids = itertools.count(1)
        kwargs.setdefault("contract", ebay_contract())
        super().__init__(**kwargs)

    def rules(self) -> list[Rule]:
        return [
            Rule("/identity/v1/oauth2/token", endpoint="token", methods=["POST"]),
            Rule(f"{FEED}/inventory_task", endpoint="create_task", methods=["POST"]),
            Rule(f"{FEED}/inventory_task/<task_id>", endpoint="get_task", methods=["GET"]),
            Rule(f"{FEED}/task/<task_id>/download_result_file", endpoint="result_file", methods=["GET"]),
            Rule(f"{INVENTORY}/inventory_item", endpoint="inventory_items", methods=["GET"]),
        ]

    def fault_response(self, status: int) -> Response:
        body = {"errors": [{"errorId": 2001 if status == 429 else 2003, "domain": "ACCESS", "category": "REQUEST",
                            "message": "Too many requests" if status == 429 else "Internal error"}]}
        return json_response(body, status, {"Retry-After": "1"} if status == 429 else None)

    def token(self, request: Request) -> Response:
        auth = request.authorization
        if (not auth or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET)
                or request.form.get("refresh_token") != REFRESH_TOKEN):
            return json_response({"error": "invalid_client", "error_description": "client authentication failed"}, 401)
        token = f"v^1.1#i^1#demo-{next(self._ids)}"
        with self.lock:
            self.tokens.add(token)
        return json_response({"access_token": token, "expires_in": 7200, "token_type": "User Access Token"})

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens:
            return None
        return json_response({"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST",
                                          "message": "Invalid access token"}]}, 401)

    def create_task(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        body = request.get_json(silent=True) or {}
        if body.get("feedType") != "LMS_ACTIVE_INVENTORY_REPORT":
            return json_response({"errors": [{"errorId": 160017, "domain": "API_FEED", "category": "REQUEST",
                                              "message": "The 'feedType' is missing or invalid."}]}, 400)
        with self.lock:
            task_id = f"task-{next(self._ids)}-demo"
            self.tasks[task_id] = {"taskId": task_id, "status": "QUEUED", "feedType": body["feedType"],
                                   "creationDate": _now(), "schemaVersion": body.get("schemaVersion", "1.0"),
                                   "polls": 0}
        return Response(status=202, headers={"Location": f"{self.url}{FEED}/inventory_task/{task_id}"})

    def get_task(self, request: Request, task_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                return json_response({"errors": [{"errorId": 160003, "domain": "API_FEED", "category": "REQUEST",
                                                  "message": f"Task {task_id} does not exist."}]}, 404)
            task["polls"] += 1
            if task["status"] != "COMPLETED":
                task["status"] = "COMPLETED" if task["polls"] >= self.polls_until_done else "IN_PROCESS"
                if task["status"] == "COMPLETED":
                    task["completionDate"] = _now()
            return json_response({k: v for k, v in task.items() if k != "polls"})

    def result_file(self, request: Request, task_id: str) -> Response:
        if refused := self._unauthorized(request):
            return refused
        if self.tasks.get(task_id, {}).get("status") != "COMPLETED":
            return json_response({"errors": [{"errorId": 160014, "domain": "API_FEED", "category": "REQUEST",
                                              "message": "The file is not ready."}]}, 404)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            zipped.writestr(f"{task_id}_report.xml", self.report_xml())
        return Response(archive.getvalue(), 200, content_type="application/octet-stream",
                        headers={"content-disposition": f'attachment; filename="{task_id}.zip"'})

    def report_xml(self) -> str:
        rows = []
        with self.lock:
            for item in self.listings:
                if item.active:
                    rows.append(f"<SKUDetails><SKU>{escape(item.sku)}</SKU><Price>{item.price:.2f}</Price>"
                                f"<Quantity>{item.quantity}</Quantity><ItemID>{item.listing_id}</ItemID></SKUDetails>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<ActiveInventoryReport>\n'
                + "\n".join(rows) + "\n</ActiveInventoryReport>\n")

    def inventory_items(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        limit, offset = int(request.args.get("limit", 25)), int(request.args.get("offset", 0))
        with self.lock:
            items = [item for item in self.listings if item.sku in self.inventory_api_skus]
        page = items[offset:offset + limit]
        return json_response({
            "href": f"{self.url}{INVENTORY}/inventory_item?limit={limit}&offset={offset}", "limit": limit,
            "size": len(page), "total": len(items),
            "inventoryItems": [{"sku": item.sku, "locale": "en_GB", "condition": "NEW",
                                "product": {"title": item.title},
                                "availability": {"shipToLocationAvailability": {"quantity": item.quantity}}}
                               for item in page],
        })


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
