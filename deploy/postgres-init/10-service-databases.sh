#!/usr/bin/env bash
# Creates one role and one database per service, each database owned by its
# service's role and closed to every other role. The official postgres image
# runs this once, when it initialises an empty data directory; it is also safe
# to run again by hand (existing roles and databases are left alone).
#
# Environment:
#   POSTGRES_USER              superuser to connect as (set by the image)
#   POSTGRES_DB                database to connect to first (default: postgres)
#   POSTGRES_SERVICE_PASSWORD  password given to every service role (required)
#   SERVICE_DATABASES          names, space-separated (default: the four services)
set -euo pipefail

: "${POSTGRES_SERVICE_PASSWORD:?POSTGRES_SERVICE_PASSWORD must be set}"
databases="${SERVICE_DATABASES:-reception workshop crm network}"

for name in $databases; do
  if [[ ! "$name" =~ ^[a-z_][a-z0-9_]*$ ]]; then
    echo "refusing database name '$name': use lower-case letters, digits and _" >&2
    exit 1
  fi
  echo "service database: $name"
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    --set=name="$name" --set=password="$POSTGRES_SERVICE_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')
\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name')
\gexec
SQL
done
