"""Items, kits, locations and stock: the master the channels are kept in step with."""
