"""Stock out: the right quantity on every linked listing (issue 5)."""
