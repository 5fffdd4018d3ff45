"""The composition root: every object a handler, a router or a job uses is built here and nowhere else.

A function asks `wiring(ItsSettings)` once per container for the objects it uses; each is built on
first use, and its modules are imported then too, so a function's cold start pays only for what it
uses (the order poller never imports the PIM, the auto-mapper never the channel adapters). The
objects are built from the function's settings alone: a function that asks for something its
template entry gives it no variable for fails with the variable's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from stocksync.core import db
from stocksync.core.settings import FunctionSettings

if TYPE_CHECKING:
    from stocksync.catalogue.load import CatalogueLoader, LoadConfig
    from stocksync.catalogue.retrieval import CatalogueRequests
    from stocksync.channels.auth_failures import AuthFailures
    from stocksync.channels.store import ChannelStore
    from stocksync.core.automation_log import AutomationLog
    from stocksync.core.jobs import JobHandler, Jobs, TimeLeft
    from stocksync.core.messages import JobMessage, JobQueue, MappingQueue, SqsStockQueue
    from stocksync.core.secrets import ParameterStore
    from stocksync.inventory.items import Inventory
    from stocksync.inventory.locations import Locations
    from stocksync.inventory.stock import StockBook
    from stocksync.mapping.service import ListingMapping
    from stocksync.orders.importer import OrderBook
    from stocksync.orders.poller import OrderPoller
    from stocksync.orders.service import OrderQueries
    from stocksync.pim.profiles import PimConnections, PimProfiles
    from stocksync.pim.runs import PimRunner, PimRuns
    from stocksync.stock_sync.channel_pass import ChannelPass
    from stocksync.stock_sync.operations import StockSyncOperations
    from stocksync.stock_sync.queue import SqsQueueDrain, SqsVisibilityDelayer
    from stocksync.stock_sync.scheduled import Handover
    from stocksync.stock_sync.submitter import StockSubmitter

S = TypeVar("S", bound=FunctionSettings)

# The stock queue's submitter waits at most this long for a channel's rate budget: a channel whose
# budget is spent for longer (Mirakl: one offers update a minute) gets its listings back on the queue
# with that delay, as waiting here would hold up every other channel of the batch, and the next sale.
STOCK_QUEUE_MAX_WAIT_S = 1.0


@dataclass(frozen=True)
class Pim:
    """The PIM as the API sees it: the connection, the sync profiles, their runs."""

    connections: PimConnections
    profiles: PimProfiles
    runs: PimRuns


class Wiring(Generic[S]):
    def __init__(self, settings: S) -> None:
        self.settings = settings
        db.bind_table(settings.table_name)

    def _has(self, name: str) -> bool:
        return name in type(self.settings).model_fields

    def _setting(self, name: str) -> Any:
        if not self._has(name):
            raise RuntimeError(f"{self.settings.function} is given no {name.upper()}: its template entry lacks it")
        return getattr(self.settings, name)

    # -- core ---------------------------------------------------------------------------------------

    @cached_property
    def credentials(self) -> ParameterStore:
        from stocksync.core.secrets import ParameterStore

        return ParameterStore()

    @cached_property
    def stock_queue(self) -> SqsStockQueue:
        from stocksync.core.messages import SqsStockQueue

        return SqsStockQueue(self._setting("stock_queue_url"))

    @cached_property
    def job_queue(self) -> JobQueue:
        from stocksync.core.messages import JobQueue

        return JobQueue(self._setting("jobs_queue_url"))

    @cached_property
    def mapping_queue(self) -> MappingQueue:
        from stocksync.core.messages import SqsMappingQueue

        return SqsMappingQueue(self._setting("mapping_queue_url"))

    @cached_property
    def jobs(self) -> Jobs:
        from stocksync.core.jobs import Jobs

        return Jobs()

    @cached_property
    def auth_failures(self) -> AuthFailures:
        from stocksync.channels.auth_failures import AuthFailures

        return AuthFailures(self.automation_log)

    @cached_property
    def automation_log(self) -> AutomationLog:
        from stocksync.core.automation_log import AutomationLog

        return AutomationLog()

    # -- inventory ----------------------------------------------------------------------------------

    @cached_property
    def inventory(self) -> Inventory:
        from stocksync.inventory.items import Inventory

        return Inventory(self.stock_queue)

    @cached_property
    def locations(self) -> Locations:
        from stocksync.inventory.locations import Locations

        return Locations()

    @cached_property
    def stock(self) -> StockBook:
        from stocksync.inventory.stock import StockBook

        return StockBook(self.stock_queue, self.inventory, self.locations)

    # -- channels and catalogues --------------------------------------------------------------------

    @cached_property
    def channels(self) -> ChannelStore:
        from stocksync.channels.store import ChannelStore

        prefix = self._setting("secrets_prefix") if self._has("secrets_prefix") else None
        return ChannelStore(self.stock_queue, self.credentials, self.locations, prefix)

    @cached_property
    def catalogue_requests(self) -> CatalogueRequests:
        from stocksync.catalogue.documents import CatalogueBucket
        from stocksync.catalogue.retrieval import CatalogueRequests
        from stocksync.channels.store import ChannelDirectory

        return CatalogueRequests(ChannelDirectory(), self.credentials,
                                 CatalogueBucket(self._setting("catalogue_bucket")), self.automation_log)

    @cached_property
    def catalogue_loader(self) -> CatalogueLoader:
        return self.build_catalogue_loader()

    def build_catalogue_loader(self, config: LoadConfig | None = None) -> CatalogueLoader:
        """`config` sizes byte ranges and partitions (tests make them small to exercise the fan-out)."""
        from stocksync.catalogue.load import CatalogueLoader
        from stocksync.catalogue.s3_storage import S3Objects, S3RunStore
        from stocksync.core.messages import SqsSender

        return CatalogueLoader(objects=S3Objects(), runs=S3RunStore(self._setting("catalogue_bucket")),
                               tasks=SqsSender(self._setting("ingest_queue_url"), "ingest queue"),
                               stock_queue=self.stock_queue, mapping=self.mapping_queue, jobs=self.jobs,
                               automation_log=self.automation_log, config=config)

    # -- mapping and orders -------------------------------------------------------------------------

    @cached_property
    def mapping(self) -> ListingMapping:
        from stocksync.mapping.service import ListingMapping

        return ListingMapping(channels=self.channels, inventory=self.inventory, locations=self.locations,
                              stock_queue=self.stock_queue, jobs=self.jobs,
                              job_queue=self.job_queue if self._has("jobs_queue_url") else None,
                              mapping_queue=self.mapping_queue if self._has("mapping_queue_url") else None,
                              bucket=self._setting("catalogue_bucket") if self._has("catalogue_bucket") else "",
                              links_committed=self.order_book.relink)

    @cached_property
    def order_book(self) -> OrderBook:
        from stocksync.orders.importer import OrderBook

        return OrderBook(self.stock_queue, self.inventory, self.locations)

    @cached_property
    def orders(self) -> OrderQueries:
        from stocksync.orders.service import OrderQueries

        return OrderQueries()

    def order_poller(self, *, cadence_speedup: float = 1.0) -> OrderPoller:
        """`cadence_speedup` > 1 only on the local stack, whose schedules run faster than AWS's."""
        from stocksync.channels.registry import build_adapter
        from stocksync.orders.poller import OrderPoller
        from stocksync.stock_sync.rate_limit import TableRateLimiter

        has_queue = self._has("order_notification_queue_arn")
        queue_arn = self._setting("order_notification_queue_arn") if has_queue else ""
        # Order calls share each account's budget across invocations (Mirakl's OR11: one a minute) and
        # never wait for it: a page the budget does not cover is read at the poller's next tick.
        limiter = TableRateLimiter(max_wait_s=0.0)
        return OrderPoller(self.order_book, self.credentials, self.automation_log, notification_queue_arn=queue_arn,
                           cadence_speedup=cadence_speedup,
                           adapter_factory=lambda account: build_adapter(account, rate_limiter=limiter))

    # -- the PIM ------------------------------------------------------------------------------------

    @cached_property
    def pim_connections(self) -> PimConnections:
        from stocksync.pim.profiles import PimConnections

        return PimConnections(self.credentials, self._setting("secrets_prefix"))

    @cached_property
    def pim_profiles(self) -> PimProfiles:
        from stocksync.channels.store import ChannelDirectory
        from stocksync.pim.profiles import PimProfiles

        directory = ChannelDirectory()
        return PimProfiles(self.pim_connections, lambda: {channel.channel_id for channel in directory.list()})

    @cached_property
    def pim_runs(self) -> PimRuns:
        from stocksync.pim.runs import PimRuns

        return PimRuns(self.pim_connections, self.pim_profiles, self.jobs, self.job_queue)

    @cached_property
    def pim_runner(self) -> PimRunner:
        from stocksync.pim.runs import PimRunner

        return PimRunner(self.pim_connections, self.pim_profiles, self.jobs, self.job_queue,
                         self._setting("catalogue_bucket"), log=self.automation_log)

    @cached_property
    def pim(self) -> Pim:
        return Pim(connections=self.pim_connections, profiles=self.pim_profiles, runs=self.pim_runs)

    # -- stock out ----------------------------------------------------------------------------------

    def stock_submitter(self, *, max_wait_s: float | None = None) -> StockSubmitter:
        """`max_wait_s`: how long a call may wait for a channel's rate budget (None: the limiter's own)."""
        from stocksync.stock_sync.rate_limit import TableRateLimiter
        from stocksync.stock_sync.submitter import StockSubmitter

        limiter = TableRateLimiter() if max_wait_s is None else TableRateLimiter(max_wait_s=max_wait_s)
        return StockSubmitter(self.credentials, rate_limiter=limiter, auth_failures=self.auth_failures)

    @cached_property
    def queue_submitter(self) -> StockSubmitter:
        return self.stock_submitter(max_wait_s=STOCK_QUEUE_MAX_WAIT_S)

    @cached_property
    def visibility_delayer(self) -> SqsVisibilityDelayer:
        from stocksync.stock_sync.queue import SqsVisibilityDelayer

        return SqsVisibilityDelayer(self._setting("stock_queue_url"))

    @cached_property
    def stock_queue_drain(self) -> SqsQueueDrain:
        """What else waits on the stock queue, taken by a run of the submitter besides its event's batch."""
        from stocksync.stock_sync.queue import SqsQueueDrain

        return SqsQueueDrain(self._setting("stock_queue_url"))

    @cached_property
    def sync_handover(self) -> Handover:
        from stocksync.stock_sync.scheduled import Handover

        return Handover(self.jobs, self.job_queue)

    @cached_property
    def channel_pass(self) -> ChannelPass:
        from stocksync.stock_sync.channel_pass import ChannelPass

        return ChannelPass(self.stock_submitter(), self.jobs, self.job_queue)

    @cached_property
    def stock_sync(self) -> StockSyncOperations:
        from stocksync.stock_sync.operations import StockSyncOperations

        return StockSyncOperations(self.jobs, self.job_queue)

    # -- the jobs worker's registry -----------------------------------------------------------------

    @cached_property
    def job_handlers(self) -> dict[str, JobHandler]:
        """Which handler runs a job of each kind on the jobs queue."""
        return {
            "pim_run": lambda message, time_left: self.pim_runner.run(message),
            "mapping_create_all": self._create_all,
            "mapping_import": self._import_mapping,
            "stock_force_update": self._stock_pass,
            "stock_sync_run": self._stock_pass,
            "stock_sync_slice": self._stock_sync_slice,
        }

    def _create_all(self, message: JobMessage, time_left: TimeLeft) -> None:
        from stocksync.mapping.bulk import run_create_all

        run_create_all(self.mapping, message)

    def _import_mapping(self, message: JobMessage, time_left: TimeLeft) -> None:
        from stocksync.mapping.bulk import run_import_job

        run_import_job(self.mapping, message)

    def _stock_pass(self, message: JobMessage, time_left: TimeLeft) -> None:
        """Force Update, or the rest of a scheduled run over a channel too big for one invocation: page
        by page in bulk calls, handing over to its own message before the invocation's time runs out."""
        self.channel_pass.run(message, time_left)

    def _stock_sync_slice(self, message: JobMessage, _time_left: TimeLeft) -> None:
        """A scheduled run's share of a big channel (stock_sync/scheduled.py)."""
        from stocksync.stock_sync.scheduled import run_slice_job

        run_slice_job(self.stock_submitter(), self.jobs, message)


@cache
def wiring(settings_type: type[S]) -> Wiring[S]:
    """The function's objects, built from its environment on first use in this container."""
    return Wiring(settings_type.from_environment())
