"""Adapters at the edges: database, notifier."""
