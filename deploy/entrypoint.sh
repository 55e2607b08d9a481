#!/bin/sh
# Bring the database to the newest revision once, then become the given process (serve, worker,
# dispatch...). With SHOUHOU_SKIP_MIGRATE=1 it starts at once: compose.yaml migrates in its own
# one-shot service before the others start, so several processes never migrate together.
set -e
if [ "${SHOUHOU_SKIP_MIGRATE:-0}" != "1" ]; then
    shouhou db upgrade
fi
exec "$@"
