"""What every part of the layer stands on: the table, AWS, settings, errors, jobs, queues."""
