# Convoc image: slim Python, non-root. By default migrations then the server, as one container;
# deploy/compose.yaml runs the same image once per role (migrate, api, worker, simulator).
# Needs nothing at build time beyond the package index.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/convoc
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY deploy/entrypoint.sh ./deploy/entrypoint.sh
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --home-dir /srv/convoc convoc \
    && mkdir -p var && chown convoc:convoc var

USER convoc
# Production by default: the app refuses to start until CONVOC_SECRET_KEY is set.
# CONVOC_WORKERS: API processes, one per core given to the container (override with -e).
ENV CONVOC_ENV=production \
    CONVOC_HOST=0.0.0.0 \
    CONVOC_PORT=8000 \
    CONVOC_WORKERS=2
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"CONVOC_PORT\"]}/health', timeout=4)"
ENTRYPOINT ["/srv/convoc/deploy/entrypoint.sh"]
CMD ["all"]
