#!/bin/sh
# Convoc's container entry point: one image, one role per container.
#   migrate    bring the database to the code's migration head, then exit (compose runs it
#              once, before the API and the workers, which wait for it anyway)
#   api        the API and web application, CONVOC_WORKERS processes (no embedded dispatcher
#              when CONVOC_WORKER_EMBEDDED=false: separate workers send)
#   worker     one reminder dispatcher; run as many as needed (PostgreSQL leases share the work)
#   simulator  the SMS provider simulator (tests, demonstrations; never in production)
#   all        migrate, then api: the image's default, a single container as before
# Anything else runs as a command (``docker run … convoc python -m app create-admin …``).
# ``exec`` hands the process to the role, so SIGTERM from the orchestrator reaches it directly:
# the API drains its requests, a worker finishes its tick (its leases cover a hard kill).
set -eu

role="${1:-all}"
[ "$#" -gt 0 ] && shift

case "$role" in
  migrate)
    exec python -m app migrate
    ;;
  api)
    exec python -m app serve "$@"
    ;;
  worker)
    exec python -m app worker
    ;;
  simulator)
    exec python -m app.sms.simulator --host "${CONVOC_SIM_HOST:-0.0.0.0}" "$@"
    ;;
  all)
    python -m app migrate
    exec python -m app serve "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
