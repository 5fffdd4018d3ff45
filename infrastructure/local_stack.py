"""`python -m infrastructure.local_stack` (what `make run` runs): the whole stack on this machine.

An embedded AWS (moto server, in a process of its own) on 127.0.0.1, template.yaml provisioned
on it, the demo seller seeded, and the functions served by the runner, until Ctrl-C or SIGTERM.
The banner comes once the demo seller can sell (`DemoReadiness`): every channel's catalogue loaded,
its listings linked, their quantities on the stand-ins; a channel not ready in time stops the stack
with an error naming it.

Settings (environment): STOCKSYNC_API_PORT (8000; 0 = any free port), STOCKSYNC_CONSOLE_PORT (the web
console, 8080; 0 = any free port), STOCKSYNC_AWS_PORT
(0 = any free port), STOCKSYNC_STANDIN_PORT (8101: the stand-ins on 8101, 8102, ... in the order of
`standins/registry.py`; 0 = any free ports), STOCKSYNC_API_KEY (random when unset),
STOCKSYNC_SCHEDULE_SPEEDUP (1; the schedules and each channel's order poll cadence), STOCKSYNC_DEMO_PASSWORD
(the demo seller's console password; random and readable when unset), STOCKSYNC_SEED
(0 = do not seed), STOCKSYNC_STATE_FILE (where the READY payload is written for `make demo-sale`;
empty = nowhere), STOCKSYNC_STANDIN_FAULTS (none; e.g. "rate=0.3,kinds=timeout+slow+reset+5xx,seed=7,for_s=30":
from its start, every stand-in fails that share of its calls in those ways: `FaultPlan` in standins/base.py),
AWS_DEFAULT_REGION (eu-west-1).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from infrastructure.demo_seller import DemoNotReady, DemoReadiness, seed_demo_seller
from infrastructure.local.console_server import API_PREFIX, ConsoleNotBuilt, ConsoleServer
from infrastructure.local.embedded_aws import EmbeddedAwsProcess
from infrastructure.local.harness import (
    FAKE_AWS_ENVIRONMENT,
    provision_environment,
    read_ready,
    ready_line,
    state_file,
)
from infrastructure.local.provision import ProvisionedStack
from infrastructure.local.runner import Runner
from infrastructure.local.sign_in import DemoSignInError, SignIn, demo_sign_in
from infrastructure.local.template import DEFAULT_REGION
from infrastructure.standins.base import FaultPlan, FaultSettingError, StandIn
from infrastructure.standins.registry import PortTaken, start_standins, stop_standins

DEFAULT_STANDIN_PORT = 8101
DEFAULT_CONSOLE_PORT = 8080
DEMO_SALE_SKU = "MUG-BLACK"  # the README's sale


@dataclass(frozen=True)
class Settings:
    api_port: int
    console_port: int
    aws_port: int
    standin_port: int
    api_key: str
    speedup: float
    seed: bool
    faults: FaultPlan | None = None
    demo_password: str | None = None  # None: a random one

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            api_port=int(environ.get("STOCKSYNC_API_PORT") or 8000),
            console_port=int(environ.get("STOCKSYNC_CONSOLE_PORT") or DEFAULT_CONSOLE_PORT),
            aws_port=int(environ.get("STOCKSYNC_AWS_PORT") or 0),
            standin_port=int(environ.get("STOCKSYNC_STANDIN_PORT") or DEFAULT_STANDIN_PORT),
            api_key=environ.get("STOCKSYNC_API_KEY") or secrets.token_urlsafe(24),
            speedup=float(environ.get("STOCKSYNC_SCHEDULE_SPEEDUP") or 1),
            seed=environ.get("STOCKSYNC_SEED", "1") != "0",
            faults=_fault_plan(environ.get("STOCKSYNC_STANDIN_FAULTS")),
            demo_password=environ.get("STOCKSYNC_DEMO_PASSWORD") or None,
        )


def _fault_plan(setting: str | None) -> FaultPlan | None:
    """STOCKSYNC_STANDIN_FAULTS, read; the stack does not start on a setting it cannot read."""
    try:
        return FaultPlan.parse(setting) if setting else None
    except FaultSettingError as exc:
        raise SystemExit(f"stocksync local stack did not start: STOCKSYNC_STANDIN_FAULTS: {exc}") from exc


def _demo_sign_in(stack: ProvisionedStack, aws_endpoint: str, password: str | None) -> SignIn:
    """The demo seller made a user of the template's pool; the stack does not start without one."""
    try:
        return demo_sign_in(stack, aws_endpoint, password)
    except DemoSignInError as exc:
        raise SystemExit(f"stocksync local stack did not start: {exc}") from exc


def _console_server(port: int, api_url: str, sign_in: SignIn, aws_endpoint: str) -> ConsoleServer | None:
    """The web console, serving (None, said why, when it cannot): its config.json points the page at the
    API under /v1 and at the pool's app client; the page may call Cognito's endpoint and the embedded
    AWS, where a catalogue upload's presigned URL points."""
    config = {"apiBase": API_PREFIX, "signIn": sign_in.console_config()}
    try:
        console = ConsoleServer(config, api_url, [sign_in.endpoint, aws_endpoint], port)
    except ConsoleNotBuilt as exc:
        print(f"stocksync local stack did not start: {exc}", file=sys.stderr, flush=True)
        return None
    except OSError as exc:
        print(f"stocksync local stack did not start: the console cannot listen on port {port} ({exc.strerror}): "
              "set STOCKSYNC_CONSOLE_PORT to another port, or to 0 for any free port", file=sys.stderr, flush=True)
        return None
    console.start()
    return console


def banner(api_url: str, aws_endpoint: str, api_key: str, seed_summary: str,
           standins: Mapping[str, str] | None = None, *, exports: Mapping[str, str] | None = None,
           sign_in: SignIn | None = None, console_url: str | None = None) -> str:
    """What the stack prints once it serves: for a person (with `exports`, the variables the README's
    commands use, as one line to paste; with `sign_in`, the demo seller's console sign-in), then the
    READY line for a harness."""
    standins = dict(standins or {})
    pasted = " ".join(f"{name}={shlex.quote(value)}" for name, value in (exports or {}).items())
    return "\n".join(
        [
            "stocksync local stack is running",
            *([f"  Console     {console_url}"] if console_url else []),
            f"  API         {api_url}",
            f"  Swagger UI  {api_url}/swagger",
            f"  AWS (moto)  {aws_endpoint}",
            f"  API key     {api_key}   (send it as the x-api-key header)",
            *([f"  Sign in as {sign_in.username} / {sign_in.password}   (the console; Cognito on the embedded AWS)"]
              if sign_in is not None else []),
            f"  Demo seller {seed_summary}",
            *(f"  {name:<11} {url}   (stand-in)" for name, url in standins.items()),
            *([f"For the README's commands, paste into another shell:\n  export {pasted}"] if pasted else []),
            "Ctrl-C stops everything.",
            ready_line(api_url, aws_endpoint, api_key, standins,
                       sign_in=sign_in.as_dict() if sign_in is not None else None, console_url=console_url),
        ]
    )


def shell_variables(api_url: str, api_key: str, standins: Mapping[str, str], readiness: DemoReadiness,
                    channels: Mapping[str, str]) -> dict[str, str]:
    """The README's shell variables: where the API and the stand-ins are, the key, the Amazon channel, the
    demo sale's item and the main warehouse."""
    variables = {"API": api_url, "KEY": api_key,
                 **{name.upper(): url for name, url in standins.items()}}
    if "Amazon UK" in channels:
        variables["AMAZON_CHANNEL"] = channels["Amazon UK"]
    item = readiness.item(DEMO_SALE_SKU)
    if item is not None:
        variables["ITEM"] = item
    location = readiness.default_location()
    if location is not None:
        variables["LOCATION"] = location
    return variables


@contextlib.contextmanager
def _state_written(path: Path | None, ready: str) -> Iterator[None]:
    """The READY payload in `path` (readable by this user only) while the stack serves, for
    `python -m infrastructure.demo_sale`; removed when it stops."""
    if path is None:
        yield
        return
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as written:
        json.dump(read_ready(ready), written)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGINT (Ctrl-C) and SIGTERM set `stop`; main then shuts everything down and exits 0."""

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("%s received, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)


def _serve_until_stopped(stop: threading.Event, settings: Settings, *, runner: Runner, console: ConsoleServer,
                         standins: Mapping[str, StandIn], sign_in: SignIn, aws_endpoint: str,
                         seed_summary: str) -> int | None:
    """Once the demo seller can sell, the banner; then serve until `stop`. An exit code when the stack
    cannot start (or was stopped while waiting), None after a stop once served."""
    urls = {name: standin.url for name, standin in standins.items()}
    readiness = DemoReadiness(runner.api_url, settings.api_key, runner.fire_schedule, stop=stop)
    try:
        channels = readiness.wait() if settings.seed else {}
    except DemoNotReady as exc:
        if stop.is_set():  # Ctrl-C while waiting: a clean stop
            return 0
        print(f"stocksync local stack did not start: {exc}", file=sys.stderr, flush=True)
        return 1
    shell = shell_variables(runner.api_url, settings.api_key, urls, readiness, channels)
    printed = banner(runner.api_url, aws_endpoint, settings.api_key, seed_summary, urls,
                     exports=shell, sign_in=sign_in, console_url=console.url)
    with _state_written(state_file(os.environ), printed.splitlines()[-1]):
        print(printed, flush=True)
        while not stop.wait(0.5):  # short waits keep the main thread responsive to signals
            pass
    return None


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
        sign_in = _demo_sign_in(stack, aws_endpoint, settings.demo_password)
        # Each channel's order poll cadence (Amazon 3 minutes, the others 2) is a schedule the order
        # poller keeps itself: it runs as much faster as the template's schedules do (never faster than
        # the channel's API sustains: `order_poll_floor_s`), unless
        # ORDER_POLL_SPEEDUP says otherwise (bench/orders.py keeps the real cadences).
        os.environ.setdefault("ORDER_POLL_SPEEDUP", str(settings.speedup))
        try:
            standins = start_standins(aws_endpoint, settings.standin_port,  # Amazon's ORDER_CHANGE: moto's SQS
                                      faults=settings.faults)
        except PortTaken as exc:
            print(f"stocksync local stack did not start: {exc}", file=sys.stderr, flush=True)
            return 1
        try:
            seed_summary = seed_demo_seller(standins) if settings.seed else "not seeded (STOCKSYNC_SEED=0)"
            runner = Runner(stack.template, stack, settings.api_port, settings.api_key, settings.speedup)
            try:
                runner.start()
            except OSError as exc:
                print(f"stocksync local stack did not start: the API cannot listen on port {settings.api_port} "
                      f"({exc.strerror}): set STOCKSYNC_API_PORT to another port, or to 0 for any free port",
                      file=sys.stderr, flush=True)
                return 1
            try:
                console = _console_server(settings.console_port, runner.api_url, sign_in, aws_endpoint)
                if console is None:
                    return 1
                try:
                    outcome = _serve_until_stopped(stop, settings, runner=runner, console=console,
                                                   standins=standins, sign_in=sign_in, aws_endpoint=aws_endpoint,
                                                   seed_summary=seed_summary)
                    if outcome is not None:
                        return outcome
                finally:
                    console.stop()
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
