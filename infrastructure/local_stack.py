"""`python -m infrastructure.local_stack` (what `make run` runs): the whole stack on this machine.

An embedded AWS (moto server, in a process of its own) on 127.0.0.1, template.yaml provisioned
on it, the demo seller seeded, and the functions served by the runner, until Ctrl-C or SIGTERM.

Settings (environment): STOCKSYNC_API_PORT (8000; 0 = any free port), STOCKSYNC_AWS_PORT
(0 = any free port), STOCKSYNC_API_KEY (random when unset), STOCKSYNC_SCHEDULE_SPEEDUP (1; the
schedules and each channel's order poll cadence), STOCKSYNC_SEED (0 = do not seed),
AWS_DEFAULT_REGION (eu-west-1).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType

from infrastructure.local.embedded_aws import EmbeddedAwsProcess
from infrastructure.local.harness import FAKE_AWS_ENVIRONMENT, provision_environment, ready_line
from infrastructure.local.runner import Runner
from infrastructure.local.template import DEFAULT_REGION
from infrastructure.standins.base import StandIn
from infrastructure.standins.registry import start_standins, stop_standins


@dataclass(frozen=True)
class Settings:
    api_port: int
    aws_port: int
    api_key: str
    speedup: float
    seed: bool

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            api_port=int(environ.get("STOCKSYNC_API_PORT") or 8000),
            aws_port=int(environ.get("STOCKSYNC_AWS_PORT") or 0),
            api_key=environ.get("STOCKSYNC_API_KEY") or secrets.token_urlsafe(24),
            speedup=float(environ.get("STOCKSYNC_SCHEDULE_SPEEDUP") or 1),
            seed=environ.get("STOCKSYNC_SEED", "1") != "0",
        )


def banner(api_url: str, aws_endpoint: str, api_key: str, seed_summary: str,
           standins: Mapping[str, str] | None = None) -> str:
    """What the stack prints once it serves: for a person, then the READY line for a harness."""
    standins = dict(standins or {})
    return "\n".join(
        [
            "stocksync local stack is running",
            f"  API         {api_url}",
            f"  Swagger UI  {api_url}/swagger",
            f"  AWS (moto)  {aws_endpoint}",
            f"  API key     {api_key}   (send it as the x-api-key header)",
            f"  Demo seller {seed_summary}",
            *(f"  {name:<11} {url}   (stand-in)" for name, url in standins.items()),
            "Ctrl-C stops everything.",
            ready_line(api_url, aws_endpoint, api_key, standins),
        ]
    )


def _seed(standins: dict[str, StandIn]) -> str:
    from infrastructure.demo_seller import seed_demo_seller

    return seed_demo_seller(standins)


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGINT (Ctrl-C) and SIGTERM set `stop`; main then shuts everything down and exits 0."""

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("%s received, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("infrastructure").setLevel(logging.INFO)  # one line per invocation
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines drown them
    # Powertools Metrics warns on every invocation that emitted no metric; a local stack has no CloudWatch.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    stop = threading.Event()
    _stop_on_signals(stop)  # first: a signal during start-up still ends in a clean stop
    settings = Settings.from_environment(os.environ)
    os.environ.update(FAKE_AWS_ENVIRONMENT)
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)

    moto = EmbeddedAwsProcess(settings.aws_port)  # its own process: moto and the functions use a core each
    aws_endpoint = moto.endpoint
    try:
        stack = provision_environment(aws_endpoint)
        # Each channel's order poll cadence (Amazon 3 minutes, the others 2) is a schedule the order
        # poller keeps itself: it runs as much faster as the template's schedules do (never faster than
        # the channel's API sustains: `order_poll_floor_s`), unless
        # ORDER_POLL_SPEEDUP says otherwise (bench/orders.py keeps the real cadences).
        os.environ.setdefault("ORDER_POLL_SPEEDUP", str(settings.speedup))
        standins = start_standins(aws_endpoint)  # Amazon's ORDER_CHANGE goes to moto's SQS
        try:
            seed_summary = _seed(standins) if settings.seed else "not seeded (STOCKSYNC_SEED=0)"
            runner = Runner(stack.template, stack, settings.api_port, settings.api_key, settings.speedup)
            runner.start()
            try:
                urls = {name: standin.url for name, standin in standins.items()}
                print(banner(runner.api_url, aws_endpoint, settings.api_key, seed_summary, urls), flush=True)
                while not stop.wait(0.5):  # short waits keep the main thread responsive to signals
                    pass
            finally:
                runner.stop()
        finally:
            stop_standins(standins)
    finally:
        moto.stop()
    print("stocksync local stack stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
