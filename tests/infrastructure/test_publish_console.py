"""Publishing the built console on the deployed stack, against the embedded AWS: a stand-in build folder,
the stack's outputs from CloudFormation, the files in the console bucket with their types and cache
headers, config.json in the interface's shape, and the distribution invalidated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from infrastructure.publish_console import (
    IMMUTABLE,
    NO_CACHE,
    ConsoleStack,
    PublishError,
    main,
    publish,
    stack_outputs,
)

REGION = "eu-west-1"
BUCKET = "stocksync-console-123456789012-eu-west-1"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """What a console build leaves: an index naming hashed assets, an unhashed icon, a stray config."""
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text('<script type="module" src="/assets/index-BxQ3f8aZ.js"></script>')
    (folder / "assets" / "index-BxQ3f8aZ.js").write_text("console.log('console')")
    (folder / "assets" / "index-D4tq9Lw0.css").write_text("body{}")
    (folder / "favicon.svg").write_text("<svg/>")
    (folder / "config.json").write_text('{"apiBase": "http://localhost:8000"}')
    return folder


@pytest.fixture
def distribution_id(aws: str) -> str:
    cloudfront = boto3.client("cloudfront")
    config = {
        "CallerReference": "console", "Comment": "console", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "bucket", "DomainName": f"{BUCKET}.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "bucket", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0},
    }
    return str(cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"])


@pytest.fixture
def stack(aws: str, distribution_id: str) -> ConsoleStack:
    boto3.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return ConsoleStack(region=REGION, url="https://d111.cloudfront.net", bucket=BUCKET,
                        distribution_id=distribution_id, user_pool_id="eu-west-1_pool", client_id="console-client")


def _object(key: str) -> dict[str, Any]:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)


def test_given_a_build_when_published_then_every_file_is_served_with_its_type_and_cache_headers(
        stack: ConsoleStack, dist: Path) -> None:
    publish(stack, dist, boto3.client("s3"), boto3.client("cloudfront"))

    index, script = _object("index.html"), _object("assets/index-BxQ3f8aZ.js")
    style, icon = _object("assets/index-D4tq9Lw0.css"), _object("favicon.svg")
    assert (index["ContentType"], index["CacheControl"]) == ("text/html; charset=utf-8", NO_CACHE)
    assert (script["ContentType"], script["CacheControl"]) == ("text/javascript; charset=utf-8", IMMUTABLE)
    assert (style["ContentType"], style["CacheControl"]) == ("text/css; charset=utf-8", IMMUTABLE)
    assert (icon["ContentType"], icon["CacheControl"]) == ("image/svg+xml; charset=utf-8", NO_CACHE)
    assert script["Body"].read() == b"console.log('console')"


def test_given_the_stack_when_published_then_config_json_names_the_api_and_the_sign_in_uncached(
        stack: ConsoleStack, dist: Path) -> None:
    publish(stack, dist, boto3.client("s3"), boto3.client("cloudfront"))

    config = _object("config.json")
    assert (config["ContentType"], config["CacheControl"]) == ("application/json; charset=utf-8", NO_CACHE)
    assert json.loads(config["Body"].read()) == {
        "apiBase": "/v1",
        "signIn": {"region": REGION, "userPoolId": "eu-west-1_pool", "clientId": "console-client",
                   "endpoint": "https://cognito-idp.eu-west-1.amazonaws.com/"},
    }


def test_given_a_build_when_published_then_assets_go_first_and_index_then_config_last(
        stack: ConsoleStack, dist: Path) -> None:
    published = publish(stack, dist, boto3.client("s3"), boto3.client("cloudfront"))

    assert published.files[-2:] == ["index.html", "config.json"]
    assert set(published.files[:-2]) == {"assets/index-BxQ3f8aZ.js", "assets/index-D4tq9Lw0.css", "favicon.svg",
                                         "openapi.json"}


def test_given_a_build_without_the_api_document_when_published_then_docs_openapi_is_served_beside_it(
        stack: ConsoleStack, dist: Path) -> None:
    publish(stack, dist, boto3.client("s3"), boto3.client("cloudfront"))

    document = json.loads(_object("openapi.json")["Body"].read())
    assert document["openapi"].startswith("3.")


def test_given_a_publish_when_done_then_the_whole_distribution_is_invalidated(
        stack: ConsoleStack, dist: Path, distribution_id: str) -> None:
    cloudfront = boto3.client("cloudfront")

    published = publish(stack, dist, boto3.client("s3"), cloudfront)

    invalidation = cloudfront.get_invalidation(DistributionId=distribution_id, Id=published.invalidation_id)
    assert invalidation["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/*"]


def test_given_no_build_when_published_then_the_error_says_to_build_and_nothing_is_uploaded(
        stack: ConsoleStack, tmp_path: Path) -> None:
    with pytest.raises(PublishError, match=r"has no index\.html: build the console first"):
        publish(stack, tmp_path / "missing", boto3.client("s3"), boto3.client("cloudfront"))

    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_given_a_deployed_stack_when_its_outputs_are_read_then_the_console_stack_is_known(aws: str) -> None:
    outputs = {"ConsoleUrl": "https://d111.cloudfront.net", "ConsoleBucketName": BUCKET,
               "ConsoleDistributionId": "E123", "UserPoolId": "eu-west-1_pool", "ConsoleClientId": "console-client"}
    _deploy_stack_with_outputs("stocksync", outputs)

    stack = ConsoleStack.from_outputs(stack_outputs(boto3.client("cloudformation"), "stocksync"), REGION)

    assert (stack.bucket, stack.distribution_id, stack.client_id) == (BUCKET, "E123", "console-client")


def test_given_a_stack_without_the_console_outputs_when_read_then_the_error_names_them() -> None:
    with pytest.raises(PublishError, match="ConsoleDistributionId, UserPoolId"):
        ConsoleStack.from_outputs({"ConsoleUrl": "u", "ConsoleBucketName": "b", "ConsoleClientId": "c"}, REGION)


def test_given_the_command_when_the_stack_is_missing_then_it_fails_saying_so(
        aws: str, dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--stack-name", "nowhere", "--region", REGION, "--dist", str(dist)])

    assert status == 1
    assert "stack 'nowhere' cannot be read" in capsys.readouterr().err


def test_given_the_command_when_the_stack_is_deployed_then_it_publishes_and_says_where(
        stack: ConsoleStack, dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _deploy_stack_with_outputs("stocksync", {
        "ConsoleUrl": stack.url, "ConsoleBucketName": BUCKET, "ConsoleDistributionId": stack.distribution_id,
        "UserPoolId": stack.user_pool_id, "ConsoleClientId": stack.client_id})

    status = main(["--stack-name", "stocksync", "--region", REGION, "--dist", str(dist)])

    assert status == 0
    assert "Console published: https://d111.cloudfront.net (6 files" in capsys.readouterr().out
    assert json.loads(_object("config.json")["Body"].read())["signIn"]["clientId"] == "console-client"


def _deploy_stack_with_outputs(name: str, outputs: dict[str, str]) -> None:
    """A CloudFormation stack on the embedded AWS whose outputs are `outputs` (what `sam deploy` leaves)."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
