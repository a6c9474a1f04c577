# %preun of vmmig: on erase (not upgrade) stop and disable the agent; KillMode=process: guests live on.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now vmmig-agent.service >/dev/null 2>&1 || :
fi
# the CLI's class-data-sharing archive (written by /usr/bin/vmmig)
if [ "$1" -eq 0 ]; then
    rm -f /var/cache/vmmig/cli.jsa /var/cache/vmmig/cli.jsa.*
fi
