"""stocksync: the Lambda layer shared by every function (domain rules, table model, services)."""
