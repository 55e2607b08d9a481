"""Adapters: the database (tables, unit of work, metrics), the payment channel, the blob store, the
notifier and the official calendar. Importing this package registers every table on
`tables.metadata`, the operations tables included."""

from . import operations as operations
