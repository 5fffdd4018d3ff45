"""Starting the local stack: the one way `make run`, the e2e tests and the bench bring it up.

- `StackProcess`: the whole stack as `make run` starts it (`python -m infrastructure.local_stack`)
  in a subprocess on free ports, ready once it prints its READY line (`ready_line`); the e2e tests
  and the sale-to-channels benchmark talk to it over HTTP and read the stand-ins' URLs from it.
- `embedded_stack()`: the embedded AWS in this process with template.yaml provisioned on it, for
  benchmarks that seed moto's backend directly and feed handlers (or a `Runner`) themselves.
- `provision_environment()`: what both do once an embedded AWS runs: point boto3 at it, create the
  template's resources, and give this process the environment the functions see.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import requests

from infrastructure.local.embedded_aws import make_moto_quicker, start_embedded_aws
from infrastructure.local.provision import ProvisionedStack, provision
from infrastructure.local.template import DEFAULT_REGION, Template, load_template

ROOT = Path(__file__).resolve().parents[2]
STACK_MODULE = "infrastructure.local_stack"
READY_MARKER = "STOCKSYNC_READY"
START_TIMEOUT_S = 360  # the demo seller ready to sell (demo_seller.READY_TIMEOUT_S), and the start before it
STOP_TIMEOUT_S = 60
LAST_LINES = 40  # of the stack's output, in the error when it does not start

# The embedded AWS accepts any credentials; fixed fake ones keep real ones out of reach.
FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    # The stand-ins serve plain HTTP on 127.0.0.1, which channel and PIM URLs refuse everywhere else.
    "ALLOW_LOOPBACK_URLS": "1",
}


def state_file(environ: Mapping[str, str]) -> Path | None:
    """Where a running local stack writes its READY payload (API URL, key, stand-ins) for the command
    line tools (`infrastructure.demo_sale`): STOCKSYNC_STATE_FILE, by default in the temporary directory;
    set empty, none is written (a StackProcess writes none)."""
    chosen = environ.get("STOCKSYNC_STATE_FILE")
    if chosen is None:
        return Path(tempfile.gettempdir()) / "stocksync-local-stack.json"
    return Path(chosen) if chosen else None


class StackStartError(RuntimeError):
    """The local stack exited, or printed no READY line in time; the message ends with its output."""


def ready_line(api_url: str, aws_endpoint: str, api_key: str, standins: Mapping[str, str], *,
               sign_in: Mapping[str, str] | None = None, console_url: str | None = None) -> str:
    """The last line the local stack prints once it serves: where everything is, as JSON; `sign_in`
    (`SignIn.as_dict()`) is how the demo seller signs in to the console, `console_url` where it is."""
    where: dict[str, Any] = {"api_url": api_url, "aws_endpoint": aws_endpoint, "api_key": api_key,
                             "standins": dict(standins)}
    if sign_in is not None:
        where["sign_in"] = dict(sign_in)
    if console_url is not None:
        where["console_url"] = console_url
    return f"{READY_MARKER} {json.dumps(where)}"


def read_ready(line: str) -> dict[str, Any] | None:
    """What `ready_line` wrote, or None for any other line."""
    marker, _, payload = line.rstrip("\n").partition(" ")
    return json.loads(payload) if marker == READY_MARKER else None


def provision_environment(endpoint: str, template: Template | None = None) -> ProvisionedStack:
    """Provision `template` (template.yaml by default) on the embedded AWS at `endpoint` and put the
    stack's environment into os.environ, as Lambda would give it to every function."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    stack = provision(template or load_template())
    os.environ.update(stack.environment)
    return stack


@contextlib.contextmanager
def embedded_stack(environment: Mapping[str, str] | None = None, *, quicker: bool = False) -> Iterator[
        ProvisionedStack]:
    """The embedded AWS in this process (moto's threaded server), template.yaml provisioned on it; stopped
    on exit. `environment` goes into os.environ first (fake AWS credentials always do); `quicker` applies
    `make_moto_quicker` (benchmarks at scale only)."""
    os.environ.update(FAKE_AWS_ENVIRONMENT)
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    os.environ.update(environment or {})
    if quicker:
        make_moto_quicker()  # before moto serves: its patches wrap the embedded AWS's own
    server, endpoint = start_embedded_aws()
    try:
        yield provision_environment(endpoint)
    finally:
        server.stop()


class StackProcess:
    """The local stack in a subprocess, started as `make run` starts it, on free ports (and writing no
    state file), ready once the demo seller can sell (`STOCKSYNC_SEED=0`: at once).

    `environment` adds to (or overrides) this process's environment: STOCKSYNC_* settings of
    `infrastructure.local_stack`, ORDER_POLL_SPEEDUP, POWERTOOLS_*. `on_line` sees every line the
    stack prints, as it prints it (on a reader thread); `output` keeps them all."""

    def __init__(self, environment: Mapping[str, str] | None = None, *,
                 on_line: Callable[[str], None] | None = None, start_timeout_s: float = START_TIMEOUT_S) -> None:
        # The stack starts an embedded AWS of its own: an endpoint inherited from a test run is not it.
        env = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
        env.update(STOCKSYNC_API_PORT="0", STOCKSYNC_CONSOLE_PORT="0", STOCKSYNC_AWS_PORT="0",
                   STOCKSYNC_STANDIN_PORT="0", STOCKSYNC_STATE_FILE="", PYTHONUNBUFFERED="1")
        env.update(environment or {})
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", STACK_MODULE], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        ready: dict[str, Any] = {}
        started = threading.Event()

        def read(stdout: IO[str]) -> None:
            for printed in stdout:
                line = printed.rstrip()
                if on_line is not None:
                    on_line(line)
                self.output.append(line)
                if (where := read_ready(line)) is not None:
                    ready.update(where)
                    started.set()
            started.set()  # the stack exited

        threading.Thread(target=read, args=(self.process.stdout,), name="local-stack-output", daemon=True).start()

        started.wait(start_timeout_s)
        if not ready:
            self.process.kill()
            self.process.wait()
            raise StackStartError("the local stack did not start:\n" + "\n".join(self.output[-LAST_LINES:]))
        self.api_url: str = ready["api_url"]
        self.aws_endpoint: str = ready["aws_endpoint"]
        self.api_key: str = ready["api_key"]
        self.standins: dict[str, str] = ready["standins"]  # stand-in name -> base URL
        # The demo seller's console sign-in: region, user_pool_id, client_id, endpoint, username, password.
        self.sign_in: dict[str, str] = ready.get("sign_in") or {}
        self.console_url: str | None = ready.get("console_url")  # the web console (None: not served)

    def session(self) -> requests.Session:
        """An HTTP session that sends the stack's API key."""
        session = requests.Session()
        session.headers["x-api-key"] = self.api_key
        return session

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """SIGTERM, as Ctrl-C would: the stack stops its functions, stand-ins and embedded AWS. A stop
        waits for the invocations in flight; a stack still running after `timeout_s` is killed, and
        the answer is False."""
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return False
        return True

    def __enter__(self) -> StackProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
