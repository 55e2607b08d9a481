"""Adapters: the database (tables, unit of work, metrics), the payment channel, the blob store, the
notifier and the official calendar. Importing this package registers every table on
`tables.metadata`, the operations, complaints, remedies, freight claims, automation rules and
idempotency keys tables included, and the governance counters with their triggers."""

from . import automation_table as automation_table
from . import complaints_table as complaints_table
from . import counts_sql as counts_sql
from . import counts_table as counts_table
from . import freight_table as freight_table
from . import idempotency_table as idempotency_table
from . import operations as operations
from . import remedies_table as remedies_table
from . import webhooks_table as webhooks_table
