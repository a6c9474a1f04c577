# %postun of vmmig: reload units; no try-restart of the agent on upgrade (see %post).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
