"""Customers' comments: the service, what may be posted, queries, sentiment, backfill."""
