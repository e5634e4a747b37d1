#!/usr/bin/env bash
# partner-vpn-failover ACTION PARTNER: one member of an active/standby pair (core/render/ha.ts
# renders keepalived.conf, which calls this). ACTION:
#   master   keepalived elected us: claim the tunnel EIP (AssociateAddress, AllowReassociation:
#            a standby taking over from a dead member must move it), point every partner route at
#            our own network interface (ReplaceRoute), then start every child that is not
#            installed. INITIAL_CONTACT in our IKE_AUTH makes the partner drop the old member's
#            SAs: the partner sees the same peer address throughout.
#   backup, fault   we are not (or cannot be) active: terminate our SAs. The trap policies stay,
#            so nothing towards the partner ever leaves in clear text.
#   health   keepalived's track script: charon answers with the partner's connection loaded and
#            the NAT chains exist. Local health only: a partner that is down must not fail both
#            members over and over, nor leave both FAULT with nobody to bring the tunnel up.
#   holder   keepalived's weighted track script, on both members in every state: exits 0 when
#            the tunnel EIP is on our interface, so VRRP elects the member that holds it and no
#            election moves it. Never takes the EIP from the other member: when we are MASTER and
#            it is on the other's interface, the other claimed it after us (a split brain: it
#            stopped hearing our adverts), so we stand down (terminate our SAs, state YIELDED)
#            instead of a claim-back ping-pong. Claims it only if it is on no interface while we
#            are MASTER or YIELDED. Without an answer from IMDS or the EC2 API it repeats the last
#            known answer (a slow API must not demote the holder and move the EIP).
#   initiate while active, start the children that are not installed (after an apply added one).
# Every action is safe to run twice: the EC2 calls are idempotent, and only children that are not
# installed are initiated (a second initiate would make a duplicate CHILD_SA).
#
# Credentials: the instance role's, from IMDSv2, handed to curl on stdin (`curl -K -`) as the
# metrics publisher does: never in a command line, an environment variable or a log line.
# One override, for the lab only: PVPN_EC2_URL (default https://ec2.REGION.amazonaws.com/).
set -euo pipefail

PVPN_HA_IMDS=http://169.254.169.254
PVPN_HA_RUN=/run/partner-vpn/ha
# The holder check's time for all its calls: keepalived kills it after 15 s (core/render/ha.ts
# HOLDER_INTERVAL_SECONDS * 3) and counts that as "not the holder", which would demote the holder.
PVPN_HA_HOLDER_SECONDS=10
# Retries of a failed EC2 call; the holder check makes none (its next run is 5 s away).
PVPN_HA_RETRIES=2
# When set (epoch seconds), no call may last beyond it.
PVPN_HA_DEADLINE=

pvpn_ha_log() {
    printf 'partner-vpn-failover: %s\n' "$*" >&2
    logger -t partner-vpn-failover -- "$*" 2>/dev/null || true
}

# Seconds one call may take: at most $1, and no later than PVPN_HA_DEADLINE.
pvpn_ha_seconds() {
    local now left=$1
    printf -v now '%(%s)T' -1
    if [ -n "$PVPN_HA_DEADLINE" ] && [ $((PVPN_HA_DEADLINE - now)) -lt "$left" ]; then left=$((PVPN_HA_DEADLINE - now)); fi
    [ "$left" -gt 0 ] || { pvpn_ha_log "out of time for this check"; return 1; }
    printf '%s\n' "$left"
}

# curl with options (token, credentials) read from stdin as a curl config.
pvpn_ha_curl() {
    local seconds
    seconds=$(pvpn_ha_seconds 5) || return 1
    curl --silent --show-error --fail-with-body --max-time "$seconds" -K - "$@"
}

# IMDSv2: a token, then region, our primary interface's id and the role's credentials.
# Sets PVPN_HA_REGION, PVPN_HA_ENI, PVPN_HA_CREDS (kept in this shell's memory only).
pvpn_ha_identity() {
    local token role mac header seconds
    seconds=$(pvpn_ha_seconds 3) || return 1
    token=$(curl --silent --show-error --fail --max-time "$seconds" -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$PVPN_HA_IMDS/latest/api/token") || return 1
    header=$(printf 'header = "X-aws-ec2-metadata-token: %s"\n' "$token")
    PVPN_HA_REGION=$(pvpn_ha_curl "$PVPN_HA_IMDS/latest/meta-data/placement/region" <<<"$header") || return 1
    mac=$(pvpn_ha_curl "$PVPN_HA_IMDS/latest/meta-data/mac" <<<"$header") || return 1
    PVPN_HA_ENI=$(pvpn_ha_curl "$PVPN_HA_IMDS/latest/meta-data/network/interfaces/macs/$mac/interface-id" <<<"$header") || return 1
    role=$(pvpn_ha_curl "$PVPN_HA_IMDS/latest/meta-data/iam/security-credentials/" <<<"$header" | head -n 1) || return 1
    [ -n "$role" ] || { pvpn_ha_log "IMDS lists no instance role; is the instance profile attached?"; return 1; }
    PVPN_HA_CREDS=$(pvpn_ha_curl "$PVPN_HA_IMDS/latest/meta-data/iam/security-credentials/$role" <<<"$header")
}

# One signed EC2 Query API call: ec2_call Action Name=Value...; prints AWS's reply.
pvpn_ha_ec2() {
    local action=$1 url key secret token reply arg
    shift
    url=${PVPN_EC2_URL:-https://ec2.$PVPN_HA_REGION.amazonaws.com/}
    local -a form=(--data-urlencode "Action=$action" --data-urlencode "Version=2016-11-15")
    for arg in "$@"; do form+=(--data-urlencode "$arg"); done
    key=$(jq -r .AccessKeyId <<<"$PVPN_HA_CREDS")
    secret=$(jq -r .SecretAccessKey <<<"$PVPN_HA_CREDS")
    token=$(jq -r .Token <<<"$PVPN_HA_CREDS")
    if ! reply=$(printf 'user = "%s:%s"\nheader = "X-Amz-Security-Token: %s"\n' "$key" "$secret" "$token" \
        | pvpn_ha_curl --retry "$PVPN_HA_RETRIES" --aws-sigv4 "aws:amz:$PVPN_HA_REGION:ec2" "${form[@]}" "$url"); then
        # AWS's error document: its code and message say why, and hold no secret.
        pvpn_ha_log "$action failed: $(grep -o '<Code>[^<]*</Code>\|<Message>[^<]*</Message>' <<<"$reply" | tr '\n' ' ')"
        return 1
    fi
    printf '%s\n' "$reply"
}

# The pair's settings (core/render/ha.ts renderHaSettings): "allocation ID", "route TABLE CIDR",
# "child NAME" lines.
pvpn_ha_settings() {
    local file="/etc/partner-vpn/$1/ha.conf"
    [ -r "$file" ] || { pvpn_ha_log "$1: $file is missing; was the partner applied?"; return 1; }
    grep -E '^(allocation|route|child) ' "$file"
}

pvpn_ha_state() {
    install -d -m 0755 "$PVPN_HA_RUN"
    printf '%s\n' "$2" >"$PVPN_HA_RUN/$1.state.new"
    mv -f "$PVPN_HA_RUN/$1.state.new" "$PVPN_HA_RUN/$1.state"
}

# Our state as the notify actions (and a stand-down) wrote it: MASTER, BACKUP, FAULT, YIELDED or
# nothing (keepalived has not notified us yet).
pvpn_ha_current() {
    cat "$PVPN_HA_RUN/$1.state" 2>/dev/null || true
}

# The holder check's last known answer, 0 (the tunnel EIP is on our interface) or 1: what it
# repeats when it cannot ask. Written by each check that got an answer and by a claim that worked.
pvpn_ha_remember() {
    printf '%s\n' "$2" >"$PVPN_HA_RUN/$1.holder.new"
    mv -f "$PVPN_HA_RUN/$1.holder.new" "$PVPN_HA_RUN/$1.holder"
}

# Prints the last known answer; 1 (not the holder) if there is none.
pvpn_ha_last_answer() {
    [ "$(cat "$PVPN_HA_RUN/$1.holder" 2>/dev/null || true)" = 0 ] && echo 0 || echo 1
}

# Children of the pair that charon holds no INSTALLED CHILD_SA for.
pvpn_ha_missing_children() {
    local partner=$1 installed child
    installed=$(swanctl --list-sas --ike "pvpn-$partner" 2>/dev/null | awk '/^  [^ ]+: #[0-9]+, reqid [0-9]+, INSTALLED,/ { sub(":", "", $1); print $1 }' || true)
    while read -r _ child; do
        grep -qx "$child" <<<"$installed" || printf '%s\n' "$child"
    done < <(pvpn_ha_settings "$partner" | grep '^child ')
}

pvpn_ha_initiate() {
    local partner=$1 child started=0 failed=0 pid
    local -a pids=() names=()
    for child in $(pvpn_ha_missing_children "$partner"); do
        # In parallel, each bounded: one slow child must not hold back the others.
        swanctl --initiate --child "$child" --timeout 20 >/dev/null 2>&1 &
        pids+=("$!")
        names+=("$child")
        started=$((started + 1))
    done
    for pid in "${!pids[@]}"; do
        wait "${pids[$pid]}" || { failed=$((failed + 1)); pvpn_ha_log "$partner: child ${names[$pid]} not established yet (charon keeps trying)"; }
    done
    pvpn_ha_log "$partner: initiated $started child(ren) that were not installed, $((started - failed)) established"
}

# Claims the EIP and the routes, then starts the children: in this process, or (second argument
# "background") behind it, for the holder check that keepalived's timeout bounds.
pvpn_ha_master() {
    local partner=$1 children=${2:-wait} settings allocation table cidr failed=0 previous
    previous=$(pvpn_ha_current "$partner")
    pvpn_ha_state "$partner" MASTER
    # SAs a member holds from before it was active (a trap fired while routes still pointed at it)
    # are stale: the active member's INITIAL_CONTACT made the partner drop them, so children
    # "installed" in them carry nothing and a new child inside would wait for retransmissions
    # (measured in the lab: 13 s). Start clean; a repeated `master` keeps what it set up.
    # --force without --timeout: do not wait for the partner's answer to the delete (it dropped them).
    if [ "$previous" != MASTER ] && swanctl --list-sas --ike "pvpn-$partner" 2>/dev/null | grep -q "^pvpn-$partner:"; then
        swanctl --terminate --ike "pvpn-$partner" --force >/dev/null 2>&1 || true
        pvpn_ha_log "$partner: dropped SAs set up while not active"
    fi
    # Explicit returns: the holder check calls this in a condition, where errexit does not apply.
    settings=$(pvpn_ha_settings "$partner") || return 1
    pvpn_ha_identity || return 1
    allocation=$(awk '$1 == "allocation" { print $2 }' <<<"$settings")
    pvpn_ha_still_elected "$partner" || return 0
    if pvpn_ha_ec2 AssociateAddress "AllocationId=$allocation" "NetworkInterfaceId=$PVPN_HA_ENI" "AllowReassociation=true" >/dev/null; then
        pvpn_ha_remember "$partner" 0
    else
        failed=1
    fi
    while read -r _ table cidr; do
        [ -n "$cidr" ] || continue
        pvpn_ha_ec2 ReplaceRoute "RouteTableId=$table" "DestinationCidrBlock=$cidr" "NetworkInterfaceId=$PVPN_HA_ENI" >/dev/null || failed=1
    done < <(grep '^route ' <<<"$settings")
    pvpn_ha_log "$partner: active: tunnel EIP $allocation and partner routes claimed for $PVPN_HA_ENI$([ "$failed" = 0 ] || echo ' (with errors, see above)')"
    if [ "$children" = background ]; then
        # Without the lock (fd 9) and the caller's output: nothing waits for it.
        pvpn_ha_initiate "$partner" 9>&- </dev/null >/dev/null 2>&1 &
    else
        pvpn_ha_initiate "$partner"
    fi
    return "$failed"
}

# keepalived's latest notify (master, backup or fault), recorded before the action waits for the
# lock. keepalived does not wait for one notify script before it runs the next: a member that was
# MASTER for a moment (it started without hearing the other's adverts yet) gets `backup` while
# `master` still looks up its identity, and a claim made after that moves the EIP away from the
# member VRRP just elected (seen in the lab at a pair's first start).
pvpn_ha_notified() {
    printf '%s\n' "$2" >"$PVPN_HA_RUN/$1.notified.new"
    mv -f "$PVPN_HA_RUN/$1.notified.new" "$PVPN_HA_RUN/$1.notified"
}

# True unless keepalived has notified anything but `master` since (no record: a holder check's
# claim, or a call by hand: elected).
pvpn_ha_still_elected() {
    local latest
    latest=$(cat "$PVPN_HA_RUN/$1.notified" 2>/dev/null || echo master)
    [ "$latest" = master ] && return 0
    pvpn_ha_log "$1: keepalived has notified $latest since electing us: not claiming the tunnel EIP"
    return 1
}

pvpn_ha_standby() {
    local partner=$1 state=$2
    pvpn_ha_state "$partner" "$state"
    if swanctl --list-sas --ike "pvpn-$partner" 2>/dev/null | grep -q "^pvpn-$partner:"; then
        swanctl --terminate --ike "pvpn-$partner" --force >/dev/null 2>&1 || true
    fi
    pvpn_ha_log "$partner: $state: our SAs are terminated; the trap policies hold traffic"
}

pvpn_ha_health() {
    local partner=$1
    swanctl --list-conns 2>/dev/null | grep -q "^pvpn-$partner:" || { pvpn_ha_log "$partner: unhealthy: charon does not hold the connection"; return 1; }
    iptables -w -t nat -S "PVPN-$partner-POST" >/dev/null 2>&1 || { pvpn_ha_log "$partner: unhealthy: NAT chains missing"; return 1; }
}

# The holder check (see the header); its exit status is the answer: 0 while the tunnel EIP is on
# our interface.
pvpn_ha_holder() {
    local partner=$1 state allocation reply eni now answer locked=no
    state=$(pvpn_ha_current "$partner")
    case $state in
        MASTER | YIELDED)
            # We may act on the answer: under the lock, or a takeover or stand-down is running
            # and its outcome is not known yet: repeat the last answer. (BACKUP and FAULT only
            # report, without the lock: a takeover never waits for their check.)
            flock -n 9 || return "$(pvpn_ha_last_answer "$partner")"
            locked=yes
            state=$(pvpn_ha_current "$partner") ;;
    esac
    allocation=$(pvpn_ha_settings "$partner" | awk '$1 == "allocation" { print $2 }') || return 1
    printf -v now '%(%s)T' -1
    PVPN_HA_DEADLINE=$((now + PVPN_HA_HOLDER_SECONDS))
    PVPN_HA_RETRIES=0
    if ! pvpn_ha_identity || ! reply=$(pvpn_ha_ec2 DescribeAddresses "AllocationId.1=$allocation") \
        || ! grep -q "<allocationId>$allocation</allocationId>" <<<"$reply"; then
        answer=$(pvpn_ha_last_answer "$partner")
        pvpn_ha_log "$partner: cannot tell which interface holds the tunnel EIP (IMDS or the EC2 API did not answer): repeating the last known answer ($([ "$answer" = 0 ] && echo holder || echo 'not the holder'))"
        return "$answer"
    fi
    eni=$(grep -o '<networkInterfaceId>eni-[0-9a-f]*</networkInterfaceId>' <<<"$reply" | sed 's/<[^>]*>//g' || true)
    if [ "$eni" = "$PVPN_HA_ENI" ]; then
        answer=0
        if [ "$state" = YIELDED ]; then
            # VRRP still has us active and the EIP came back to us (an operator moved it): resume.
            pvpn_ha_log "$partner: the tunnel EIP is on our interface $eni again: resuming as active"
            pvpn_ha_master "$partner" background || true
        fi
    elif [ -z "$eni" ]; then
        answer=1
        if [ "$state" = MASTER ] || [ "$state" = YIELDED ]; then
            # Nobody holds it (a failed claim, or the other member's instance was terminated).
            pvpn_ha_log "$partner: the tunnel EIP is on no interface and we are active: claiming it"
            pvpn_ha_remember "$partner" 1
            pvpn_ha_master "$partner" background || true
            answer=$(pvpn_ha_last_answer "$partner")
        fi
    else
        answer=1
        if [ "$state" = MASTER ]; then
            # The other member claimed it after our own claim: it stopped hearing our adverts (a
            # split brain). Taking it back would start a ping-pong, each move breaking the tunnel:
            # stand down; VRRP elects the holder once the members hear each other again. The
            # routes stay: its claim pointed them at its interface.
            pvpn_ha_log "$partner: the tunnel EIP is on $eni, which claimed it after us: standing down until VRRP decides"
            pvpn_ha_standby "$partner" YIELDED
        fi
    fi
    # A check without the lock that raced a state change (a takeover claiming the EIP meanwhile)
    # answers, but does not leave its possibly outdated answer behind.
    if [ "$locked" = yes ] || [ "$(pvpn_ha_current "$partner")" = "$state" ]; then pvpn_ha_remember "$partner" "$answer"; fi
    return "$answer"
}

pvpn_failover() {
    local action=${1:?usage: partner-vpn-failover master|backup|fault|health|holder|initiate PARTNER} partner=${2:?partner}
    [[ $partner =~ ^[a-z][a-z0-9-]*$ ]] || { pvpn_ha_log "bad partner name"; return 2; }
    install -d -m 0755 "$PVPN_HA_RUN"
    # One state change at a time: keepalived runs notify and track scripts concurrently, and a
    # holder check acting while a takeover runs would act on an answer the takeover changes.
    exec 9>"$PVPN_HA_RUN/$partner.lock"
    case $action in
        master) pvpn_ha_notified "$partner" master; flock -w 60 9; pvpn_ha_master "$partner" ;;
        backup) pvpn_ha_notified "$partner" backup; flock -w 60 9; pvpn_ha_standby "$partner" BACKUP ;;
        fault) pvpn_ha_notified "$partner" fault; flock -w 60 9; pvpn_ha_standby "$partner" FAULT ;;
        health) pvpn_ha_health "$partner" ;;
        holder) pvpn_ha_holder "$partner" ;;
        # Only MASTER: a YIELDED member stood down and starts nothing.
        initiate) [ "$(pvpn_ha_current "$partner")" != MASTER ] || pvpn_ha_initiate "$partner" ;;
        *) pvpn_ha_log "unknown action $action"; return 2 ;;
    esac
}
