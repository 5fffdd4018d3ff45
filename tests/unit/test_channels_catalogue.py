"""Each channel adapter's catalogue side against its stand-in: what we send and what they answer
validate against the channel's published contract (infrastructure/standins/specs)."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime

import pytest
import requests

from infrastructure.standins import amazon, ebay, generic, magento, mirakl, rakuten
from stocksync.channels.base import (
    CatalogueStatus,
    ChannelAccount,
    ChannelAuthFailed,
    ChannelRejected,
    ChannelUnavailable,
)
from stocksync.channels.registry import build_adapter
from stocksync.core.http_client import RetryPolicy, TokenCache

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, sleep=lambda _s: None)


def adapter(channel_type, settings, credentials, **kwargs):
    return build_adapter(ChannelAccount("chan-1", channel_type, settings, credentials), policy=NO_WAIT,
                         tokens=TokenCache(), **kwargs)


def run_to_document(subject):
    progress = subject.request_catalogue()
    for _ in range(5):
        if progress.status == CatalogueStatus.DONE:
            break
        progress = subject.poll_catalogue(progress.report_id, progress.details)
    assert progress.status == CatalogueStatus.DONE
    with subject.open_catalogue(progress) as document:
        return document, b"".join(document.chunks)


def normalized_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


def amazon_adapter(standin):
    return adapter("amazon", {"sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token",
                              "marketplace_ids": ["A1F83G8C2ARO7P"]},
                   {"lwa_client_id": amazon.CLIENT_ID, "lwa_client_secret": amazon.CLIENT_SECRET,
                    "refresh_token": amazon.REFRESH_TOKEN})


def test_given_amazon_when_the_listings_report_is_requested_polled_and_downloaded_then_it_is_kept_as_served():
    with amazon.AmazonStandIn(polls_until_done=2) as standin:
        subject = amazon_adapter(standin)

        document, body = run_to_document(subject)

        assert standin.violations() == []
        assert (document.source, document.extension) == ("amazon_merchant_listings", "tsv.gz")
        assert document.content_type == "text/plain; charset=Cp1252"
        text = gzip.decompress(body).decode("cp1252")
        assert text.startswith("item-name\titem-description\tlisting-id\tseller-sku")
        assert "Café clearance lot 1 \u2013 boxed" in text
        assert "AMAZON_EU" in text  # FBA rows are there, with an empty quantity
        token_calls = [e for e in standin.exchanges if e.path == "/auth/o2/token"]
        assert len(token_calls) == 1  # the LWA token is cached across calls


def test_given_amazon_without_gzip_when_downloaded_then_a_plain_tsv():
    with amazon.AmazonStandIn(gzip_documents=False, polls_until_done=1) as standin:
        document, body = run_to_document(amazon_adapter(standin))
    assert document.extension == "tsv"
    assert body.decode("cp1252").splitlines()[1].count("\t") == 28


def test_given_amazon_a_crashed_request_when_looked_for_then_the_report_is_adopted_not_requested_again():
    with amazon.AmazonStandIn() as standin:
        subject = amazon_adapter(standin)
        since = datetime.now(UTC).replace(microsecond=0)
        requested = subject.request_catalogue()

        adopted = subject.find_catalogue_request(since.replace(year=since.year - 1))

        assert adopted is not None and adopted.report_id == requested.report_id
        assert len(standin.reports) == 1
        assert standin.violations() == []


def test_given_wrong_amazon_credentials_when_requesting_then_auth_failed():
    with amazon.AmazonStandIn() as standin:
        subject = adapter("amazon", {"sp_api_endpoint": standin.url, "lwa_endpoint": f"{standin.url}/auth/o2/token"},
                          {"lwa_client_id": "x", "lwa_client_secret": "y", "refresh_token": "z"})
        with pytest.raises(ChannelAuthFailed):
            subject.request_catalogue()


def test_given_a_create_report_answering_503_when_requested_then_it_is_not_retried_blindly():
    with amazon.AmazonStandIn() as standin:
        standin.fail_next("create_report", 503)
        with pytest.raises(ChannelUnavailable):
            amazon_adapter(standin).request_catalogue()
        assert [e.status for e in standin.exchanges if e.method == "POST" and "reports" in e.path] == [503]


def test_given_ebay_when_the_active_inventory_report_is_read_then_inventory_api_and_trading_listings_are_told_apart():
    with ebay.EbayStandIn() as standin:
        subject = adapter("ebay", {"api_base_url": standin.url, "marketplace_id": "EBAY_GB"},
                          {"client_id": ebay.CLIENT_ID, "client_secret": ebay.CLIENT_SECRET,
                           "refresh_token": ebay.REFRESH_TOKEN})

        document, body = run_to_document(subject)

        assert standin.violations() == []
        rows = normalized_rows(body)
        assert document.source == "stocksync_listings"
        assert len(rows) == len(standin.listings)
        kinds = {row["sku"]: row["listing_kind"] for row in rows}
        assert {sku for sku, kind in kinds.items() if kind == "inventory_api"} == standin.inventory_api_skus
        assert set(kinds.values()) == {"inventory_api", "trading"}
        first = rows[0]
        assert (first["currency"], first["listing_id"], first["state"], first["fba"]) == (
            "GBP", standin.listings[0].listing_id, "active", "false")


def catalogue_pages(standin) -> list:
    """The product searches of the whole catalogue (the configurables are searched for apart)."""
    return [e for e in standin.exchanges if e.path.endswith("/V1/products") and ["type_id"] not in e.query.values()]


def test_given_magento_when_paging_products_then_it_stops_on_total_count_despite_the_last_page_repeating():
    with magento.MagentoStandIn(listings=magento.demo_listings("WEB", products=5, colours=10, extras=5)) as standin:
        subject = adapter("magento", {"base_url": standin.url}, {"access_token": magento.ACCESS_TOKEN})

        _document, body = run_to_document(subject)

        rows = normalized_rows(body)
        assert [row["sku"] for row in rows] == [item.sku for item in standin.listings]  # 55: no repeats
        product_calls = catalogue_pages(standin)
        assert len(product_calls) == 1  # 55 listings fit one page of 300
        assert rows[3]["quantity"] == str(standin.listings[3].quantity)  # summed over both MSI sources
        assert standin.violations() == []


def test_given_a_shop_with_magentos_input_limits_when_a_search_asks_more_than_300_a_page_then_it_is_refused():
    with magento.MagentoStandIn() as standin:
        for path in ("products", "inventory/source-items", "orders"):
            answer = requests.get(f"{standin.url}/rest/default/V1/{path}", params={"searchCriteria[pageSize]": 301},
                                  headers={"Authorization": f"Bearer {magento.ACCESS_TOKEN}"}, timeout=5)
            assert answer.status_code == 400, path
            assert answer.json() == {"message": "Maximum SearchCriteria pageSize is %1", "parameters": ["300"]}


def test_given_a_catalogue_of_700_products_when_read_then_three_pages_of_the_most_magento_allows_in_order():
    listings = magento.demo_listings("WEB", products=5, colours=10, extras=650)  # 50 colours and 650 singles
    with magento.MagentoStandIn(listings=listings, configurables={}) as standin:
        subject = adapter("magento", {"base_url": standin.url}, {"access_token": magento.ACCESS_TOKEN})

        rows = normalized_rows(run_to_document(subject)[1])

        assert [row["sku"] for row in rows] == [item.sku for item in listings]  # pages read at once, in order
        assert [e.query["searchCriteria[pageSize]"] for e in catalogue_pages(standin)] == [["300"]] * 3
        source_searches = [e for e in standin.exchanges if e.path.endswith("/inventory/source-items")]
        assert len(source_searches) == 5  # 300, 300 and 100 products' two sources each: 600, 600, 200 rows
        assert rows[650]["quantity"] == str(listings[650].quantity)  # summed over both MSI sources
        assert standin.violations() == []


def test_given_a_page_refused_while_others_are_read_at_once_then_the_whole_catalogue_read_fails():
    listings = magento.demo_listings("WEB", products=5, colours=10, extras=650)
    with magento.MagentoStandIn(listings=listings, configurables={}) as standin:
        subject = adapter("magento", {"base_url": standin.url}, {"access_token": magento.ACCESS_TOKEN})
        read_page = subject._product_page

        def third_page_refused(search, page):
            if page == 3:
                raise ChannelRejected("Magento refused the page")
            return read_page(search, page)

        subject._product_page = third_page_refused
        with pytest.raises(ChannelRejected, match="refused the page"):
            run_to_document(subject)


def test_given_magento_pages_smaller_than_the_catalogue_when_paging_then_exactly_enough_pages(monkeypatch):
    monkeypatch.setattr("stocksync.channels.magento.PAGE_SIZE", 10)
    with magento.MagentoStandIn() as standin:  # 24 listings: 3 pages, the 4th would repeat the 3rd
        subject = adapter("magento", {"base_url": standin.url, "inventory_api": "legacy"},
                          {"access_token": magento.ACCESS_TOKEN})
        rows = normalized_rows(run_to_document(subject)[1])
        assert len(rows) == len({row["sku"] for row in rows}) == 24
        assert len(catalogue_pages(standin)) == 3
        assert standin.violations() == []


def test_given_pixmania_when_the_offers_export_comes_in_chunks_then_one_csv_with_one_header():
    with mirakl.MiraklStandIn(chunk_rows=7) as standin:
        subject = adapter("pixmania", {"base_url": standin.url}, {"api_key": mirakl.API_KEY})

        document, body = run_to_document(subject)

        lines = body.decode().splitlines()
        assert document.source == "mirakl_offers"
        assert lines[0].startswith("offer-id;product-sku")
        assert sum(line.startswith("offer-id") for line in lines) == 1
        assert len(lines) == len(standin.listings) + 1
        assert standin.violations() == []


def test_given_pixmania_without_an_api_key_then_it_is_upload_only():
    subject = adapter("pixmania", {}, {})
    assert subject.catalogue_configured() is False


def test_given_rakuten_throttling_once_when_reading_listings_then_it_waits_and_completes():
    with rakuten.RakutenStandIn() as standin:
        standin.fail_next("get_listings", 429)
        subject = adapter("rakuten", {"base_url": standin.url, "shop_id": rakuten.SHOP_ID},
                          {"api_key": rakuten.API_KEY})

        rows = normalized_rows(run_to_document(subject)[1])

        assert [e.status for e in standin.exchanges] == [429, 200]
        assert len(rows) == len(standin.listings)
        assert rows[0]["barcode"] == standin.listings[0].barcode


def test_given_the_generic_website_when_listings_are_read_then_signed_requests_are_accepted_page_by_page(
        monkeypatch):
    monkeypatch.setattr("stocksync.channels.generic.PER_PAGE", 7)
    with generic.GenericStandIn() as standin:
        subject = adapter("generic", {"base_url": standin.url}, {"api_key": generic.API_KEY})
        rows = normalized_rows(run_to_document(subject)[1])
        assert len(rows) == len(standin.listings)
        assert all(e.status == 200 for e in standin.exchanges)
        assert len(standin.exchanges) == 3

        wrong = adapter("generic", {"base_url": standin.url}, {"api_key": "not-the-secret"})
        with pytest.raises(ChannelAuthFailed):
            list(wrong.listings())


def test_given_a_report_in_odd_chunks_when_variation_columns_are_added_then_every_row_keeps_its_own_bytes():
    from stocksync.channels.amazon import with_variation_columns

    report = "item-name\tseller-sku\tprice\r\nTee \xe9t\xe9\tTEE-M\t9\r\nMug\tMUG\t5\nCap\tCAP-1\t4".encode("cp1252")
    chunks = iter([report[i:i + 7] for i in range(0, len(report), 7)])

    out = b"".join(with_variation_columns(chunks, {"TEE-M": ("TEE", {"size": "M\xe9"})}, gzipped=False,
                                          charset="cp1252"))

    assert out.split(b"\n") == [b"item-name\tseller-sku\tprice\tparent\tvariation\r",
                                "Tee \xe9t\xe9\tTEE-M\t9\tTEE\t".encode("cp1252") + b'{"size":"M\\u00e9"}\r',
                                b"Mug\tMUG\t5\t\t", b"Cap\tCAP-1\t4\t\t"]
