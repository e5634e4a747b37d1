#!/usr/bin/env bash
# partner-vpn boot restore: run by partner-vpn-boot.service after strongSwan and nginx start.
# iptables rules do not survive a reboot; the applied payloads in /etc/partner-vpn do.
set -euo pipefail

pvpn_boot() {
    pvpn_lock
    local dir partner status=0
    for dir in "$PVPN_STATE_ROOT"/*/; do
        [ -f "$dir/nat.rules" ] || continue
        partner=$(basename "$dir")
        if pvpn_restore_nat "$partner" "$dir/nat.rules"; then
            pvpn_log "$partner: NAT rules restored"
        else
            pvpn_log "$partner: restoring NAT rules failed"
            status=1
        fi
    done
    if pvpn_wait_charon; then
        pvpn_swanctl_load || status=1
    else
        pvpn_log "charon did not answer within 30 s; IPsec config not loaded"
        status=1
    fi
    return "$status"
}
