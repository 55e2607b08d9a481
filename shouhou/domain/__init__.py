"""Pure after-sales rules: no I/O, no clock reads. Every function is handed `at`."""
