#!/usr/bin/env bash
# Installs the system packages the demo and the tests use, only when missing, without prompts:
# 389 DS and the OpenLDAP clients (the real server the tests run against), rpm/rpmbuild,
# rpmlint, man-db and groff (packaging tests, man page check), dnf and createrepo_c (the package
# installed from a local repository, test/rpm-dnf.test.ts), keyutils (kernel keyring password
# source), procps (ps), openssl and the NSS tools certutil and pk12util (389 DS's own TLS: the
# test CA's certificates into its NSS database), python3 (a notify socket for the start-mode
# test), systemd (systemd-analyze verify of the start-time drop-in).
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
if [ -r /etc/os-release ]; then . /etc/os-release; fi
family="${ID_LIKE:-} ${ID:-}"

if [[ "$family" == *debian* || "$family" == *ubuntu* ]]; then
  have ns-slapd   || need+=(389-ds-base)
  have ldapmodify || need+=(ldap-utils)
  have rpmbuild   || need+=(rpm)
  have rpmlint    || need+=(rpmlint)
  have dnf        || need+=(dnf)
  have createrepo_c || need+=(createrepo-c)
  have man        || need+=(man-db)
  have groff      || need+=(groff-base)
  have keyctl     || need+=(keyutils)
  have ps         || need+=(procps)
  have openssl    || need+=(openssl)
  { have certutil && have pk12util; } || need+=(libnss3-tools)
  have timeout    || need+=(coreutils)
  have python3    || need+=(python3)
  have systemd-analyze || need+=(systemd)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null >/dev/null
  fi
elif [[ "$family" == *fedora* || "$family" == *rhel* ]]; then
  have ns-slapd   || need+=(389-ds-base)
  have ldapmodify || need+=(openldap-clients)
  have rpmbuild   || need+=(rpm-build)
  have rpmlint    || need+=(rpmlint)
  have dnf        || need+=(dnf)
  have createrepo_c || need+=(createrepo_c)
  have man        || need+=(man-db)
  have groff      || need+=(groff-base)
  have keyctl     || need+=(keyutils)
  have ps         || need+=(procps-ng)
  have openssl    || need+=(openssl)
  { have certutil && have pk12util; } || need+=(nss-tools)
  have python3    || need+=(python3)
  have systemd-analyze || need+=(systemd)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    dnf install -y -q "${need[@]}" </dev/null
  fi
else
  echo "unsupported OS ($family): install 389-ds-base, ldap-utils, rpm, rpmlint, dnf, createrepo_c, keyutils, openssl, the NSS tools (certutil, pk12util) by hand" >&2
fi
