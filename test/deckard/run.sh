#!/usr/bin/env bash
# Runs CZ.NIC's Deckard scenarios against this checkout's dnscache-ts with
# the workplace's harness (../shared/deckard/run.sh), but with our copy of
# the start template: it exports MINTTL/MAXTTL under the names dnscache-ts
# reads. Arguments after the script name go to run.sh (e.g. -- -k iter_pcttl).
#
#   npm run build && test/deckard/run.sh
set -o nounset -o pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
SHARED="${DECKARD_HARNESS:-$TOP/../shared/deckard}"
DECKARD_SRC="${DECKARD_SRC:-/tmp/deckard}"
export DECKARD_SRC
"$SHARED/run.sh" --setup-only >/dev/null || exit $?
# Deckard's templates are looked up below its checkout: link ours in.
ln -sfn "$HERE" "$DECKARD_SRC/dnscache-ts-deckard"
export DNSCACHE_TS_CMD="${DNSCACHE_TS_CMD:-node --max-semi-space-size=8 $TOP/dist/src/cli/dnscache.js}"
exec "$SHARED/run.sh" --config "$HERE/dnscache-ts.yaml" "$@"
