"""Request and response bodies of the HTTP API, one module per area; what they share is in `common`.
Money is a decimal string in yuan ("99.00"); times are ISO 8601 with their offset.

Two areas each have an `AppealIn`, `AppealOut` and `AppealPage`. On such a clash pydantic names the
OpenAPI component after the class's module (`shouhou__entrypoints__api__schemas__AppealOut`), so those
six classes keep the `__module__` they had before the split (see disputes.py and governance.py): the
names clients generated from the schema know stay the same."""
