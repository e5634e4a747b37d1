#!/usr/bin/env bash
# partner-vpn Libreswan backend: what apply, boot and remove do for a partner whose ipsecDaemon is
# libreswan. The renderer puts this file after lib.sh into that partner's scripts only; apply.sh's
# hooks see PVPN_IPSEC=Libreswan and call these functions instead of swanctl.
#
# Reloading never restarts pluto (`ipsec restart` drops every SA of the endpoint). Each command
# below acts on one named conn, so the conns it does not name keep their SAs (measured in the lab:
# the conn serials of untouched conns stay the same):
# Libreswan 5 (Debian 13) deprecates `ipsec auto` (every call prints "WARNING: ipsec auto has been
# deprecated") for `ipsec add|replace|delete|up|rereadsecrets NAME`, which Libreswan 4 (Debian 12,
# Ubuntu 24.04) does not have: pvpn_libreswan_ctl picks the form of the installed version. The
# commands, in 4.x spelling:
# - `ipsec auto --add NAME` parses /etc/ipsec.conf (which includes /etc/ipsec.d/*.conf) and loads
#   NAME alone. On a NAME pluto already has it replaces that conn (its SAs go down), so an
#   unchanged conn is never re-added.
# - `ipsec auto --replace NAME` is `whack --delete` of NAME (NAME's SAs only) followed by --add.
# - `ipsec auto --delete NAME` removes NAME and its SAs only.
# - `ipsec auto --asynchronous --up NAME` starts NAME without waiting for the peer.
# - `ipsec auto --rereadsecrets` swaps pluto's table of secrets (every file, all or nothing). An
#   established SA keeps the keys it derived; a PSK is only read when an IKE SA authenticates.
# Which conns changed is decided against a record of what pluto was given: one file per conn,
# holding the conn's text, under /etc/partner-vpn/PARTNER/libreswan. It is written conn by conn as
# pluto accepts them, so after any failure it still tells the truth and the rollback (the same
# sync, run on the restored file) re-converges exactly the conns that differ.
set -euo pipefail

# Read by apply.sh's hooks.
# shellcheck disable=SC2034
PVPN_IPSEC=Libreswan
PVPN_LIBRESWAN_DIR=/etc/ipsec.d

# The conn names of an ipsec.conf fragment, in file order.
pvpn_libreswan_conns() {
    awk '$1 == "conn" && NF == 2 && $2 != "%default" { print $2 }' "$1"
}

# The text of one conn: its `conn` line and settings, without blank and comment lines. A line
# starting in column one (another section, an include) ends it.
pvpn_libreswan_block() {
    awk -v name="$2" '
        /^[^ \t#]/ { inside = ($1 == "conn" && $2 == name) }
        inside && NF > 0 && $1 !~ /^#/ { print }
    ' "$1"
}

# Whether pluto has a conn of that name (`ipsec whack --status` lists `000 "NAME": ...` in 4.x,
# `"NAME": ...` in 5.x). Names are partner-vpn's own: letters, digits and dashes.
pvpn_libreswan_loaded() {
    grep -Eq "^(000 )?\"$2\":" <<<"$1"
}

# The installed Libreswan's major version (`ipsec --version`: "Linux Libreswan 4.10 (XFRM) ..." or
# "Libreswan 5.2"), read once.
PVPN_LIBRESWAN_MAJOR=""
pvpn_libreswan_major() {
    if [ -z "$PVPN_LIBRESWAN_MAJOR" ]; then
        PVPN_LIBRESWAN_MAJOR=$(ipsec --version 2>/dev/null | sed -n 's/.*Libreswan \([0-9][0-9]*\)\..*/\1/p' | head -n 1)
        PVPN_LIBRESWAN_MAJOR=${PVPN_LIBRESWAN_MAJOR:-4}
    fi
    printf '%s\n' "$PVPN_LIBRESWAN_MAJOR"
}

# One conn operation (add, replace, delete, up, up-async) or rereadsecrets, as the installed
# version spells it.
pvpn_libreswan_ctl() {
    local op=$1
    shift
    if [ "$(pvpn_libreswan_major)" -ge 5 ]; then
        case $op in
            up-async) ipsec up --asynchronous "$@" ;;
            *) ipsec "$op" "$@" ;;
        esac
    else
        case $op in
            up-async) ipsec auto --asynchronous --up "$@" ;;
            *) ipsec auto "--$op" "$@" ;;
        esac
    fi
}

# Wait (bounded) until pluto answers on its control socket.
pvpn_libreswan_wait() {
    local tries=$1 i
    for i in $(seq 1 "$tries"); do
        if ipsec whack --status >/dev/null 2>&1; then
            return 0
        fi
        [ "$i" -lt "$tries" ] && sleep 1
    done
    return 1
}

# Before anything is switched: Libreswan's own config parser on the staged conns, without pluto.
# It exits 0 and prints nothing on success; an unknown keyword fails, an obsolete one only prints
# a warning. Any output rejects the file: an ignored keyword is a setting we asked for and would
# not get (e.g. after a distribution upgrade to a Libreswan that dropped it).
pvpn_libreswan_check() {
    local staged=$1 dest=$2 out
    if ! out=$(ipsec addconn --config "$staged" --checkconfig 2>&1) || [ -n "$out" ]; then
        printf '%s\n' "$out" >&2
        pvpn_die "Libreswan's parser rejected (or warned about) $dest; nothing was changed"
    fi
    # pluto refuses to load an IKEv1 conn unless IKEv1 is accepted globally (`config setup`, read
    # at start only); the bootstrap writes that setting for IKEv1 partners.
    if grep -Eq '^[[:space:]]+ikev2=no$' "$staged" && ! grep -Eq '^[[:space:]]*ikev1-policy=accept[[:space:]]*$' /etc/ipsec.conf 2>/dev/null; then
        pvpn_die "$dest has IKEv1 conns but /etc/ipsec.conf does not accept IKEv1 (ikev1-policy=accept); run the bootstrap with ikev1 first; nothing was changed"
    fi
}

# No daemon-free parser reads ipsec.secrets: accept exactly the shape the renderer writes (comment
# lines, and `ID ID : PSK 0s<base64>`), and never print the file: it holds the PSK.
pvpn_libreswan_check_secrets() {
    local staged=$1 dest=$2 other
    other=$(grep -Evc '^(#.*|[A-Za-z0-9@._-]+ [A-Za-z0-9@._-]+ : PSK 0s[A-Za-z0-9+/]+={0,2})$' "$staged" || true)
    if [ "$other" != 0 ] || ! grep -Eq ' : PSK 0s' "$staged"; then
        pvpn_die "$dest is not in the expected ipsec.secrets form (not shown: it holds the key); nothing was changed"
    fi
}

# Bring pluto in line with this partner's installed files, touching only what differs: secrets
# re-read, conns that disappeared deleted, new or changed conns (re)loaded and started. Runs on
# the left of || everywhere (errexit is off there): every failure returns explicitly.
pvpn_libreswan_sync() {
    local partner=$1
    local conf="$PVPN_LIBRESWAN_DIR/partner-vpn-$partner.conf" record="$PVPN_STATE_ROOT/$partner/libreswan"
    local out status conns="" name block op f
    if ! pvpn_libreswan_wait 10; then
        pvpn_log "$partner: pluto does not answer on its control socket"
        return 1
    fi
    install -d -m 0700 "$record" || return 1
    # Secrets first, so that a conn loaded below finds its PSK. pluto prints an ERROR line per bad
    # entry and exits 0 anyway; those lines can quote the file, so they are counted, not shown.
    out=$(pvpn_libreswan_ctl rereadsecrets 2>&1) || {
        pvpn_log "$partner: ipsec rereadsecrets failed"
        return 1
    }
    if grep -q 'ERROR' <<<"$out"; then
        pvpn_log "$partner: Libreswan reported $(grep -c 'ERROR' <<<"$out") error(s) reading its secrets files (not shown, they can quote a key; see pluto's log)"
        return 1
    fi
    status=$(ipsec whack --status 2>&1) || {
        pvpn_log "$partner: ipsec whack --status failed"
        return 1
    }
    if [ -f "$conf" ]; then
        conns=$(pvpn_libreswan_conns "$conf") || return 1
    fi
    # Conns this partner had and no longer has (a host removed, or the file removed).
    for f in "$record"/*; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        grep -qx -- "$name" <<<"$conns" && continue
        if ! out=$(pvpn_libreswan_ctl delete "$name" 2>&1); then
            printf '%s\n' "$out" >&2
            return 1
        fi
        rm -f "$f"
        pvpn_log "$partner: deleted conn $name"
    done
    # New conns, changed conns, and conns pluto lost (a restart without the boot unit).
    for name in $conns; do
        block=$(pvpn_libreswan_block "$conf" "$name") || return 1
        if [ -f "$record/$name" ] && [ "$(cat "$record/$name")" = "$block" ] && pvpn_libreswan_loaded "$status" "$name"; then
            continue
        fi
        op=add
        pvpn_libreswan_loaded "$status" "$name" && op=replace
        # Warnings (e.g. an ignored setting) count as failures; the quoted conn name is left out
        # of the check so that a partner called "error" is not one.
        if ! out=$(pvpn_libreswan_ctl "$op" "$name" 2>&1) || grep -Eqi 'warning|error|fail' <<<"${out//\"$name\"/}"; then
            printf '%s\n' "$out" >&2
            pvpn_log "$partner: Libreswan did not load conn $name"
            return 1
        fi
        printf '%s\n' "$block" >"$record/$name" || return 1
        pvpn_libreswan_ctl up-async "$name" >/dev/null 2>&1 || pvpn_log "$partner: could not start $name now; pluto keeps trying (auto=start)"
        pvpn_log "$partner: loaded conn $name ($op)"
    done
}

# Boot restore (partner-vpn-boot.service, after ipsec.service): NAT rules do not survive a reboot;
# pluto loads and starts every auto=start conn itself when it starts. Mirrors boot.sh for NAT.
pvpn_libreswan_boot() {
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
    if pvpn_libreswan_wait 30; then
        # Rescan interfaces (a conn loaded before its address was up), then load what is missing.
        ipsec whack --listen >/dev/null 2>&1 || pvpn_log "ipsec whack --listen failed"
        for dir in "$PVPN_STATE_ROOT"/*/; do
            partner=$(basename "$dir")
            [ -f "$PVPN_LIBRESWAN_DIR/partner-vpn-$partner.conf" ] || [ -d "$dir/libreswan" ] || continue
            pvpn_libreswan_sync "$partner" || status=1
        done
    else
        pvpn_log "pluto did not answer within 30 s; IPsec config not loaded"
        status=1
    fi
    return "$status"
}

# The delete of a partner's apply command (see remove.sh, which this mirrors for strongSwan):
# removes nothing unless the generation it was created with is still the one applied.
pvpn_libreswan_remove() {
    local partner=$1 generation=$2
    local state="$PVPN_STATE_ROOT/$partner"
    pvpn_lock
    local applied
    applied=$(cat "$state/generation" 2>/dev/null || true)
    if [ "$applied" != "$generation" ]; then
        pvpn_log "$partner: generation ${applied:-none} is applied, not $generation; nothing removed"
        return 0
    fi
    rm -f "$PVPN_LIBRESWAN_DIR/partner-vpn-$partner.conf" "$PVPN_LIBRESWAN_DIR/partner-vpn-$partner.secrets"
    # With the files gone, the sync deletes every conn of this partner and pluto forgets the PSK.
    pvpn_libreswan_sync "$partner" || pvpn_log "$partner: unloading the conns from Libreswan reported errors"
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
