"""Each function's environment, read once at cold start into a typed model of exactly the variables
its template.yaml entry gives it. A missing or empty variable fails the cold start, naming it, instead
of an empty queue URL failing late, deep in a call."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field


class MissingSetting(RuntimeError):
    """A variable the function's settings need is not in its environment."""


class FunctionSettings(BaseModel):
    """Fields are the variables' names in lower case (TABLE_NAME -> table_name)."""

    model_config = ConfigDict(frozen=True)
    function: ClassVar[str]  # the function's logical id in template.yaml

    table_name: str = Field(min_length=1)

    @classmethod
    def variables(cls) -> list[str]:
        return [name.upper() for name in cls.model_fields]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        environ = os.environ if environ is None else environ
        missing = [name for name in cls.variables() if not environ.get(name)]
        if missing:
            raise MissingSetting(f"{cls.function} needs the environment variable(s) {', '.join(missing)}")
        return cls(**{name.lower(): environ[name] for name in cls.variables()})


class ApiSettings(FunctionSettings):
    function = "ApiFunction"
    stock_queue_url: str
    jobs_queue_url: str
    mapping_queue_url: str
    catalogue_bucket: str
    secrets_prefix: str


class JobsWorkerSettings(FunctionSettings):
    function = "JobsWorkerFunction"
    stock_queue_url: str
    jobs_queue_url: str
    catalogue_bucket: str
    secrets_prefix: str


class ReportPollerSettings(FunctionSettings):
    function = "ReportPollerFunction"
    catalogue_bucket: str


class CatalogueIngestSettings(FunctionSettings):
    function = "CatalogueIngestFunction"
    stock_queue_url: str
    mapping_queue_url: str
    ingest_queue_url: str  # the loader fans its own tasks out on it
    catalogue_bucket: str


class AutoMapperSettings(FunctionSettings):
    function = "AutoMapperFunction"
    stock_queue_url: str
    jobs_queue_url: str


class PimSyncSettings(FunctionSettings):
    function = "PimSyncFunction"
    jobs_queue_url: str
    secrets_prefix: str  # where the Akeneo connection's secret is


class StockSubmitterSettings(FunctionSettings):
    function = "StockSubmitterFunction"
    stock_queue_url: str
    jobs_queue_url: str


class OrderPollerSettings(FunctionSettings):
    function = "OrderPollerFunction"
    stock_queue_url: str
    order_notification_queue_arn: str  # channels that push order changes are subscribed to it


class OrderNotificationsSettings(FunctionSettings):
    function = "OrderNotificationsFunction"
    stock_queue_url: str


BY_FUNCTION: dict[str, type[FunctionSettings]] = {
    settings.function: settings
    for settings in (ApiSettings, JobsWorkerSettings, ReportPollerSettings, CatalogueIngestSettings,
                     AutoMapperSettings, PimSyncSettings, StockSubmitterSettings, OrderPollerSettings,
                     OrderNotificationsSettings)
}
