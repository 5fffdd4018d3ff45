"""The stand-ins `make run` starts, by name. Each entry is "module:Class" of a StandIn subclass,
built with its demo state and started on a free port on 127.0.0.1. `aws_endpoint` (the embedded
AWS) is where stand-ins that push to AWS deliver: Amazon's ORDER_CHANGE notifications to SQS."""

from __future__ import annotations

import importlib
from typing import Any

from infrastructure.standins.base import StandIn

STANDINS: dict[str, str] = {
    "akeneo": "infrastructure.standins.akeneo:AkeneoStandIn",
    "amazon": "infrastructure.standins.amazon:AmazonStandIn",
    "ebay": "infrastructure.standins.ebay:EbayStandIn",
    "magento": "infrastructure.standins.magento:MagentoStandIn",
    "mirakl": "infrastructure.standins.mirakl:MiraklStandIn",
    "rakuten": "infrastructure.standins.rakuten:RakutenStandIn",
    "website": "infrastructure.standins.generic:GenericStandIn",
}


def standin_options(aws_endpoint: str | None) -> dict[str, dict[str, Any]]:
    """Constructor options per stand-in name."""
    return {"amazon": {"sqs_endpoint_url": aws_endpoint}} if aws_endpoint else {}


def start_standins(aws_endpoint: str | None = None) -> dict[str, StandIn]:
    started: dict[str, StandIn] = {}
    options = standin_options(aws_endpoint)
    try:
        for name, target in STANDINS.items():
            module, _, cls = target.partition(":")
            started[name] = getattr(importlib.import_module(module), cls)(**options.get(name, {})).start()
    except BaseException:
        stop_standins(started)
        raise
    return started


def stop_standins(standins: dict[str, StandIn]) -> None:
    for standin in standins.values():
        standin.stop()
