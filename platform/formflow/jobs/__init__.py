"""Background work on RQ and Redis: the queue, workers, and the embedded server."""
