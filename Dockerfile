# One image for every LiveHub process: web (default CMD), Celery worker, beat, migrate.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=hub.settings \
    LIVEHUB_DATA_DIR=/data

# A CJK font so share posters render Chinese product names.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin livehub \
    && mkdir -p /app /data \
    && chown livehub:livehub /app /data
WORKDIR /app

# Dependencies first, from pyproject alone, so code changes reuse this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Everything else (.dockerignore keeps .venv, .data and .git out).
COPY . .
# Editable, so templates, migrations and static files are read from /app like in development.
RUN pip install --no-deps -e . \
    && python manage.py collectstatic --noinput -v0 \
    && chown -R livehub:livehub /data

USER 10001
VOLUME ["/data"]
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "hub.asgi:application"]
