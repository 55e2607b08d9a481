"""The read side: views of orders, tickets, the entry, money, disputes and governance, scoped to what
the actor may see (services.access). Plain dicts, money as yuan strings, times in Asia/Shanghai with
their offset. Nothing here changes state, and nothing here imports the write side."""
