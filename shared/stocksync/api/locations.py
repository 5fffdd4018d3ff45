"""/locations: warehouses; exactly one is the default."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from stocksync.api.context import services
from stocksync.api.models import LocationList, LocationOut
from stocksync.api.params import LocationId
from stocksync.inventory.locations import LocationInput, LocationPatch

router = Router()

@router.get("/locations", tags=["Locations"], summary="Every location (a default one is made on first use)")
def list_locations() -> LocationList:
    return LocationList(locations=[LocationOut.of(location) for location in services().locations.list()])


@router.post("/locations", tags=["Locations"], summary="Add a location", status_code=201)
def create_location(location: Annotated[LocationInput, Body()]) -> Response[LocationOut]:
    created = services().locations.create(location)
    return Response(status_code=201, content_type="application/json", body=LocationOut.of(created))


@router.get("/locations/<location_id>", tags=["Locations"], summary="A location")
def get_location(location_id: LocationId) -> LocationOut:
    return LocationOut.of(services().locations.get(location_id))


@router.patch("/locations/<location_id>", tags=["Locations"], summary="Rename, or make it the default")
def update_location(location_id: LocationId, patch: Annotated[LocationPatch, Body()]) -> LocationOut:
    return LocationOut.of(services().locations.update(location_id, patch))


@router.delete("/locations/<location_id>", tags=["Locations"], summary="Delete an empty, unused location",
               status_code=204)
def delete_location(location_id: LocationId) -> Response[None]:
    services().locations.delete(location_id)
    return Response(status_code=204)
