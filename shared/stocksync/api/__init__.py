"""The REST API: Powertools resolver, one router per resource, errors mapped in one place."""
