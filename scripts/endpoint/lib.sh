#!/usr/bin/env bash
# partner-vpn endpoint library: functions shared by the apply, boot and remove scripts. The
# renderer prepends it to each of them, so one copy of this logic runs everywhere.
set -euo pipefail

# Used by the scripts this library is prepended to.
# shellcheck disable=SC2034
PVPN_STATE_ROOT=/etc/partner-vpn
PVPN_LOCK=/run/partner-vpn.lock

pvpn_log() {
    printf 'partner-vpn: %s\n' "$*" >&2
}

pvpn_die() {
    pvpn_log "ERROR: $*"
    exit 1
}

# Serialise every script that changes the endpoint: an apply racing a boot restore or a removal
# could otherwise interleave their reloads.
pvpn_lock() {
    exec 9>"$PVPN_LOCK"
    flock -w 120 9 || pvpn_die "another partner-vpn script held $PVPN_LOCK for 120 s"
}

pvpn_chain() {
    printf 'PVPN-%s-%s' "$1" "$2"
}

# The jumps from the built-in chains into a partner's chains: present exactly once, first in line
# (ahead of any MASQUERADE someone else installed).
pvpn_ensure_jumps() {
    local partner=$1 builtin kind
    for kind in PRE POST; do
        builtin=PREROUTING
        [ "$kind" = POST ] && builtin=POSTROUTING
        if ! iptables -w -t nat -C "$builtin" -j "$(pvpn_chain "$partner" "$kind")" 2>/dev/null; then
            # Callers run this on the left of || (errexit is off there): fail explicitly.
            iptables -w -t nat -I "$builtin" 1 -j "$(pvpn_chain "$partner" "$kind")" || return 1
        fi
    done
    # The MSS clamp (mangle table, core/render/mss.ts) sees tunnelled TCP both ways: partner
    # packets in PREROUTING, ours (forwarded, DNAT replies, nginx's own) in POSTROUTING.
    local mss
    mss=$(pvpn_chain "$partner" MSS)
    iptables -w -t mangle -S "$mss" >/dev/null 2>&1 || return 0
    for builtin in PREROUTING POSTROUTING; do
        if ! iptables -w -t mangle -C "$builtin" -j "$mss" 2>/dev/null; then
            iptables -w -t mangle -I "$builtin" 1 -j "$mss" || return 1
        fi
    done
}

# Replace the partner's two chains with the payload in one transaction, then ensure the jumps.
#
# A connection to a new host that reached the endpoint before its SNAT rule existed is pinned
# un-NATed in conntrack (see pvpn_forget_unnated), and so is every later connection that reuses
# its source port: conntrack takes the new SYN for a retransmission of the pinned one. The lab
# caught it: a client's ports to one destination cycle within seconds, so for as long as pinned
# entries outlive the new rule, a few requests to the new host fail after it first answered
# (1-4 of ~150 in about one run in five, when the deletion ran 0.2-1.3 s after the rule). So the
# deletion happens before the rule goes in, while new connections to the destinations that the live
# rules do not SNAT yet are held back (dropped before conntrack confirms them, so nothing new is
# pinned meanwhile; their clients retry the SYN), and no pinned entry is left when the rule starts.
pvpn_restore_nat() {
    local partner=$1 rules=$2
    pvpn_hold_new_destinations "$partner" "$rules" || {
        pvpn_release_hold "$partner"
        return 1
    }
    # Held destinations: their pinned entries go now, while the hold keeps new ones from forming.
    pvpn_forget_unnated "$rules" held
    if ! iptables-restore -w --noflush <"$rules" || ! pvpn_ensure_jumps "$partner"; then
        pvpn_release_hold "$partner"
        return 1
    fi
    pvpn_release_hold "$partner"
    # The others were SNATed before the switch as well: they have pinned entries only if someone
    # removed the jump into the partner's chain, which the switch put back. Those go now.
    pvpn_forget_unnated "$rules" not-held
}

# "DESTINATION NAT-IP" for each "pvpn NAME snat" rule (core/render/nat.ts) read from stdin, in
# iptables-save format: a rules file, or `iptables -S` of the live chain.
pvpn_snat_destinations() {
    sed -n 's/^-A PVPN-.*-POST .* -d \([0-9./]*\) .*"pvpn [a-z0-9-]* snat" -j SNAT --to-source \([0-9.]*\)$/\1 \2/p' | sort -u
}

# Drops the first packet of new connections to the rules file's SNAT destinations that the live
# chain does not SNAT yet (filter FORWARD, chain PVPN-NAME-HOLD). Destinations already SNATed are
# never held: their traffic is NATed before and after the switch. Leaves the held destinations in
# PVPN_HELD (one per line) for pvpn_forget_unnated.
pvpn_hold_new_destinations() {
    local partner=$1 rules=$2 hold live fresh dst
    PVPN_HELD=""
    command -v conntrack >/dev/null 2>&1 || return 0
    hold=$(pvpn_chain "$partner" HOLD)
    live=$(iptables -w -t nat -S "$(pvpn_chain "$partner" POST)" 2>/dev/null | pvpn_snat_destinations | cut -d' ' -f1 || true)
    fresh=$(pvpn_snat_destinations <"$rules" | cut -d' ' -f1 | grep -vxF -e "${live:-none}" || true)
    PVPN_HELD=$fresh
    [ -n "$fresh" ] || return 0
    iptables -w -N "$hold" 2>/dev/null || iptables -w -F "$hold" || return 1
    for dst in $fresh; do
        iptables -w -A "$hold" -d "$dst" -m conntrack --ctstate NEW -m comment --comment "pvpn $partner hold while its SNAT rule goes in" -j DROP || return 1
    done
    iptables -w -C FORWARD -j "$hold" 2>/dev/null || iptables -w -I FORWARD 1 -j "$hold"
}

# Removes the hold (also one left by an apply killed while switching).
pvpn_release_hold() {
    local hold tries=0
    hold=$(pvpn_chain "$1" HOLD)
    while [ "$tries" -lt 50 ] && iptables -w -D FORWARD -j "$hold" 2>/dev/null; do
        tries=$((tries + 1))
    done
    iptables -w -F "$hold" 2>/dev/null || true
    iptables -w -X "$hold" 2>/dev/null || true
}

# A connection whose first packet reached the endpoint before the SNAT rule for its destination
# existed (a new host's VPC route came up before its apply, the IPsec reload ran just ahead of the
# NAT restore, the nat table was flushed) stays pinned in conntrack WITHOUT source NAT: its
# retries, and new connections reusing its ports, bypass the SNAT and die in the tunnel policy.
# The lab measured dozens of such entries after adding a host; a UDP flow with fixed ports would
# stay broken for as long as it keeps sending. Delete exactly those: destination one of this
# partner's SNAT destinations (the "pvpn NAME snat" rules core/render/nat.ts writes), reply not
# addressed to the NAT IP. SNATed connections are kept.
# WHICH: all (default), held or not-held (by PVPN_HELD): the switch lists each destination's
# entries once. Best effort (never fails the caller); needs the conntrack tool (bootstrap installs it).
pvpn_forget_unnated() {
    local rules=$1 which=${2:-all} dst nat src
    command -v conntrack >/dev/null 2>&1 || return 0
    while read -r dst nat; do
        case $which in
            held) grep -qxF -e "$dst" <<<"${PVPN_HELD:-}" || continue ;;
            not-held) ! grep -qxF -e "$dst" <<<"${PVPN_HELD:-}" || continue ;;
        esac
        # The reply destination of an un-NATed entry is its original source (2nd dst= field).
        for src in $(conntrack -L -d "$dst" 2>/dev/null | awk -v nat="$nat" '{ n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^dst=/ && ++n == 2 && substr($i, 5) != nat) print substr($i, 5) }' | sort -u | head -n 1024 || true); do
            conntrack -D -d "$dst" -q "$src" >/dev/null 2>&1 || true
        done
    done < <(pvpn_snat_destinations <"$rules")
    return 0
}

pvpn_remove_nat() {
    local partner=$1 builtin kind chain tries
    for kind in PRE POST; do
        builtin=PREROUTING
        [ "$kind" = POST ] && builtin=POSTROUTING
        chain=$(pvpn_chain "$partner" "$kind")
        tries=0
        while [ "$tries" -lt 50 ] && iptables -w -t nat -D "$builtin" -j "$chain" 2>/dev/null; do
            tries=$((tries + 1))
        done
        iptables -w -t nat -F "$chain" 2>/dev/null || true
        iptables -w -t nat -X "$chain" 2>/dev/null || true
    done
    chain=$(pvpn_chain "$partner" MSS)
    for builtin in PREROUTING POSTROUTING; do
        tries=0
        while [ "$tries" -lt 50 ] && iptables -w -t mangle -D "$builtin" -j "$chain" 2>/dev/null; do
            tries=$((tries + 1))
        done
    done
    iptables -w -t mangle -F "$chain" 2>/dev/null || true
    iptables -w -t mangle -X "$chain" 2>/dev/null || true
    pvpn_release_hold "$partner"
}

# Load every connection and secret under /etc/swanctl. charon keeps established SAs whose config
# did not change, starts children that are new, and unloads connections whose files are gone.
# Then ask charon what it holds (charon.sh): swanctl exits 0 even when charon discarded a
# connection, and even when a file has a syntax error (it then treats the config as empty and
# UNLOADS every connection), and it warns about optional plugins that are not installed. So the
# verdict is charon's list of connections and children, and swanctl's confirmation that it loaded
# each expected connection this time (a rejected one leaves its previous version in place).
pvpn_swanctl_load() {
    local out file
    local -a expected=()
    if ! out=$(swanctl --load-all --noprompt 2>&1); then
        printf '%s\n' "$out" >&2
        return 1
    fi
    for file in "$PVPN_STATE_ROOT"/*/charon.expect; do
        [ -f "$file" ] && expected+=("$file")
    done
    if ! pvpn_charon_verify_loaded "$out" "${expected[@]}"; then
        printf '%s\n' "$out" >&2
        return 1
    fi
}

pvpn_nginx_reload() {
    if [ -d /run/systemd/system ]; then
        systemctl reload-or-restart nginx
    elif [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
        nginx -s reload
    else
        # Without systemd we start the daemon ourselves: close the lock's descriptor for it, or
        # nginx would inherit fd 9 and hold the partner-vpn lock for as long as it runs.
        nginx 9>&-
    fi
}
