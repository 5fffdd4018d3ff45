"""The stand-ins `make run` starts, by name. Each entry is "module:Class" of a StandIn subclass,
built with its demo state and started on 127.0.0.1: from `base_port` on, one port each in the order
below (so a README command can name them), or on free ports when `base_port` is 0 (tests, the
bench). `aws_endpoint` (the embedded AWS) is where stand-ins that push to AWS deliver: Amazon's
ORDER_CHANGE notifications to SQS. `faults` (a `FaultPlan`, STOCKSYNC_STANDIN_FAULTS for the local stack)
is switched on in every stand-in once it serves; each draws its faults from its own generator."""

from __future__ import annotations

import importlib
from typing import Any

from infrastructure.standins.base import FaultPlan, StandIn

STANDINS: dict[str, str] = {
    "akeneo": "infrastructure.standins.akeneo:AkeneoStandIn",
    "amazon": "infrastructure.standins.amazon:AmazonStandIn",
    "ebay": "infrastructure.standins.ebay:EbayStandIn",
    "magento": "infrastructure.standins.magento:MagentoStandIn",
    "mirakl": "infrastructure.standins.mirakl:MiraklStandIn",
    "rakuten": "infrastructure.standins.rakuten:RakutenStandIn",
    "website": "infrastructure.standins.generic:GenericStandIn",
}


class PortTaken(RuntimeError):
    """A stand-in's port is in use by another program."""


def standin_options(aws_endpoint: str | None) -> dict[str, dict[str, Any]]:
    """Constructor options per stand-in name."""
    return {"amazon": {"sqs_endpoint_url": aws_endpoint}} if aws_endpoint else {}


def standin_ports(base_port: int) -> dict[str, int]:
    """The port of each stand-in: `base_port`, `base_port` + 1, ... in STANDINS' order; all 0 (any free
    port) when `base_port` is 0."""
    return {name: base_port + index if base_port else 0 for index, name in enumerate(STANDINS)}


def start_standins(aws_endpoint: str | None = None, base_port: int = 0,
                   faults: FaultPlan | None = None) -> dict[str, StandIn]:
    started: dict[str, StandIn] = {}
    options = standin_options(aws_endpoint)
    ports = standin_ports(base_port)
    try:
        for name, target in STANDINS.items():
            module, _, cls = target.partition(":")
            standin = getattr(importlib.import_module(module), cls)(port=ports[name], **options.get(name, {}))
            try:
                started[name] = standin.start()
            except (OSError, SystemExit) as exc:  # werkzeug exits when the port is taken
                raise PortTaken(f"the {name} stand-in cannot listen on port {ports[name]}: set "
                                "STOCKSYNC_STANDIN_PORT to another first port, or to 0 for any free ports") from exc
            if faults is not None:
                standin.inject_faults(faults)
    except BaseException:
        stop_standins(started)
        raise
    return started


def stop_standins(standins: dict[str, StandIn]) -> None:
    for standin in standins.values():
        standin.stop()
