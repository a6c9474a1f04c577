# %post of vmmig. The agent is not enabled on install (it needs certificates in /etc/vmmig/vmmig.conf
# first: systemctl enable --now vmmig-agent) and never restarted on upgrade: a restart during a
# migration is not safe yet, so the admin restarts it when `vmmig list` shows none running.
install -d -m 0700 /var/lib/vmmig
# the CLI's class-data-sharing archive for this host's JVM (/var/cache/vmmig/cli.jsa); without it the
# first client command writes it
/usr/bin/vmmig cli-warm-up >/dev/null 2>&1 || :
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    # libvirt reads its hook directory at start: a running daemon must look again to find 50-vmmig
    systemctl try-reload-or-restart libvirtd.service virtqemud.service >/dev/null 2>&1 || :
fi
