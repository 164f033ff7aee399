# Rentwatch's bot, parser and worker in one container (`runall`). Configuration comes from the
# environment: see .env.example and compose.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies before the code, so that a code change reuses this layer.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# No collectstatic: runall serves no HTTP, it polls Telegram and fetches listing pages.
RUN useradd --system --no-create-home --shell /usr/sbin/nologin rentwatch
USER rentwatch

# Fails when a component's heartbeat is stale; the start period covers the first beats.
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
    CMD ["python", "manage.py", "health"]

# Exec form, no shell in between: `docker stop`'s SIGTERM reaches runall, which finishes its
# current work and exits 0 within 10 s (compose.yaml allows 20).
CMD ["python", "manage.py", "runall"]
