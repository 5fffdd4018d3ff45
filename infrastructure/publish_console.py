"""`python -m infrastructure.publish_console --stack-name stocksync`: put the built web console on the
deployed stack (`make deploy` runs it after `sam deploy`).

It reads the stack's outputs, uploads every file of console/dist to the console bucket with its
Content-Type and a Cache-Control for it (index.html, config.json and any file without a content hash
in its name: `no-cache`, so a deploy shows at once; hashed assets: a year, immutable), writes the
console's config.json (where the API is and how people sign in: the interface the console reads at
start), publishes docs/openapi.json as /openapi.json when the build has none (the API's own
/swagger sits behind the authorizer like every route), and invalidates the distribution's cache.

Assets go first and index.html and config.json last, so a browser loading the console during a
deploy never gets a page naming files that are not there yet. Old hashed assets are kept: a page
loaded before the deploy may still ask for them (the bucket's versioning expires nothing current).
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import re
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
CONSOLE_DIST = ROOT / "console" / "dist"
OPENAPI_DOCUMENT = ROOT / "docs" / "openapi.json"
API_BASE = "/v1"  # CloudFront's /v1/* behaviour: API Gateway's stage v1, same origin
INDEX = "index.html"
CONFIG = "config.json"
OPENAPI = "openapi.json"
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
# `index-BxQ3f8aZ.js`, `chunk.5f2c9d1e.css`: a build tool's content hash (8+ characters with a digit or
# a capital) before the extension.
_HASHED = re.compile(r"[-.](?=[A-Za-z0-9_]*[0-9A-Z])[A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$")
_TYPES = {
    ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
    ".json": "application/json", ".map": "application/json", ".svg": "image/svg+xml", ".png": "image/png",
    ".ico": "image/x-icon", ".woff2": "font/woff2", ".woff": "font/woff", ".txt": "text/plain",
    ".webmanifest": "application/manifest+json", ".wasm": "application/wasm", ".webp": "image/webp",
}
_TEXT_TYPES = ("text/", "application/json", "application/manifest+json", "image/svg+xml")
_OUTPUTS = {
    "ConsoleUrl": "url",
    "ConsoleBucketName": "bucket",
    "ConsoleDistributionId": "distribution_id",
    "UserPoolId": "user_pool_id",
    "ConsoleClientId": "client_id",
}


class PublishError(RuntimeError):
    """The console cannot be published; the message says what to do."""


@dataclass(frozen=True)
class ConsoleStack:
    """What the deployed stack says about its console and its sign-in."""

    region: str
    url: str
    bucket: str
    distribution_id: str
    user_pool_id: str
    client_id: str

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, str], region: str) -> ConsoleStack:
        missing = sorted(name for name in _OUTPUTS if not outputs.get(name))
        if missing:
            raise PublishError(f"the stack has no output {', '.join(missing)}: deploy the current template.yaml first")
        return cls(region=region, **{attribute: outputs[name] for name, attribute in _OUTPUTS.items()})

    def console_config(self) -> dict[str, Any]:
        """config.json: the API same-origin under /v1, and Cognito's regional endpoint for sign-in."""
        return {
            "apiBase": API_BASE,
            "signIn": {
                "region": self.region,
                "userPoolId": self.user_pool_id,
                "clientId": self.client_id,
                "endpoint": f"https://cognito-idp.{self.region}.amazonaws.com/",
            },
        }


@dataclass
class Published:
    files: list[str] = field(default_factory=list)  # object keys, in upload order
    invalidation_id: str = ""


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError as exc:
        raise PublishError(f"stack {stack_name!r} cannot be read: {exc}") from exc
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs") or []}


def content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    guessed = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith(_TEXT_TYPES) else guessed


def cache_control(key: str) -> str:
    """A year for a file whose name carries its content's hash (a new build names a new file); every other
    file is revalidated on each load, so the console a deploy publishes is the one people get."""
    return IMMUTABLE if _HASHED.search(Path(key).name) else NO_CACHE


def publish(stack: ConsoleStack, dist: Path, s3: Any, cloudfront: Any, openapi: Path | None = OPENAPI_DOCUMENT
            ) -> Published:
    """Upload `dist` and the console's config.json to the stack's bucket, then invalidate its distribution."""
    if not (dist / INDEX).is_file():
        raise PublishError(f"{dist} has no {INDEX}: build the console first")
    files = {path.relative_to(dist).as_posix(): path for path in sorted(dist.rglob("*")) if path.is_file()}
    files.pop(CONFIG, None)  # written from the stack's outputs below: a built one names no real stack
    if OPENAPI not in files and openapi is not None and openapi.is_file():
        files[OPENAPI] = openapi
    published = Published()
    for key in _upload_order(files):
        _put(s3, stack.bucket, key, files[key].read_bytes(), published)
        if key == INDEX:
            _put(s3, stack.bucket, CONFIG, json.dumps(stack.console_config(), indent=2).encode(), published)
    published.invalidation_id = cloudfront.create_invalidation(
        DistributionId=stack.distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(uuid.uuid4())},
    )["Invalidation"]["Id"]
    return published


def _upload_order(files: Mapping[str, Path]) -> list[str]:
    """Every asset, then index.html (config.json right after it): nothing names a file not yet there."""
    return sorted(files, key=lambda key: (key == INDEX, key))


def _put(s3: Any, bucket: str, key: str, body: bytes, published: Published) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type(key),
                  CacheControl=NO_CACHE if key in (INDEX, CONFIG) else cache_control(key))
    published.files.append(key)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-name", default=os.environ.get("STACK_NAME", "stocksync"))
    parser.add_argument("--region", default=None,
                        help="the stack's region (default: AWS_DEFAULT_REGION or the profile's)")
    parser.add_argument("--dist", type=Path, default=CONSOLE_DIST, help="the built console (default: console/dist)")
    arguments = parser.parse_args(argv)
    session = boto3.session.Session(region_name=arguments.region)
    if not session.region_name:
        print("publish_console: no region: set AWS_DEFAULT_REGION or pass --region", file=sys.stderr)
        return 2
    try:
        outputs = stack_outputs(session.client("cloudformation"), arguments.stack_name)
        stack = ConsoleStack.from_outputs(outputs, session.region_name)
        published = publish(stack, arguments.dist, session.client("s3"), session.client("cloudfront"))
    except PublishError as exc:
        print(f"publish_console: {exc}", file=sys.stderr)
        return 1
    print(f"Console published: {stack.url} ({len(published.files)} files; invalidation {published.invalidation_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
