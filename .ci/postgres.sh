#!/usr/bin/env bash
# Start a local PostgreSQL for the test suite and write its SQLAlchemy URL to .ci/.pg_url.
#
# Idempotent: safe on a fresh Debian 12 machine (installs and starts the packaged cluster) and on
# a machine where the cluster already runs (just makes sure the role and database exist).
# As root it uses Debian's packaged cluster (pg_ctlcluster; initdb refuses to run as root).
# As a non-root developer it uses a server that is already running: CRAFTBOT_TEST_PG_URL if set,
# else the URL already in .ci/.pg_url, else a local superuser login over the Unix socket.
set -euo pipefail

ROLE=craftbot
DB=craftbot_test
HOST=127.0.0.1
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
URL_FILE="$HERE/.pg_url"
# A UTF-8 locale that always exists on Debian: clusters created below get UTF8 encoding, not SQL_ASCII.
export LANG=C.UTF-8 LC_ALL=C.UTF-8

log() { printf '[postgres.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

new_password() {
    # A fixed password: the role is a test role on a loopback-only server, and every checkout on
    # one machine (a developer's tree, a CI clone) must agree on it, or each run of this script
    # would lock the others out. Set CRAFTBOT_TEST_PG_PASSWORD to use another.
    printf '%s' "${CRAFTBOT_TEST_PG_PASSWORD:-craftbot-test-only}"
}

# Creates the test role (with the password) and database when missing. Arguments: the psql
# command to run as a superuser, e.g. `as_postgres psql -p 5432` or just `psql`.
create_role_and_db() {
    "$@" -X -q -v ON_ERROR_STOP=1 -d postgres -v role="$ROLE" -v db="$DB" -v pw="$(new_password)" \
        >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
-- CREATEDB: the tests make one throwaway database per test
ALTER ROLE :"role" WITH LOGIN CREATEDB PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING %L', :'db', :'role', 'UTF8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
}

# Checks a URL by connecting with psql (libpq understands postgresql://, not the +psycopg suffix).
url_works() {
    local libpq_url="${1/postgresql+psycopg:\/\//postgresql://}"
    psql "$libpq_url" -XAtqc 'select 1' >/dev/null 2>&1
}

write_url() {
    printf '%s\n' "$1" >"$URL_FILE"
    chmod 600 "$URL_FILE" 2>/dev/null || true
    log "URL written to $URL_FILE"
    printf '%s\n' "$1"
}

server_installed() {
    command -v pg_ctlcluster >/dev/null 2>&1 && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

install_server() {
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    # .ci/run may already have refreshed the package lists this run
    if [[ "${CRAFTBOT_APT_UPDATED:-}" != 1 ]]; then
        apt-get update -qq
        export CRAFTBOT_APT_UPDATED=1
    fi
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

as_postgres() {
    # cd /: the postgres user usually cannot read the checkout, and psql complains about the cwd
    (cd / && runuser -u postgres -- "$@")
}

# Picks the newest packaged cluster as "VERSION NAME PORT STATUS"; creates one if there is none.
pick_cluster() {
    local line
    line="$(pg_lsclusters -h 2>/dev/null | sort -V -k1,1 | tail -n1 || true)"
    if [[ -z "$line" ]]; then
        local version
        version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
        log "no cluster found: creating $version/main"
        pg_createcluster "$version" main >/dev/null
        line="$(pg_lsclusters -h | sort -V -k1,1 | tail -n1)"
    fi
    awk '{print $1, $2, $3, $4}' <<<"$line"
}

setup_as_root() {
    server_installed || install_server
    local cluster version name port status
    cluster="$(pick_cluster)"
    read -r version name port status <<<"$cluster"
    log "cluster $version/$name on port $port is $status"

    # Listen on loopback only: the test role has a password but is still not for the network.
    local conf="/etc/postgresql/$version/$name/conf.d/craftbot-test.conf"
    local wanted="listen_addresses = '127.0.0.1'"
    local changed=0
    if [[ "$(cat "$conf" 2>/dev/null || true)" != "$wanted" ]]; then
        printf '%s\n' "$wanted" >"$conf"
        chown postgres:postgres "$conf"
        changed=1
    fi
    # Containers often lack /run/postgresql after a reboot; the server needs it for its socket.
    install -d -o postgres -g postgres -m 2775 /run/postgresql

    if [[ "$status" == online* ]]; then
        if [[ "$changed" == 1 ]]; then
            log "restarting to apply listen_addresses"
            pg_ctlcluster "$version" "$name" restart
        fi
    else
        log "starting cluster $version/$name"
        pg_ctlcluster "$version" "$name" start
    fi
    local i
    for i in $(seq 1 30); do
        pg_isready -q -h "$HOST" -p "$port" && break
        [[ "$i" == 30 ]] && die "PostgreSQL did not accept connections on $HOST:$port after 30 s; see /var/log/postgresql/"
        sleep 1
    done

    local password
    password="$(new_password)"
    create_role_and_db as_postgres psql -p "$port"
    local url="postgresql+psycopg://${ROLE}:${password}@${HOST}:${port}/${DB}"
    url_works "$url" || die "created role $ROLE and database $DB but cannot log in with them on $HOST:$port (check pg_hba.conf)"
    write_url "$url"
}

# Non-root: we cannot install or start anything, so use what already runs.
setup_as_user() {
    if [[ -n "${CRAFTBOT_TEST_PG_URL:-}" ]]; then
        url_works "$CRAFTBOT_TEST_PG_URL" || die "CRAFTBOT_TEST_PG_URL is set but psql cannot connect with it"
        write_url "$CRAFTBOT_TEST_PG_URL"
        return
    fi
    if [[ -s "$URL_FILE" ]] && url_works "$(cat "$URL_FILE")"; then
        log "reusing the working URL in $URL_FILE"
        cat "$URL_FILE"
        return
    fi
    # A developer who is a PostgreSQL superuser (e.g. Homebrew, or `createuser -s $USER`) can set up
    # the role and database over the local socket without sudo.
    if psql -X -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
        local password port
        password="$(new_password)"
        port="$(psql -X -d postgres -Atqc 'show port')"
        create_role_and_db psql || die "could not create role $ROLE / database $DB (is your PostgreSQL login a superuser?)"
        local url="postgresql+psycopg://${ROLE}:${password}@${HOST}:${port}/${DB}"
        url_works "$url" || die "created role $ROLE but cannot log in over TCP on $HOST:$port (is the server listening there?)"
        write_url "$url"
        return
    fi
    die "not root and no reachable PostgreSQL: run this script as root (e.g. sudo bash .ci/postgres.sh), start a server you can log in to as a superuser, or set CRAFTBOT_TEST_PG_URL"
}

if [[ "$(id -u)" == 0 ]]; then
    setup_as_root
else
    setup_as_user
fi
