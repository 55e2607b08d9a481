"""Request and response bodies of the HTTP API, one module per area; what they share is in `common`.
Money is a decimal string in yuan ("99.00"); times are ISO 8601 with their offset.

A ticket's appeal against a ruling is `AppealIn`/`AppealOut`/`AppealPage` (disputes.py); a shop's
appeal against a governance measure is `MeasureAppeal*` (governance.py): one name per OpenAPI component,
so a generated client has one model per name."""
