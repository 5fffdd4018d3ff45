"""Sale to channels: how soon a sale on one channel takes the units off every other channel.

  sale_to_channels_p95_s     p95 over 120 sales of the seconds from a buyer's order at the Amazon
                             stand-in (the moment the bench sends `POST /_standin/orders`, so the
                             stand-in's own handling counts) until every OTHER linked listing of that
                             item, on the eBay, Magento, Rakuten and web-shop stand-ins, shows a quantity
                             at or below what that channel may sell after that sale (or is no longer for
                             sale), as read from their `GET /_standin/listings`.
  sale_to_channels_median_s  the median of the same
  sale_to_channels_max_s     the slowest sale (a sale not seen within LATE_S counts as LATE_S, and
  sale_to_channels_late      how many those were)

The path measured is the real one: the stand-in sends Amazon's ORDER_CHANGE notification to the local
stack's OrderNotificationQueue (moto's SQS), the OrderNotificationsFunction fetches the order it names
(getOrder: a notification is a hint, never content to allocate from) and imports it, the items go on
the stock queue, the StockSubmitterFunction (its SQS event from template.yaml: no batching window, so
it is invoked as soon as a message is visible, and takes whatever else waits on the queue into the
same run) sends each channel its new quantity. The monitor reads the four stand-ins about every
0.2 s, so a figure is late by up to one reading round.

Sales go to Amazon, the channel that notifies (the others are polled every 2 minutes by contract: their
latency is the poll cadence). 15 demo items sold on Amazon (MUG, TEE, CAP x five colours, each linked on
Amazon and on one to four of the measured channels) at 40 units each (set through the API first, so no
listing reaches 0), SALES_PER_S sales a second round-robin, so several are in flight at once.

Excluded: Pixmania. Mirakl documents one OF24 offers update a minute, so a sale reaches Pixmania up to a
minute later by contract, whatever we do.

How it runs: the local stack (`python -m infrastructure.local_stack`, fresh: moto in a process of its own,
the stand-ins and every function in another)
with its demo seller, its schedules SCHEDULE_SPEEDUP (7.5) times faster, the order poller at its real
per-channel cadence (ORDER_POLL_SPEEDUP=1). Set-up: the stack's READY line comes once its demo seller
can sell (infrastructure/demo_seller.py DemoReadiness: it asked each channel for its catalogue, as a
seller would, Rakuten's Force Mapping Refresh included, allowed once in 4 hours, and waited until each
was loaded, linked and synced); the bench checks that each channel it uses is so (GET
/channels/{id}/catalogue and /sync), sets the stock levels and waits for the stand-ins to show them.

The scheduled stock sync is not kept out of the figure: it runs in the same StockSubmitterFunction
as the stock queue (in a container of its own, as on AWS), reconciles every listing whose target
moved, so a run during the sales can deliver a sale before the queue's invocation does, and competes
with the queue's invocations for the machine. At speedup 7.5 it runs every 120 s (EventBridge's
rate(15 minutes), and the runner's timer counts from a run's end); the bench starts the sales within
10 s of a run's end (waiting for one if need be), so that every measurement sees the same share of
runs. At 0.4 sales a second the 120 sales take 300 s, so the next runs start during them, as they
would on AWS; stderr says how many sales were still in flight then.

Load: 0.4 sales a second (1,440 an hour; the model seller's 5,000 a day is 0.06 a second), under
Amazon's getOrder rate (0.5 a second, burst 30), which every notification costs: at one sale a second
the notifications wait for that budget after about 60 sales, and that wait, not ours, becomes the
figure (p95 60 s when it was tried). A seller selling faster than that on Amazon waits on Amazon
whatever we do. Where the time goes: the notification reaches the handler
at once and its import, getOrder call included, takes 0.3 to 1.3 s here; the stock queue hands the
item's message to the submitter as soon as it is visible (no batching window: a burst still shares
one submission, as the submitter takes what else is waiting itself), and the submission reaches the
channels at once (one thread per channel, ~0.5 s); then up to one monitor round. A sale whose stock
change arrives while a submission is in flight goes with the next run. Two things keep it down (without
both, p95 was about 27 s): the embedded AWS backs up only the items a TransactWriteItems names
(moto's own deep copy of the whole table per transaction, the import's and the submitter's, would
take most of the local stack's core), and the submitter sends to the channels in parallel. The other
schedules stay out of the way: the report poller asks for no catalogue again (the next is due hours,
or for Rakuten 27 minutes, after the last), and the PIM sync first runs 8 minutes in.

The order poller polls Amazon (searchOrders) every 3 minutes as on AWS, so once during the sales; an
order it finds before the notification is imported by the poll (the importer ignores the other): it
can only shorten a sale that is still in the notification queue at that instant. stderr says how many
orders the poll imported first (Amazon's ORDERS_IMPORTED events). Not measured: start-up, the
catalogues' loading and linking, setting the stock levels, waiting for the scheduled run.
"""

from __future__ import annotations

import re
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import requests

from bench import paced
from infrastructure.local.harness import START_TIMEOUT_S, StackProcess

SALES, SALES_PER_S, LEVEL = 120, 0.4, 40
SCHEDULE_SPEEDUP = 7.5  # the report poller every 40 s, the scheduled stock sync every 120 s
SYNC_EVERY_S = 15 * 60 / SCHEDULE_SPEEDUP  # StockSubmitterFunction's ScheduledSync, rate(15 minutes)
SALES_WINDOW_S = SALES / SALES_PER_S + 10  # the sales and the slowest ones' tail, clear of a scheduled sync
LATE_S = 60.0
STOP_TIMEOUT_S, SETTLE_TIMEOUT_S = 30, 180  # the start waits as long as the harness's (READY: the demo seller sells)
SOLD_ON, SLOW = "Amazon UK", "Pixmania"
STANDIN_OF = {"Amazon UK": "amazon", "eBay UK": "ebay", "Magento store": "magento", "Rakuten UK": "rakuten",
              "Web shop": "website"}
# The demo items Amazon lists that at least one other measured stand-in lists too (the GREY ones are on
# Amazon and Pixmania only; see infrastructure/demo/listings.py and each stand-in's choice).
ITEMS = [f"{code}-{colour}" for code in ("MUG", "TEE", "CAP") for colour in ("BLACK", "WHITE", "RED", "BLUE", "GREEN")]
# The runner's line when a ScheduledSync run of the StockSubmitterFunction ends (ok or raised).
_SCHEDULED_SYNC_ENDED = re.compile(r"StockSubmitterFunction(?: <- |-)ScheduledSync\b")


class Stack:
    """The local stack in a subprocess (the harness's), and a client of its API and stand-ins."""

    def __init__(self) -> None:
        self.sync_runs_ended: list[float] = []  # time.monotonic() of each scheduled sync run's end

        def watch(line: str) -> None:
            if _SCHEDULED_SYNC_ENDED.search(line):
                self.sync_runs_ended.append(time.monotonic())

        self.process = StackProcess({"STOCKSYNC_API_KEY": "bench", "STOCKSYNC_SCHEDULE_SPEEDUP": str(SCHEDULE_SPEEDUP),
                                     "ORDER_POLL_SPEEDUP": "1", "POWERTOOLS_LOG_LEVEL": "WARNING"},
                                    on_line=watch, start_timeout_s=paced(START_TIMEOUT_S))
        self.output = self.process.output
        self.api = self.process.api_url
        self.standins = self.process.standins
        self.http = self.process.session()

    def stop(self) -> None:
        self.process.stop(paced(STOP_TIMEOUT_S))

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(f"{self.api}{path}", params=params, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def shown(self, channel: str) -> dict[str, dict[str, Any]]:
        answer = requests.get(f"{self.standins[STANDIN_OF[channel]]}/_standin/listings", timeout=30)
        answer.raise_for_status()
        return {row["sku"]: row for row in answer.json()["listings"]}


def _settle(stack: Stack, channels: dict[str, str]) -> None:
    """Until each channel the bench uses has its catalogue loaded, its listings linked, and nothing
    waiting to be sent (never sent, retrying or awaiting the channel's result)."""
    deadline = time.monotonic() + paced(SETTLE_TIMEOUT_S)
    while True:
        waiting = {}
        for name in STANDIN_OF:
            load = stack.get(f"/channels/{channels[name]}/catalogue")["last_load"]
            summary = stack.get(f"/channels/{channels[name]}/sync")
            if load["status"] != "succeeded" or not summary["linked"] or summary["pending"] or summary["processing"]:
                waiting[name] = {"load": load["status"]} | {key: summary[key] for key in
                                                            ("linked", "pending", "processing", "errors", "ok")}
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo channels did not settle: {waiting}")
        time.sleep(1)


def _after_scheduled_sync(stack: Stack) -> float:
    """Wait, if need be, for a scheduled sync run to end, so that the next one starts after the sales.
    Answers when the next run starts (time.monotonic()); the runner's timer waits SYNC_EVERY_S
    after a run's end."""
    if stack.sync_runs_ended and stack.sync_runs_ended[-1] + SYNC_EVERY_S - time.monotonic() >= SALES_WINDOW_S:
        return stack.sync_runs_ended[-1] + SYNC_EVERY_S
    runs = len(stack.sync_runs_ended)
    deadline = time.monotonic() + SYNC_EVERY_S + 60
    while len(stack.sync_runs_ended) == runs:
        if time.monotonic() > deadline:
            raise RuntimeError("no scheduled stock sync run ended: " + "\n".join(stack.output[-20:]))
        time.sleep(0.1)
    return stack.sync_runs_ended[-1] + SYNC_EVERY_S


def _others(stack: Stack, channels: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Item SKU -> the (channel, listing SKU) of each linked, synced listing on the other channels."""
    others: dict[str, list[tuple[str, str]]] = {sku: [] for sku in ITEMS}
    for channel in set(STANDIN_OF) - {SOLD_ON}:
        cursor = None
        while True:
            page = stack.get(f"/channels/{channels[channel]}/listings", linked="true", limit=200,
                             **({"cursor": cursor} if cursor else {}))
            for row in page["listings"]:
                item = (row["linked_item"] or {}).get("sku")
                if item in others and not row["fba"] and not row["ignore_sync"]:
                    others[item].append((channel, row["sku"]))
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return others


def _stock_up(stack: Stack, locations: dict[str, str], others: dict[str, list[tuple[str, str]]]) -> dict[str, dict]:
    """Every item at LEVEL in the main warehouse, none in the overflow store; wait until the other
    channels show it. Answers what each channel may sell of each item."""
    for sku in ITEMS:
        item_id = next(i["item_id"] for i in stack.get("/items", q=sku, limit=50)["items"] if i["sku"] == sku)
        for where, level in (("Main warehouse", LEVEL), ("Overflow store", 0)):
            stack.http.put(f"{stack.api}/items/{item_id}/stock/{locations[where]}", json={"level": level},
                           timeout=30).raise_for_status()
    deadline = time.monotonic() + paced(SETTLE_TIMEOUT_S)
    while True:
        available = {sku: {row["name"]: row["available"] for row in stack.get(
            f"/items/{_item_id(stack, sku)}/available")["channels"]} for sku in ITEMS}
        shown = {channel: stack.shown(channel) for channel in STANDIN_OF}
        wrong = [(channel, listing) for sku, where in others.items() for channel, listing in where
                 if shown[channel][listing]["quantity"] != available[sku][channel]]
        wrong += [sku for sku in ITEMS if shown[SOLD_ON][sku]["quantity"] < SALES // len(ITEMS) + 2]
        if not wrong:
            return available
        if time.monotonic() > deadline:
            raise RuntimeError(f"the stock levels did not reach the channels: {wrong[:10]}")
        time.sleep(1)


_ITEM_IDS: dict[str, str] = {}


def _item_id(stack: Stack, sku: str) -> str:
    if sku not in _ITEM_IDS:
        _ITEM_IDS[sku] = next(i["item_id"] for i in stack.get("/items", q=sku, limit=50)["items"] if i["sku"] == sku)
    return _ITEM_IDS[sku]


def _run_sales(stack: Stack, others: dict[str, list[tuple[str, str]]],
               available: dict[str, dict[str, int]]) -> list[tuple[float, float]]:
    """Place the sales and watch the other stand-ins; when each sale was sent (time.monotonic())
    and its latency, in seconds."""
    pending: dict[int, tuple[float, list[tuple[str, str, int]]]] = {}  # sale -> (sent at, (channel, listing, target))
    latencies: dict[int, tuple[float, float]] = {}
    lock, placed_all = threading.Lock(), threading.Event()
    watched = sorted({channel for where in others.values() for channel, _ in where})

    def monitor() -> None:
        while True:
            with lock:
                if placed_all.is_set() and not pending:
                    return
            shown = {channel: stack.shown(channel) for channel in watched}
            seen_at = time.monotonic()  # after the whole round: a reading is never early
            with lock:
                for sale, (sent, targets) in list(pending.items()):
                    if all(not (row := shown[channel][listing])["active"] or row["quantity"] <= target
                           for channel, listing, target in targets):
                        latencies[sale] = sent, seen_at - sent
                        del pending[sale]
                    elif seen_at - sent > LATE_S:
                        latencies[sale] = sent, LATE_S
                        del pending[sale]
            time.sleep(0.2)

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    sold = dict.fromkeys(ITEMS, 0)
    start = time.monotonic()
    amazon = f"{stack.standins['amazon']}/_standin/orders"
    for sale in range(SALES):
        time.sleep(max(0.0, start + sale / SALES_PER_S - time.monotonic()))
        sku = ITEMS[sale % len(ITEMS)]
        sold[sku] += 1
        targets = [(channel, listing, max(0, available[sku][channel] - sold[sku])) for channel, listing in others[sku]]
        sent = time.monotonic()
        answer = requests.post(amazon, json={"sku": sku, "quantity": 1}, timeout=30)
        if answer.status_code != 201:
            raise RuntimeError(f"the Amazon stand-in refused sale {sale} of {sku}: {answer.status_code} {answer.text}")
        with lock:
            pending[sale] = (sent, targets)
    placed_all.set()
    watcher.join(LATE_S + 30)
    return [latencies[sale] for sale in sorted(latencies)]


def _polled_first(stack: Stack, channel_id: str, since: datetime) -> int:
    """How many orders the order poller imported (before their notification) since `since`."""
    events = stack.get(f"/channels/{channel_id}/events", kind="ORDERS_IMPORTED", limit=200)["events"]
    return sum(int(match[1]) for event in events if _utc(event["at"]) >= since
               and (match := re.match(r"(\d+) orders imported", event["message"])))


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def measure() -> dict[str, float]:
    """The figures (see the module docstring), on a local stack started for them and stopped after."""
    stack = Stack()
    try:
        channels = {c["name"]: c["channel_id"] for c in stack.get("/channels")["channels"]}
        locations = {loc["name"]: loc["location_id"] for loc in stack.get("/locations")["locations"]}
        began = time.monotonic()
        _settle(stack, channels)
        settled = time.monotonic()
        others = _others(stack, channels)
        if any(not where for where in others.values()):
            raise RuntimeError(f"items linked nowhere but Amazon: {[s for s, w in others.items() if not w]}")
        available = _stock_up(stack, locations, others)
        stocked = time.monotonic()
        next_sync = _after_scheduled_sync(stack)
        ready, ready_at = time.monotonic(), datetime.now(UTC)
        sales = _run_sales(stack, others, available)
        polled = _polled_first(stack, channels[SOLD_ON], ready_at)
        overlapping = sum(1 for sent, latency in sales if sent + latency > next_sync)
        print(f"orders bench: channels settled after {settled - began:.0f} s, stocked in "
              f"{stocked - settled:.0f} s, waited {ready - stocked:.0f} s for a scheduled sync run, {SALES} sales "
              f"measured in {time.monotonic() - ready:.0f} s; {overlapping} sales still in flight when the next "
              f"scheduled sync run started, {polled} orders imported by the order poll before their notification",
              file=sys.stderr)
    finally:
        stack.stop()
    latencies = [latency for _sent, latency in sales]
    if len(latencies) != SALES:
        raise RuntimeError(f"only {len(latencies)} of {SALES} sales were followed")
    return {
        "sale_to_channels_p95_s": round(statistics.quantiles(latencies, n=20, method="inclusive")[18], 2),
        "sale_to_channels_median_s": round(statistics.median(latencies), 2),
        "sale_to_channels_max_s": round(max(latencies), 2),
        "sale_to_channels_late": sum(1 for latency in latencies if latency >= LATE_S),
    }
