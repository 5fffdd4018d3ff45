"""The stand-in base: serves its routes, records exchanges, and checks them against a real contract."""

from __future__ import annotations

import requests
from werkzeug.routing import Rule

from infrastructure.standins.base import StandIn, json_response
from infrastructure.standins.contract import Contract, spec

AKENEO = spec("akeneo", "akeneo-web-api.oas3.json")


class TinyAkeneo(StandIn):
    name = "tiny-akeneo"

    def __init__(self, answer, **kwargs):
        self.answer = answer
        super().__init__(**kwargs)

    def rules(self):
        return [Rule("/api/rest/v1/channels", endpoint="channels", methods=["GET"])]

    def channels(self, request):
        return json_response(self.answer)


def test_given_a_stand_in_with_a_contract_when_it_answers_off_contract_then_the_violation_is_recorded():
    channel = {"code": "ecommerce", "category_tree": "master", "locales": ["en_US"], "currencies": ["EUR"]}
    good = {"_links": {}, "current_page": 1, "_embedded": {"items": [channel]}}
    with TinyAkeneo(good, contract=Contract(AKENEO)) as standin:
        assert requests.get(f"{standin.url}/api/rest/v1/channels", timeout=5).status_code == 200
        assert standin.violations() == []

    with TinyAkeneo({"current_page": "one"}, contract=Contract(AKENEO)) as standin:
        requests.get(f"{standin.url}/api/rest/v1/channels", timeout=5)
        assert standin.violations()
        assert standin.exchanges[0].path == "/api/rest/v1/channels"


def test_given_an_unknown_route_when_called_then_404_json():
    with TinyAkeneo({}) as standin:
        answer = requests.get(f"{standin.url}/nothing", timeout=5)
    assert answer.status_code == 404
    assert "no route" in answer.json()["message"]
