"""The stand-ins `make run` starts, by name. Each entry is "module:Class" of a StandIn subclass,
built with no arguments (its demo state) and started on a free port on 127.0.0.1."""

from __future__ import annotations

import importlib

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


def start_standins() -> dict[str, StandIn]:
    started: dict[str, StandIn] = {}
    try:
        for name, target in STANDINS.items():
            module, _, cls = target.partition(":")
            started[name] = getattr(importlib.import_module(module), cls)().start()
    except BaseException:
        stop_standins(started)
        raise
    return started


def stop_standins(standins: dict[str, StandIn]) -> None:
    for standin in standins.values():
        standin.stop()
