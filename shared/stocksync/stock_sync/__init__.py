"""Stock out: the right quantity on every linked listing.

`rules` are pure (targets, limits, what needs sending); `submitter` reads stock and sends a batch's
listings per channel in bulk; `queue` turns stock-queue batches into one reconciliation; `channel_pass`
and `scheduled` walk whole channels as jobs (Force Update, the 15-minute run); `rate_limit` keeps each
channel account within its API's budget across concurrent invocations.
"""
