"""Entry points: HTTP API, CLI, worker, scenario runner. They hold no rules."""
