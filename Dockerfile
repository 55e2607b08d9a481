# shouhou's image: the API (`shouhou serve`), the deadline worker (`shouhou worker`) and the outbox
# dispatcher (`shouhou dispatch`) from one image; compose.yaml runs them together. The database comes
# from SHOUHOU_DATABASE_URL (PostgreSQL in production).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The exact versions every install gets (requirements.lock), without the test extra.
COPY pyproject.toml requirements.lock README.md ./
COPY shouhou ./shouhou
RUN pip install -c requirements.lock . \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin shouhou \
 && mkdir -p /data/blobs && chown -R shouhou /data
COPY deploy/entrypoint.sh /usr/local/bin/shouhou-entrypoint
RUN chmod 0755 /usr/local/bin/shouhou-entrypoint

USER shouhou
# Evidence files and the SQLite default live under /data (a volume); PostgreSQL needs nothing here.
WORKDIR /data
ENV SHOUHOU_DATABASE_URL=sqlite:////data/shouhou.db SHOUHOU_BLOB_DIR=/data/blobs
EXPOSE 8000

ENTRYPOINT ["shouhou-entrypoint"]
CMD ["shouhou", "serve", "--host", "0.0.0.0", "--port", "8000"]
