#!/usr/bin/env bash
# partner-vpn remove: the delete of a partner's apply command. The engine also runs the delete of
# a REPLACED apply command after the new one was created, so this removes nothing unless the
# generation it was created with is still the one applied.
set -euo pipefail

pvpn_remove() {
    local partner=$1 generation=$2
    local state="$PVPN_STATE_ROOT/$partner"
    pvpn_lock
    local applied
    applied=$(cat "$state/generation" 2>/dev/null || true)
    if [ "$applied" != "$generation" ]; then
        pvpn_log "$partner: generation ${applied:-none} is applied, not $generation; nothing removed"
        return 0
    fi
    rm -f "/etc/swanctl/conf.d/partner-vpn-$partner.conf" "/etc/swanctl/conf.d/partner-vpn-$partner.secrets.conf" "$state/charon.expect"
    pvpn_swanctl_load || pvpn_log "$partner: reloading strongSwan after removal reported errors"
    swanctl --terminate --ike "pvpn-$partner" --timeout 10 >/dev/null 2>&1 || true
    pvpn_remove_nat "$partner"
    if grep -qs "^# partner-vpn: $partner proxy" /etc/nginx/nginx.conf; then
        # Stop the proxy and keep it from coming back at boot with a config that relays to a
        # partner we no longer have a tunnel to; the file is kept aside for inspection.
        if [ -d /run/systemd/system ]; then
            systemctl disable --now nginx || true
        else
            nginx -s stop 2>/dev/null || true
        fi
        mv -f /etc/nginx/nginx.conf "/etc/nginx/nginx.conf.partner-vpn-removed"
    fi
    rm -rf "$state"
    pvpn_log "$partner: removed"
}
