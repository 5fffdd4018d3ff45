"""`make bench`: measures stocksync on this machine and writes bench/results.json."""
