#!/usr/bin/env bash
# make demo: a throw-away 389 DS on 127.0.0.1 holding a Dogtag CA database as an older release
# left it (no tracking entries, older schema, certificate records without issuerName), upgraded by
# the bundled file exactly as an administrator would run it. Everything is removed at the end
# (PKI_DEMO_KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=${PKI_DEMO_ROOT:-/tmp/pkidbu-demo}
PORT=${PKI_DEMO_PORT:-18700}
SUFFIX=o=pki-tomcat-CA
BACKEND=ca
CERTS=${PKI_DEMO_CERTS:-2000}
TOOL="node dist/pki-db-upgrade.js"
HARNESS="node dist/harness.js"
WORK=$(mktemp -d /tmp/pkidbu-demo-work.XXXXXX)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
  if [ "${PKI_DEMO_KEEP:-}" = 1 ]; then
    echo "kept: 389 DS in $ROOT (stop: $HARNESS stop --root $ROOT), files in $WORK"
  else
    $HARNESS stop --root "$ROOT" --kill --remove >/dev/null 2>&1 || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

$HARNESS stop --root "$ROOT" --kill --remove >/dev/null 2>&1 || true
say "Creating a throw-away 389 DS on 127.0.0.1:$PORT (instance root $ROOT)"
$HARNESS create-standalone --root "$ROOT" --port "$PORT" --secure-port $((PORT + 1)) --name "demo$PORT" >/dev/null
PASSWORD=$($HARNESS info --root "$ROOT" | node -e 'const i=JSON.parse(require("fs").readFileSync(0));console.log((Array.isArray(i)?i[0]:i).rootPassword)')
printf '%s' "$PASSWORD" > "$WORK/password"; chmod 600 "$WORK/password"

say "Loading a Dogtag CA database as an older release wrote it: $SUFFIX, $CERTS certificates (30% without issuerName)"
LOADED=$($HARNESS load-pki --root "$ROOT" --suffix "$SUFFIX" --backend "$BACKEND" --certs "$CERTS" --without-issuer-ratio 0.3)
missing() {
  ldapsearch -x -LLL -H "ldap://127.0.0.1:$PORT" -D "cn=Directory Manager" -y "$WORK/password" -b "ou=certificateRepository,ou=ca,$SUFFIX" \
    '(&(objectclass=certificateRecord)(|(!(issuerName=*))(issuerName=)))' 1.1 | grep -c '^dn:' || true
}
echo "certificate records without issuerName: $(missing)"

# A PKI instance as Dogtag lays it out, in a folder of its own (--root): CS.cfg from Dogtag's
# template with internaldb.* pointing at the throw-away server, and password.conf.
TREE=$WORK/root
INSTANCE=$TREE/etc/pki/pki-tomcat
mkdir -p "$INSTANCE/ca"
sed -e "s|^internaldb.basedn=.*|internaldb.basedn=$SUFFIX|" \
    -e "s|^internaldb.ldapconn.host=.*|internaldb.ldapconn.host=127.0.0.1|" \
    -e "s|^internaldb.ldapconn.port=.*|internaldb.ldapconn.port=$PORT|" \
    -e "s|^machineName=.*|machineName=localhost|" \
    test/fixtures/dogtag/ca/CS.cfg.template > "$INSTANCE/ca/CS.cfg"
# pkispawn writes the CA signing certificate into CS.cfg: that of the CA that issued the records.
echo "ca.signing.cert=$(echo "$LOADED" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).caSigningCert)')" >> "$INSTANCE/ca/CS.cfg"
echo "instanceId=pki-tomcat" >> "$INSTANCE/ca/CS.cfg"
printf 'internal=demo-token-password\ninternaldb=%s\n' "$PASSWORD" > "$INSTANCE/password.conf"
chmod 600 "$INSTANCE/password.conf"
PWSUM=$(sha256sum "$INSTANCE/password.conf")
ARGS=(--root "$TREE")

say "pki-db-upgrade status --root $TREE (before: the instance is found from its CS.cfg)"
$TOOL status "${ARGS[@]}"

say "pki-db-upgrade dry-run (first 25 lines of the LDIF it would apply; nothing is changed)"
$TOOL dry-run "${ARGS[@]}" 2>/dev/null | head -25 || true

say "pki-db-upgrade run --mode posttrans: what dnf shows during an update (one line)"
$TOOL run "${ARGS[@]}" --mode posttrans

say "pki-db-upgrade status (after)"
$TOOL status "${ARGS[@]}"
echo "certificate records without issuerName: $(missing)"
echo "password.conf unchanged: $([ "$(sha256sum "$INSTANCE/password.conf")" = "$PWSUM" ] && echo yes || echo NO)"

say "pki-db-upgrade history"
$TOOL history "${ARGS[@]}"

say "pki-db-upgrade run, again, by hand: nothing to do"
$TOOL run "${ARGS[@]}"

LOG=$TREE/var/log/pki/pki-tomcat/db-upgrade.log
say "The log file ($LOG), last lines"
tail -n 12 "$LOG"
say "The status file"
cat "$TREE"/var/lib/pki-db-upgrade/pki-tomcat/status.json
