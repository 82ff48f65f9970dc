#!/usr/bin/env bash
# The transcript of docs/operating.md, "An administrator's day, with real output": a Dogtag CA
# database as an older release left it, a dnf update while its 389 DS is down, then the PKI server
# started once the 389 DS is back (its ExecStartPre, the package's drop-in, completes the upgrade).
# Prints the commands and what the tool printed; everything is removed at the end.
# usage: make build dist/harness.js && bash test/administrators-day.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PKI_DAY_PORT:-18750}
DS_ROOT=/tmp/day-ds
TREE=/tmp/day-root
SUFFIX=o=pki-tomcat-CA
HARNESS="node dist/harness.js"
trap '$HARNESS stop --root "$DS_ROOT" --kill --remove >/dev/null 2>&1 || true; rm -rf "$TREE" "$DS_ROOT"' EXIT
rm -rf "$TREE" "$DS_ROOT"

$HARNESS create-standalone --root "$DS_ROOT" --port "$PORT" --secure-port $((PORT + 1)) --name "day$PORT" >/dev/null
PASSWORD=$($HARNESS info --root "$DS_ROOT" | node -e 'const i=JSON.parse(require("fs").readFileSync(0));console.log((Array.isArray(i)?i[0]:i).rootPassword)')
LOADED=$($HARNESS load-pki --root "$DS_ROOT" --suffix "$SUFFIX" --backend ca --certs 2000 --without-issuer-ratio 0.3)
mkdir -p "$TREE/etc/pki/pki-tomcat/ca"
sed -e "s|^internaldb.basedn=.*|internaldb.basedn=$SUFFIX|" -e "s|^internaldb.ldapconn.host=.*|internaldb.ldapconn.host=127.0.0.1|" \
    -e "s|^internaldb.ldapconn.port=.*|internaldb.ldapconn.port=$PORT|" -e "s|^machineName=.*|machineName=localhost|" \
    test/fixtures/dogtag/ca/CS.cfg.template > "$TREE/etc/pki/pki-tomcat/ca/CS.cfg"
# pkispawn writes the CA signing certificate into CS.cfg: that of the CA that issued the records.
echo "ca.signing.cert=$(echo "$LOADED" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).caSigningCert)')" >> "$TREE/etc/pki/pki-tomcat/ca/CS.cfg"
printf 'internal=token-password\ninternaldb=%s\n' "$PASSWORD" > "$TREE/etc/pki/pki-tomcat/password.conf"
chmod 600 "$TREE/etc/pki/pki-tomcat/password.conf"

# The commands as an administrator types them; --root (the folder of this PKI instance) added here.
tool() {
  local shown="pki-db-upgrade $*"
  printf '\n$ %s%s\n' "$shown" "${ECHO_EXIT:+; echo \"exit \$?\"}"
  local rc=0
  node dist/pki-db-upgrade.js "$@" --root "$TREE" 2>&1 || rc=$?
  if [ -n "${ECHO_EXIT:-}" ]; then echo "exit $rc"; fi
}

echo '$ dnf update pki-db-upgrade    # the 389 DS is down; %posttrans runs:'
$HARNESS stop --root "$DS_ROOT" >/dev/null
ECHO_EXIT=1 tool run --mode posttrans
ECHO_EXIT=1 tool check
tool status
printf '\n$ systemctl start dirsrv@...    # (here: the test harness starts it)\n'
$HARNESS start --root "$DS_ROOT" >/dev/null
ECHO_EXIT=1 tool check
printf '\n$ systemctl start pki-tomcatd@pki-tomcat    # its ExecStartPre (the package'"'"'s drop-in) runs:\n'
ECHO_EXIT=1 tool run --mode start --instance pki-tomcat
ECHO_EXIT=1 tool check
tool status
