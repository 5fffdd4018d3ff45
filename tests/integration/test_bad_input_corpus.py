"""The bad-input corpus (tests/fixtures/bad_input): every malformed catalogue file and every bad import
goes through the real path (reader and loader on the embedded AWS; the API for imports) and must end
as a clean job error or row errors at its first delivery, with nothing applied and nothing left
"running" or scheduled for a retry. One stack serves the whole module (each case takes a few calls).
Run with -s to see the counts (files tried, passed) for the closing note."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
import requests

from infrastructure.local.provision import provision
from infrastructure.local.template import load_handler, load_template
from stocksync.catalogue.ingest_messages import handle_ingest_record
from stocksync.catalogue.load import CatalogueLoader
from stocksync.core import db
from stocksync.core.db import CatalogueLoadRecord, JobRecord, ListingRecord, LoadErrorRecord
from stocksync.core.messages import INGEST_MAX_RECEIVES, Delivery
from stocksync.core.settings import CatalogueIngestSettings
from stocksync.wiring import wiring
from tests.fixtures.bad_input.catalogues import CASES as CATALOGUES
from tests.fixtures.bad_input.catalogues import Case
from tests.fixtures.bad_input.imports import CASES as IMPORTS
from tests.fixtures.bad_input.imports import ImportCase

BASELINE = b"sku,title,price,quantity\nA-1,Alpha,1.50,3\nB-2,Beta,2,0\nC-3,Gamma,3,7\n"


@dataclass
class Corpus:
    api: Any
    channel: str
    bucket: str
    loader: CatalogueLoader
    jobs_queue: str
    jobs_worker: Any
    snapshot: dict[str, Any]
    tried: dict[str, int] = field(default_factory=lambda: {"catalogue files": 0, "imports": 0})
    passed: dict[str, int] = field(default_factory=lambda: {"catalogue files": 0, "imports": 0})


def _integration_conftest(config: pytest.Config) -> Any:
    """tests/integration/conftest.py as loaded by pytest (its Api caller, without a stack per test)."""
    for plugin in config.pluginmanager.get_plugins():
        if str(getattr(plugin, "__file__", "")).endswith(("integration/conftest.py", "integration\\conftest.py")):
            return plugin
    raise LookupError("tests/integration/conftest.py is not loaded")


def _snapshot(channel: str) -> dict[str, Any]:
    """Every listing of the channel as stored (all attributes): what a bad input must leave alone."""
    listings = ListingRecord.query(db.channel_pk(channel), ListingRecord.SK.startswith(db.LISTING_PREFIX))
    return {listing.SK: listing.serialize() for listing in listings}


@pytest.fixture(scope="module")
def corpus(request: pytest.FixtureRequest, aws_endpoint: str) -> Iterator[Corpus]:
    requests.post(f"{aws_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    template = load_template()
    with pytest.MonkeyPatch.context() as patch:
        stack = provision(template)
        for name, value in stack.environment.items():
            patch.setenv(name, value)
        wiring.cache_clear()
        api = _integration_conftest(request.config).Api()
        channel = api.post("/channels", {"name": "Corpus", "type": "generic", "settings": {}}).body["channel_id"]
        assert api.post("/items", {"sku": "ITEM-1"}).status == 201
        loader = wiring(CatalogueIngestSettings).catalogue_loader
        bucket = stack.ref("CatalogueBucket")
        corpus = Corpus(api=api, channel=channel, bucket=bucket, loader=loader, jobs_queue=stack.ref("JobsQueue"),
                        jobs_worker=load_handler(template, "JobsWorkerFunction"), snapshot={})
        _deliver(corpus, Case("baseline", BASELINE))
        corpus.snapshot = _snapshot(channel)
        assert len(corpus.snapshot) == 3
        yield corpus
        wiring.cache_clear()
    for kind, tried in corpus.tried.items():
        print(f"\nbad-input corpus: {tried} {kind} tried, {corpus.passed[kind]} passed")


def _deliver(corpus: Corpus, case: Case) -> tuple[str, list[int]]:
    """Uploads the file and delivers its S3 notification once, as the ingest queue would; (load id, backoffs)."""
    folder = f"{case.source}/" if case.source else ""
    key = f"catalogues/{corpus.channel}/{folder}{case.name}.csv"
    extra = {"ContentType": case.content_type} if case.content_type else {}
    put = boto3.client("s3").put_object(Bucket=corpus.bucket, Key=key, Body=case.data, **extra)
    notification = {"Records": [{
        "eventName": "ObjectCreated:Put", "eventTime": db.now().isoformat(),
        "s3": {"bucket": {"name": corpus.bucket},
               "object": {"key": quote_plus(key), "eTag": put["ETag"].strip('"'), "size": len(case.data),
                          "sequencer": f"{db.now().timestamp():.6f}"}}}]}
    backoffs: list[int] = []
    loads = handle_ingest_record(corpus.loader, json.dumps(notification), Delivery(1, INGEST_MAX_RECEIVES),
                                 backoffs.append)
    assert len(loads) == 1, loads
    return loads[0], backoffs


@pytest.mark.parametrize("case", CATALOGUES, ids=[case.name for case in CATALOGUES])
def test_a_malformed_catalogue_file_fails_cleanly_at_its_first_delivery_and_changes_nothing(corpus, case):
    corpus.tried["catalogue files"] += 1

    load_id, backoffs = _deliver(corpus, case)

    assert backoffs == []  # nothing scheduled to come back
    load = db.get_or_none(CatalogueLoadRecord, CatalogueLoadRecord.keys(load_id))
    job = db.get_or_none(JobRecord, JobRecord.keys(load_id))
    assert load is not None and load.phase == "failed"
    assert job is not None and job.status == "failed" and job.message
    errors = list(LoadErrorRecord.query(db.load_pk(load_id), LoadErrorRecord.SK.startswith(db.LOAD_ERROR_PREFIX)))
    assert errors and all(error.reason for error in errors)
    assert _snapshot(corpus.channel) == corpus.snapshot
    corpus.passed["catalogue files"] += 1


def _send_import(corpus: Corpus, case: ImportCase) -> Any:
    path = (f"/channels/{corpus.channel}/mapping/import" if case.kind == "mapping"
            else f"/channels/{corpus.channel}/listing-limits/import")
    if case.raw_body is not None:
        return corpus.api.call("POST", path, raw_body=case.raw_body)
    body = {"csv": case.csv} if case.columns is None else {"csv": case.csv, "columns": case.columns}
    return corpus.api.post(path, body)


def _run_queued_job(corpus: Corpus) -> None:
    """Runs what the API put on the jobs queue, once, through the jobs worker's handler."""
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=corpus.jobs_queue, MaxNumberOfMessages=10,
                                   AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
    assert len(messages) == 1
    message = messages[0]
    event = {"Records": [{"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                          "body": message["Body"], "attributes": message.get("Attributes", {}),
                          "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:jobs", "awsRegion": "eu-west-1"}]}
    assert corpus.jobs_worker(event, _WorkerContext()) == {"batchItemFailures": []}
    sqs.delete_message(QueueUrl=corpus.jobs_queue, ReceiptHandle=message["ReceiptHandle"])


class _WorkerContext:
    function_name = "JobsWorkerFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:JobsWorkerFunction"
    aws_request_id = "corpus"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 800_000


@pytest.mark.parametrize("case", IMPORTS, ids=[case.name for case in IMPORTS])
def test_a_bad_import_is_refused_with_its_reasons_and_applies_nothing(corpus, case):
    corpus.tried["imports"] += 1

    answer = _send_import(corpus, case)

    if answer.status == 202:  # a large import: the jobs worker runs it, once
        _run_queued_job(corpus)
        job = corpus.api.get(f"/jobs/{answer.body['job_id']}").body
        assert job["status"] == "failed" and job["errors"], job
    else:
        assert 400 <= answer.status < 500, (answer.status, str(answer.body)[:500])
        assert answer.body["error"]["message"] if isinstance(answer.body, dict) and "error" in answer.body \
            else answer.body
    assert _snapshot(corpus.channel) == corpus.snapshot
    corpus.passed["imports"] += 1
