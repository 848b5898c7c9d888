#!/bin/sh
# First start of the PostgreSQL container only (docker-entrypoint-initdb.d): create the app's
# role. POSTGRES_USER owns the database and its tables (it runs migrate and db_roles); the
# app's role logs in with no other attribute: not a superuser, no CREATEDB, no CREATEROLE, and
# it owns nothing, so it cannot TRUNCATE, ALTER or drop the audit tables or their triggers.
# `manage.py db_roles` (run by the web service after every migrate) grants it the tables.
set -eu
: "${POSTGRES_APP_USER:=offlabel_app}"
: "${POSTGRES_APP_PASSWORD:?set POSTGRES_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="$POSTGRES_APP_USER" -v app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L',
              :'app_user', :'app_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
