#!/usr/bin/env bash
# partner-vpn apply: installs one partner's staged files and switches the endpoint to them with
# no interruption for what did not change. Order: strongSwan first (a new host's CHILD_SA comes
# up before any NAT rule sends traffic its way), then NAT, then nginx. Any failure restores the
# previous files and reloads them, so the previous config keeps serving.
set -euo pipefail

# Arguments: partner generation stage-dir, then per file: role staged-name destination mode.
# Roles: swanctl, secrets, expect (charon.sh), nat, nginx, helper, metrics, ha; libreswan, libreswan-secrets (libreswan.sh).
pvpn_apply() {
    local partner=$1 generation=$2 stage=$3
    shift 3
    local state="$PVPN_STATE_ROOT/$partner"
    local -a roles=() staged=() dests=() modes=()
    while [ "$#" -ge 4 ]; do
        roles+=("$1")
        staged+=("$stage/$2")
        dests+=("$3")
        modes+=("$4")
        shift 4
    done

    local i
    for i in "${!roles[@]}"; do
        case ${roles[$i]} in
            # `swanctl --load-all` exits 0 on a syntax error and then UNLOADS every connection, live
            # tunnels included (measured in the lab). swanctl's own parser reads STRONGSWAN_CONF at
            # start-up, needs no daemon, and exits 64 on a syntax error: check with it first. The
            # parser output on the secrets file is withheld: it could quote the file, which holds the PSK.
            swanctl) STRONGSWAN_CONF=${staged[$i]} swanctl --help >/dev/null || pvpn_die "strongSwan's parser rejected the syntax of ${dests[$i]}; nothing was changed" ;;
            secrets) STRONGSWAN_CONF=${staged[$i]} swanctl --help >/dev/null 2>&1 || pvpn_die "strongSwan's parser rejected the syntax of ${dests[$i]}; nothing was changed" ;;
            nginx) nginx -t -q -c "${staged[$i]}" || pvpn_die "nginx rejected the new proxy config; nothing was changed" ;;
            # Before anything is switched: charon's crypto plugins implement every algorithm the
            # partner's proposals need (a missing plugin package otherwise fails only at negotiation).
            expect)
                pvpn_wait_charon || pvpn_die "$partner: charon did not answer within 30 s; nothing was changed"
                pvpn_charon_missing_algs "$partner" <"${staged[$i]}" || pvpn_die "$partner: charon cannot negotiate the configured proposals (see above); nothing was changed"
                ;;
            nat) iptables-restore -w --test --noflush <"${staged[$i]}" || pvpn_die "iptables-restore rejected the new NAT rules; nothing was changed" ;;
            ha) case ${dests[$i]} in */keepalived.conf) pvpn_keepalived_check "${staged[$i]}" ;; esac ;;
            libreswan) pvpn_libreswan_check "${staged[$i]}" "${dests[$i]}" ;;
            libreswan-secrets) pvpn_libreswan_check_secrets "${staged[$i]}" "${dests[$i]}" ;;
        esac
    done

    # A backup folder left behind means an earlier apply was killed while switching (a finished or
    # rolled-back apply removes it). It may have installed files without reloading them: they then
    # compare equal to ours while the daemons still run the old config (the lab measured it: nginx
    # kept serving without the new proxy). Treat every file as changed, so everything is reloaded.
    local resumed=""
    [ -d "$state/previous" ] && resumed=1
    local changed=""
    for i in "${!roles[@]}"; do
        if [ -n "$resumed" ] || ! cmp -s "${staged[$i]}" "${dests[$i]}" || [ "$(stat -c %a "${dests[$i]}" 2>/dev/null)" != "${modes[$i]#0}" ]; then
            changed="$changed ${roles[$i]}"
        fi
    done
    if [ -n "$resumed" ]; then
        pvpn_log "$partner: an earlier apply was interrupted while switching; reloading everything"
    fi
    install -d -m 0755 "$state"

    if [ -z "$changed" ] && [ "$(cat "$state/generation" 2>/dev/null)" = "$generation" ]; then
        pvpn_converge_unchanged "$partner" "$state" && {
            pvpn_log "$partner: unchanged (generation $generation)"
            pvpn_child_status "$partner"
            return 0
        }
    fi
    pvpn_log "$partner: applying generation $generation (changed:${changed:- live state})"

    local backup="$state/previous"
    rm -rf "$backup"
    install -d -m 0700 "$backup"
    : >"$backup/absent"
    for i in "${!roles[@]}"; do
        if [ -e "${dests[$i]}" ]; then
            cp -p "${dests[$i]}" "$backup/$i"
        else
            printf '%s\n' "$i" >>"$backup/absent"
        fi
    done

    for i in "${!roles[@]}"; do
        pvpn_install_file "${staged[$i]}" "${dests[$i]}" "${modes[$i]}"
    done

    local nat_rules=""
    for i in "${!roles[@]}"; do
        [ "${roles[$i]}" = nat ] && nat_rules=${dests[$i]}
    done

    case $changed in *swanctl* | *secrets* | *libreswan* | "") pvpn_ipsec_load "$partner" || pvpn_rollback "$partner" "$backup" "${PVPN_IPSEC:-strongSwan} rejected the new config" "${dests[@]}" ;; esac
    pvpn_restore_nat "$partner" "$nat_rules" || pvpn_rollback "$partner" "$backup" "the NAT rules did not apply" "${dests[@]}"
    case $changed in *nginx*) pvpn_nginx_reload || pvpn_rollback "$partner" "$backup" "nginx did not reload" "${dests[@]}" ;; esac
    case $changed in *metrics*) pvpn_metrics_timer ;; esac
    case $changed in *ha*) pvpn_keepalived_reload || pvpn_rollback "$partner" "$backup" "keepalived did not (re)load the pair config" "${dests[@]}" ;; esac
    pvpn_ha_initiate_if_active "$partner"

    printf '%s\n' "$generation" >"$state/generation.tmp"
    mv -f "$state/generation.tmp" "$state/generation"
    rm -rf "$backup"
    pvpn_log "$partner: applied generation $generation"
    pvpn_child_status "$partner"
}

# After an apply: wait (bounded, PVPN_CHILD_WAIT seconds in all, 20 by default) until every
# CHILD_SA of the partner's connection is installed, then print one status line per child on
# stdout: "up", or "waiting for the partner". A partner that is not ready yet does not fail the
# apply: charon keeps initiating (keyingtries = 0) and the trap policies hold our traffic.
# Libreswan partners: pluto's own status is not parsed here (see README).
pvpn_child_status() {
    local partner=$1 conn="pvpn-$1" wait=${PVPN_CHILD_WAIT:-20} children installed child waited=0 ha_state
    [ "${PVPN_IPSEC:-strongSwan}" = strongSwan ] || return 0
    # A member of a pair that is not active holds no SAs by design: nothing to wait for.
    if [ -f "$PVPN_STATE_ROOT/$partner/ha.conf" ]; then
        ha_state=$(cat "/run/partner-vpn/ha/$partner.state" 2>/dev/null || echo "not elected yet")
        if [ "$ha_state" != MASTER ]; then
            printf 'partner-vpn: %s: member of an active/standby pair, %s: no SAs here (the active member holds the tunnel)\n' "$partner" "$ha_state"
            return 0
        fi
    fi
    # Children of the loaded connection, from `swanctl --list-conns` ("  <child>: TUNNEL, ...").
    children=$(swanctl --list-conns 2>/dev/null | awk -v c="$conn:" '$1 == c { on = 1; next } /^[^ ]/ { on = 0 } on && /^  [^ ]+: TUNNEL/ { sub(":", "", $1); print $1 }' || true)
    [ -n "$children" ] || { printf 'partner-vpn: %s: no connection loaded\n' "$partner"; return 0; }
    while :; do
        installed=$(swanctl --list-sas --ike "$conn" 2>/dev/null | awk '/^  [^ ]+: #[0-9]+, reqid [0-9]+, INSTALLED,/ { sub(":", "", $1); print $1 }' | sort -u || true)
        local missing=0
        for child in $children; do
            grep -qx "$child" <<<"$installed" || missing=1
        done
        [ "$missing" -eq 0 ] && break
        [ "$waited" -lt "$wait" ] || break
        sleep 1
        waited=$((waited + 1))
    done
    for child in $children; do
        if grep -qx "$child" <<<"$installed"; then
            printf 'partner-vpn: %s child %s: up\n' "$partner" "$child"
        else
            printf 'partner-vpn: %s child %s: waiting for the partner (not established after %s s; the endpoint keeps trying and holds traffic until it is)\n' "$partner" "$child" "$waited"
        fi
    done
}

# Files are unchanged: re-assert the live state cheaply (a reboot without the boot unit, or a
# hand-edited ruleset), without reloading what is already running.
pvpn_converge_unchanged() {
    local partner=$1 state=$2
    pvpn_restore_nat "$partner" "$state/nat.rules" || return 1
    if [ "${PVPN_IPSEC:-strongSwan}" = Libreswan ]; then
        pvpn_libreswan_sync "$partner" || return 1
        return 0
    fi
    swanctl --list-conns 2>/dev/null | grep -q "^pvpn-$partner:" || pvpn_swanctl_load || return 1
}

# The IPsec daemon's reload: swanctl for strongSwan; libreswan.sh (in Libreswan partners' scripts
# only, with PVPN_IPSEC=Libreswan) syncs pluto conn by conn.
pvpn_ipsec_load() {
    if [ "${PVPN_IPSEC:-strongSwan}" = Libreswan ]; then
        pvpn_libreswan_sync "$1"
    else
        pvpn_swanctl_load
    fi
}

# The metrics timer (re)started with its new unit files. Only where systemd runs the machine; a
# metrics failure is logged, never a reason to roll back a working tunnel config.
pvpn_metrics_timer() {
    [ -d /run/systemd/system ] || return 0
    { systemctl daemon-reload && systemctl enable partner-vpn-metrics.timer && systemctl restart partner-vpn-metrics.timer; } ||
        pvpn_log "the metrics timer did not start; tunnels are unaffected (see journalctl -u partner-vpn-metrics)"
}

# Active/standby pairs: keepalived's own config test on the staged file, after writing the
# interface definition it includes (the interface holding its unicast_src_ip; EC2's names differ
# by instance type). keepalived --config-test exits non-zero on warnings too, and two are expected:
# no virtual address (what moves is the EIP, through the EC2 API) and, before the first apply has
# installed it, the failover script not found. Any other line is a problem with the config.
pvpn_keepalived_check() {
    local conf=$1 self iface out
    self=$(awk '$1 == "unicast_src_ip" { print $2 }' "$conf")
    iface=$(ip -o -4 addr show 2>/dev/null | awk -v a="$self" '{ split($4, p, "/") } p[1] == a { print $2; exit }')
    [ -n "$iface" ] || pvpn_die "no interface holds this member's address ${self:-?} (keepalived.conf unicast_src_ip); nothing was changed"
    install -d -m 0755 /etc/keepalived
    printf "\$PVPN_INTERFACE=%s\n" "$iface" >/etc/keepalived/partner-vpn-interface.conf
    out=$(keepalived --config-test -f "$conf" 2>&1 | grep -v -e 'No VIP specified' -e "Disabling track script pvpn_[a-z]* since not found" || true)
    [ -z "$out" ] || pvpn_die "keepalived rejected the new pair config ($out); nothing was changed"
}

# Active/standby pairs: keepalived (re)reads the pair config; VRRP state survives a reload. Only
# where systemd runs the machine.
pvpn_keepalived_reload() {
    [ -d /run/systemd/system ] || return 0
    systemctl enable keepalived.service >/dev/null 2>&1 || true
    systemctl reload-or-restart keepalived.service
}

# The active member of a pair starts the children a new config added (they are trap-only there,
# core/render/swanctl.ts); a standby starts nothing.
pvpn_ha_initiate_if_active() {
    [ -f "$PVPN_STATE_ROOT/$1/ha.conf" ] || return 0
    [ "$(cat "/run/partner-vpn/ha/$1.state" 2>/dev/null)" = MASTER ] || return 0
    /usr/local/sbin/partner-vpn-failover initiate "$1" || pvpn_log "$1: starting the new children failed; the trap policies start them on traffic"
}

pvpn_install_file() {
    local src=$1 dest=$2 mode=$3
    install -d -m 0755 "$(dirname "$dest")"
    install -m "$mode" -o root -g root "$src" "$dest.pvpn-new"
    mv -f "$dest.pvpn-new" "$dest"
}

pvpn_rollback() {
    local partner=$1 backup=$2 reason=$3
    shift 3
    local i=0 dest absent
    absent=$(grep -c . "$backup/absent" || true)
    for dest in "$@"; do
        if grep -qx "$i" "$backup/absent"; then
            rm -f "$dest"
        else
            cp -p "$backup/$i" "$dest.pvpn-new"
            mv -f "$dest.pvpn-new" "$dest"
        fi
        i=$((i + 1))
    done
    pvpn_ipsec_load "$partner" || pvpn_log "$partner: reloading the previous ${PVPN_IPSEC:-strongSwan} config also failed"
    if [ -f "$PVPN_STATE_ROOT/$partner/nat.rules" ]; then
        pvpn_restore_nat "$partner" "$PVPN_STATE_ROOT/$partner/nat.rules" || pvpn_log "$partner: restoring the previous NAT rules also failed"
    else
        pvpn_remove_nat "$partner"
    fi
    if grep -qs "^# partner-vpn: $partner proxy" /etc/nginx/nginx.conf; then
        pvpn_nginx_reload || pvpn_log "$partner: reloading the previous nginx config also failed"
    fi
    # The backup holds a copy of the previous secrets file: do not leave it behind.
    rm -rf "$backup"
    if [ "$absent" -eq "$#" ]; then
        pvpn_die "$partner: $reason; nothing was installed before, and what this apply installed was removed"
    fi
    pvpn_die "$partner: $reason; the previous config was restored and keeps serving"
}
