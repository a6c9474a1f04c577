# %post of vmmig. The agent is not enabled on install (it needs certificates in /etc/vmmig/vmmig.conf
# first: systemctl enable --now vmmig-agent) and never restarted on upgrade: a restart during a
# migration is not safe yet, so the admin restarts it when `vmmig list` shows none running.
install -d -m 0700 /var/lib/vmmig
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    # libvirt reads its hook directory at start: a running daemon must look again to find 50-vmmig
    systemctl try-reload-or-restart libvirtd.service virtqemud.service >/dev/null 2>&1 || :
fi
