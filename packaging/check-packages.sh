#!/usr/bin/env bash
# Checks the .deb and .rpm as a compute node would see them (root, Debian 12; .ci/run runs it after the
# tests). It builds both packages, installs the .deb with apt, runs the installed vmmig, man and the
# unit's ExecStart line, migrates a guest between two agents run by the installed /usr/bin/vmmig in
# two network namespaces (./vmmig demo --agent-command /usr/bin/vmmig), purges the package and lists
# what is left; then reads and installs the .rpm into a scratch root. One PASS/FAIL line per step; exit 1
# when any step failed. The package is purged again at the end whatever happened.
set -uo pipefail
src=$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")
cd "$src"
[ "$(id -u)" -eq 0 ] || { echo "check-packages: needs root (it installs and purges the vmmig package)" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
work=$(mktemp -d /tmp/vmmig-check-packages.XXXXXX)
agent_pid=
failures=()
t0=$(date +%s)

cleanup() {
  [ -z "$agent_pid" ] || kill "$agent_pid" 2>/dev/null
  if dpkg-query -W -f='${Status}' vmmig 2>/dev/null | grep -q "ok installed\|config-files"; then
    apt-get purge -y -q vmmig >/dev/null 2>&1
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# step NAME COMMAND...: runs COMMAND with its output in a log; PASS or FAIL (with the log's tail)
step() {
  local name=$1 log=$work/step.log rc
  shift
  "$@" > "$log" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ]; then
    printf 'PASS %-34s (%ds)\n' "$name" $(( $(date +%s) - t0 ))
    sed 's/^/     /' "$log" | tail -n "${SHOW:-0}"
  else
    printf 'FAIL %-34s (exit %d)\n' "$name" "$rc"
    sed 's/^/     /' "$log" | tail -n 40
    failures+=("$name")
  fi
  return "$rc"
}

build() {
  mvn -B -q -Dstyle.color=never -Ppackages -pl packaging/deb,packaging/rpm -am -DskipTests package
  deb=$(ls packaging/deb/target/vmmig_*_all.deb) && rpm=$(ls packaging/rpm/target/vmmig-*.noarch.rpm) || return 1
  echo "$deb"; echo "$rpm"
}

deb_has_no_test_code() {
  dpkg-deb -c "$deb" > "$work/deb.list"
  grep '/usr/share/vmmig/lib/' "$work/deb.list" | awk '{print $6}'
  grep -q '/usr/share/vmmig/lib/agent-.*\.jar$' "$work/deb.list" || { echo "no agent jar"; return 1; }
  ! grep -Ei '(testkit|junit|jqwik|opentest4j|apiguardian|/lab-)[^/]*\.jar$' "$work/deb.list"
}

lintian_no_errors() {
  # --show-overrides: the two overridden warnings (packaging/deb/lintian-overrides) shown as O: lines
  lintian --fail-on error --show-overrides "$deb" 2>&1 | grep -v 'running with root privileges'
  return "${PIPESTATUS[0]}"
}

install_deb() {
  if dpkg-query -W vmmig >/dev/null 2>&1; then apt-get purge -y -q vmmig; fi
  # no Recommends (libvirt-daemon-system): the check does not need libvirt
  apt-get install -y -q --no-install-recommends "./$deb" | tail -n 3
}

installed_version() {
  local out
  out=$(/usr/bin/vmmig --version) && echo "$out" && [[ "$out" == "vmmig "* ]] && [ "$(command -v vmmig)" = /usr/bin/vmmig ]
}

installed_man_pages() {
  man -w vmmig && man -w vmmig.conf && man -w vmmig-agent && [ -s /usr/share/bash-completion/completions/vmmig ]
}

# The unit's ExecStart line with the shipped example config, overridden by a temporary config: a
# throwaway CA and certificate, and listen, state-dir and control-socket in a temporary directory.
unit_execstart_starts_agent() {
  local unit=/lib/systemd/system/vmmig-agent.service exec conf=$work/agent/vmmig.conf sock=$work/agent/control.sock
  exec=$(sed -n 's/^ExecStart=//p' "$unit")
  echo "ExecStart=$exec"
  [[ "$exec" == *" --config /etc/vmmig/vmmig.conf"* ]] || { echo "ExecStart does not read /etc/vmmig/vmmig.conf"; return 1; }
  mkdir -p "$work/agent/pki" && cd "$work/agent/pki" || return 1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc -keyout ca.key -out ca.pem -days 1 \
    -subj /CN=check-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc -keyout agent.key -out agent.csr \
    -subj /CN=localhost 2>/dev/null &&
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1\n' > ext &&
  openssl x509 -req -in agent.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out agent.pem -extfile ext 2>/dev/null \
    || { cd "$src"; return 1; }
  cd "$src" || return 1
  { grep -v '^[[:space:]]*#' /etc/vmmig/vmmig.conf | grep -v '^[[:space:]]*$'
    echo "listen = 127.0.0.1:0"
    echo "state-dir = $work/agent/state"
    echo "control-socket = $sock"
    echo "tls.key = $work/agent/pki/agent.key"
    echo "tls.cert = $work/agent/pki/agent.pem"
    echo "tls.ca = $work/agent/pki/ca.pem"; } > "$conf"
  # shellcheck disable=SC2086 # ExecStart is split into words as systemd does for this simple line
  ${exec/\/etc\/vmmig\/vmmig.conf/$conf} > "$work/agent/agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 1 600); do
    [ -S "$sock" ] && break
    kill -0 "$agent_pid" 2>/dev/null || { echo "agent exited:"; cat "$work/agent/agent.log"; return 1; }
    sleep 0.1
  done
  [ -S "$sock" ] || { echo "no control socket after 60 s"; cat "$work/agent/agent.log"; return 1; }
  echo "agent pid $agent_pid, control socket $sock"
}

installed_cli_lists() {
  local s e
  s=$(date +%s%N)
  vmmig list --socket "$work/agent/control.sock" || return 1
  e=$(date +%s%N)
  echo "vmmig list against the running agent: $(( (e - s) / 1000000 )) ms"
}

# /usr/bin/vmmig writes its class-data-sharing archive (from `vmmig cli-warm-up`) when it is missing,
# on root's first client command, and uses it afterwards; the answers are the same
installed_cli_cds_archive() {
  local sock=$work/agent/control.sock jsa=/var/cache/vmmig/cli.jsa s e
  rm -f "$jsa"
  vmmig list --socket "$sock" --json > "$work/list1" || return 1
  [ -s "$jsa" ] || { echo "no $jsa after vmmig list"; return 1; }
  s=$(date +%s%N)
  vmmig list --socket "$sock" --json > "$work/list2" || return 1
  e=$(date +%s%N)
  cmp "$work/list1" "$work/list2" || return 1
  cat "$work/list2"
  echo "$jsa: $(stat -c %s "$jsa") bytes; vmmig list with it: $(( (e - s) / 1000000 )) ms"
}

installed_hook_sees_agent() {
  local hook=/etc/libvirt/hooks/qemu.d/50-vmmig
  [ -x "$hook" ] || { echo "$hook missing"; return 1; }
  # the shipped /etc/vmmig/vmmig.conf sets nothing: vmmig is not in use here, libvirt's migrations pass
  "$hook" vm1 migrate begin - < /dev/null || { echo "refused with the shipped config"; return 1; }
  VMMIG_CONF=$work/agent/vmmig.conf "$hook" vm1 migrate begin - < /dev/null || { echo "refused with the agent up"; return 1; }
  kill "$agent_pid" && wait "$agent_pid" 2>/dev/null
  agent_pid=
  echo "agent stopped (SIGTERM)"
  if VMMIG_CONF=$work/agent/vmmig.conf "$hook" vm1 migrate begin - < /dev/null; then
    echo "migrate begin passed with the agent down"; return 1
  fi
  VMMIG_CONF=$work/agent/vmmig.conf "$hook" vm1 reconnect begin - < /dev/null || { echo "reconnect refused"; return 1; }
}

installed_agents_migrate() {
  # two agents from the installed files (/usr/bin/vmmig) in two network namespaces; the demo's guest
  # reads its whole disk back at the destination
  ./vmmig demo --agent-command /usr/bin/vmmig --disk-mib 128 --area-mib 32 --hot-mib 2 > "$work/demo.log" 2>&1
  local rc=$?
  cat "$work/demo.log"
  [ "$rc" -eq 0 ] && grep -q 'agents run by /usr/bin/vmmig' "$work/demo.log" \
    && grep -q 'two network namespaces' "$work/demo.log" \
    && grep -q 'guest verifies again with the source gone: VERIFY OK' "$work/demo.log"
}

# What purge must take away, and what policy lets stay: what a guest may still need, its image in
# /var/lib/vmmig/images (the default image-dirs) and an unfinished pull's state in m/<id>; a finished
# migration's directory and everything else of the package go.
purge_leaves_nothing() {
  mkdir -p /var/lib/vmmig/m/m-done /var/lib/vmmig/m/m-pulling /var/lib/vmmig/images
  echo "finished: QEMU gone" > /var/lib/vmmig/m/m-done/qemu.log
  echo 99999999 > /var/lib/vmmig/m/m-done/qemu.pid
  echo '{}' > /var/lib/vmmig/m/m-pulling/destination-pull.json
  echo "a guest's disk" > /var/lib/vmmig/images/web1.qcow2
  echo "# changed by the admin" >> /etc/vmmig/vmmig.conf
  apt-get purge -y -q vmmig 2>&1 | grep -v "^(Reading database" | tail -n 3 || return 1
  local left=0 p
  for p in /usr/bin/vmmig /usr/share/vmmig /lib/systemd/system/vmmig-agent.service /etc/vmmig \
           /etc/libvirt/hooks/qemu.d/50-vmmig /usr/share/doc/vmmig /usr/share/man/man1/vmmig.1.gz \
           /usr/share/bash-completion/completions/vmmig /var/cache/vmmig /var/lib/vmmig/m/m-done; do
    if [ -e "$p" ]; then echo "left: $p"; ls -la "$p"; left=1; else echo "gone: $p"; fi
  done
  local kept
  kept=$(cd /var/lib/vmmig 2>/dev/null && find . | sort | tr '\n' ' ')
  if [ "$kept" = ". ./images ./images/web1.qcow2 ./m ./m/m-pulling ./m/m-pulling/destination-pull.json " ]; then
    echo "kept (a guest's image, an unfinished pull): $kept"
  else
    echo "/var/lib/vmmig should hold the guest image and the unfinished pull only:"; find /var/lib/vmmig; left=1
  fi
  rm -rf /var/lib/vmmig
  dpkg-query -W vmmig >/dev/null 2>&1 && { echo "dpkg still knows vmmig"; left=1; }
  [ "$left" -eq 0 ]
}

# dpkg-deb -c and rpm -qpl name the same files (the unit dir and the license/changelog files differ by
# each distribution's rules: /lib vs /usr/lib/systemd/system; copyright, changelog.Debian.gz and the
# lintian overrides vs LICENSE)
rpm_same_files() {
  awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}' "$work/deb.list" | sed 's#^/lib/systemd/#/usr/lib/systemd/#' \
    | grep -v -e '^/usr/share/doc/vmmig/copyright$' -e '^/usr/share/doc/vmmig/changelog.Debian.gz$' \
          -e '^/usr/share/lintian/overrides/vmmig$' | sort > "$work/deb.files"
  rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" | awk '$1 !~ /^d/ {print $2}' \
    | grep -v -e '^/usr/share/doc/vmmig/LICENSE$' | sort > "$work/rpm.files"
  diff -u "$work/deb.files" "$work/rpm.files" || return 1
  echo "$(wc -l < "$work/rpm.files") files alike; directories the rpm owns:"
  rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" | awk '$1 ~ /^d/ {print "  " $0}'
  echo "config files: $(rpm -qpc "$rpm" | tr '\n' ' ')"
}

rpm_dependencies() {
  echo "deb Depends: $(dpkg-deb -f "$deb" Depends)"
  echo "deb Recommends: $(dpkg-deb -f "$deb" Recommends)"
  echo "rpm Requires: $(rpm -qpR "$rpm" | grep -v '^rpmlib\|^/bin/sh' | tr '\n' ',' | sed 's/,$//')"
  echo "rpm Recommends: $(rpm -qp --recommends "$rpm" | tr '\n' ',' | sed 's/,$//')"
  rpm -qpR "$rpm" | grep -q '^java-headless >= 1:17' && rpm -qpR "$rpm" | grep -qx 'qemu-system-x86' \
    && rpm -qpR "$rpm" | grep -qx 'qemu-img' && rpm -qp --recommends "$rpm" | grep -qx 'libvirt-daemon'
}

rpm_installs_into_root() {
  local root=$work/rpmroot
  mkdir -p "$root"
  # an empty root has no /bin/sh: rpm warns that %post could not run (rpm -qp --scripts shows it) and installs
  rpm -i --root "$root" --nodeps --nosignature "$src/$rpm" 2>&1 | grep -v 'should not be used directly\|assuming you know' || true
  rpm --root "$root" -q vmmig >/dev/null || return 1
  for p in usr/bin/vmmig usr/share/vmmig/lib usr/lib/systemd/system/vmmig-agent.service etc/vmmig/vmmig.conf \
           etc/libvirt/hooks/qemu.d/50-vmmig var/lib/vmmig usr/share/man/man1/vmmig.1.gz; do
    [ -e "$root/$p" ] || { echo "missing in the root: /$p"; return 1; }
  done
  rpm --root "$root" -qa
  echo "installed into $root: $(find "$root" -type f -not -path '*/rpm/*' -not -path '*/rpmdb*' | wc -l) files"
}

# what building and checking the packages needs beyond .ci/setup's list
tools() {
  local p missing=()
  for p in asciidoctor rpm lintian man-db; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] || apt-get install -y -q --no-install-recommends "${missing[@]}" | tail -n 1
  echo "asciidoctor $(asciidoctor --version | head -n1 | cut -d' ' -f2), $(rpmbuild --version), lintian $(lintian --version | cut -d' ' -f2)"
}

SHOW=1 step "tools (asciidoctor, rpmbuild, lintian)" tools || exit 1
SHOW=2 step "build .deb and .rpm" build || exit 1
deb=$(ls packaging/deb/target/vmmig_*_all.deb) rpm=$(ls packaging/rpm/target/vmmig-*.noarch.rpm)
SHOW=20 step "deb carries no test code" deb_has_no_test_code
SHOW=20 step "lintian: no errors" lintian_no_errors
SHOW=3 step "apt-get install the .deb" install_deb
SHOW=1 step "vmmig --version (installed)" installed_version
SHOW=3 step "man -w vmmig (installed)" installed_man_pages
SHOW=2 step "unit's ExecStart starts an agent" unit_execstart_starts_agent
SHOW=3 step "vmmig list answers" installed_cli_lists
SHOW=2 step "vmmig list: CDS archive" installed_cli_cds_archive
SHOW=1 step "installed libvirt hook" installed_hook_sees_agent
SHOW=8 step "migration by installed agents" installed_agents_migrate
SHOW=14 step "apt-get purge leaves nothing" purge_leaves_nothing
SHOW=12 step "rpm -qpl: same files as the deb" rpm_same_files
SHOW=4 step "rpm -qpR: dependencies" rpm_dependencies
SHOW=2 step "rpm -i --root: installs" rpm_installs_into_root

echo "check-packages: $(( $(date +%s) - t0 )) s"
if [ "${#failures[@]}" -gt 0 ]; then
  echo "check-packages: FAILED: ${failures[*]}"
  exit 1
fi
echo "check-packages: all steps passed"
