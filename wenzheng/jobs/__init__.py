"""The work queue: jobs are rows, enqueued in the transaction of the change that causes them."""
