# The production image: gunicorn web, Celery worker and beat all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# WeasyPrint needs Pango, and HarfBuzz's subsetter to embed fonts fast; fonts for the PDFs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 offlabel
WORKDIR /app
COPY pyproject.toml README.md ./
COPY offlabel ./offlabel
COPY accounts ./accounts
COPY audit ./audit
COPY evidence ./evidence
COPY prescriptions ./prescriptions
COPY regulatory ./regulatory
COPY consent ./consent
COPY pharmacy ./pharmacy
COPY followup ./followup
COPY reports ./reports
COPY templates ./templates
COPY locale ./locale
COPY static ./static
COPY manage.py ./
# The interface translations are compiled here (pure Python): the .mo files are not in git.
RUN pip install . && python manage.py compile_catalogues --force && mkdir -p /app/var \
    && chown -R offlabel /app/var
USER offlabel
# collectstatic needs a key but no database; the real key comes from the environment at run time.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=build-only-not-secret-000000000000000000000000000000000 \
    python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "offlabel.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
