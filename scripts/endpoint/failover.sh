#!/usr/bin/env bash
# partner-vpn-failover ACTION PARTNER: one member of an active/standby pair (core/render/ha.ts
# renders keepalived.conf, which calls this). ACTION:
#   master   keepalived elected us: claim the tunnel EIP (AssociateAddress, AllowReassociation),
#            point every partner route at our own network interface (ReplaceRoute), then start
#            every child that is not installed. INITIAL_CONTACT in our IKE_AUTH makes the partner
#            drop the old member's SAs: the partner sees the same peer address throughout.
#   backup, fault   we are not (or cannot be) active: terminate our SAs. The trap policies stay,
#            so nothing towards the partner ever leaves in clear text.
#   health   keepalived's track script: charon answers with the partner's connection loaded and
#            the NAT chains exist. Local health only: a partner that is down must not fail both
#            members over and over, nor leave both FAULT with nobody to bring the tunnel up.
#   reassert while active, check that the tunnel EIP is still ours and claim it again if not:
#            after a split brain both members claimed it and the later call won; when VRRP heals,
#            the member that stays active may be the one that lost it. Always exits 0.
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

pvpn_ha_log() {
    printf 'partner-vpn-failover: %s\n' "$*" >&2
    logger -t partner-vpn-failover -- "$*" 2>/dev/null || true
}

# curl with options (token, credentials) read from stdin as a curl config.
pvpn_ha_curl() {
    curl --silent --show-error --fail-with-body --max-time 5 -K - "$@"
}

# IMDSv2: a token, then region, our primary interface's id and the role's credentials.
# Sets PVPN_HA_REGION, PVPN_HA_ENI, PVPN_HA_CREDS (kept in this shell's memory only).
pvpn_ha_identity() {
    local token role mac header
    token=$(curl --silent --show-error --fail --max-time 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$PVPN_HA_IMDS/latest/api/token")
    header=$(printf 'header = "X-aws-ec2-metadata-token: %s"\n' "$token")
    PVPN_HA_REGION=$(pvpn_ha_curl "$PVPN_HA_IMDS/latest/meta-data/placement/region" <<<"$header")
    mac=$(pvpn_ha_curl "$PVPN_HA_IMDS/latest/meta-data/mac" <<<"$header")
    PVPN_HA_ENI=$(pvpn_ha_curl "$PVPN_HA_IMDS/latest/meta-data/network/interfaces/macs/$mac/interface-id" <<<"$header")
    role=$(pvpn_ha_curl "$PVPN_HA_IMDS/latest/meta-data/iam/security-credentials/" <<<"$header" | head -n 1)
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
        | pvpn_ha_curl --retry 2 --aws-sigv4 "aws:amz:$PVPN_HA_REGION:ec2" "${form[@]}" "$url"); then
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

pvpn_ha_master() {
    local partner=$1 settings allocation table cidr failed=0 previous
    previous=$(cat "$PVPN_HA_RUN/$partner.state" 2>/dev/null || true)
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
    settings=$(pvpn_ha_settings "$partner")
    pvpn_ha_identity
    allocation=$(awk '$1 == "allocation" { print $2 }' <<<"$settings")
    pvpn_ha_ec2 AssociateAddress "AllocationId=$allocation" "NetworkInterfaceId=$PVPN_HA_ENI" "AllowReassociation=true" >/dev/null || failed=1
    while read -r _ table cidr; do
        [ -n "$cidr" ] || continue
        pvpn_ha_ec2 ReplaceRoute "RouteTableId=$table" "DestinationCidrBlock=$cidr" "NetworkInterfaceId=$PVPN_HA_ENI" >/dev/null || failed=1
    done < <(grep '^route ' <<<"$settings")
    pvpn_ha_log "$partner: active: tunnel EIP $allocation and partner routes claimed for $PVPN_HA_ENI$([ "$failed" = 0 ] || echo ' (with errors, see above)')"
    pvpn_ha_initiate "$partner"
    return "$failed"
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

pvpn_ha_reassert() {
    local partner=$1 reply allocation
    [ "$(cat "$PVPN_HA_RUN/$partner.state" 2>/dev/null)" = MASTER ] || return 0
    allocation=$(pvpn_ha_settings "$partner" | awk '$1 == "allocation" { print $2 }')
    pvpn_ha_identity || return 0
    reply=$(pvpn_ha_ec2 DescribeAddresses "AllocationId.1=$allocation") || return 0
    if ! grep -q "<networkInterfaceId>$PVPN_HA_ENI</networkInterfaceId>" <<<"$reply"; then
        pvpn_ha_log "$partner: active, but the tunnel EIP is not on $PVPN_HA_ENI: claiming it again"
        pvpn_ha_master "$partner" || true
    fi
    return 0
}

pvpn_failover() {
    local action=${1:?usage: partner-vpn-failover master|backup|fault|health|reassert|initiate PARTNER} partner=${2:?partner}
    [[ $partner =~ ^[a-z][a-z0-9-]*$ ]] || { pvpn_ha_log "bad partner name"; return 2; }
    install -d -m 0755 "$PVPN_HA_RUN"
    # One state change at a time: keepalived runs notify and track scripts concurrently, and a
    # reassert racing a takeover would only repeat its EC2 calls (measured: seconds, on a loaded lab).
    exec 9>"$PVPN_HA_RUN/$partner.lock"
    case $action in
        master) flock -w 60 9; pvpn_ha_master "$partner" ;;
        backup) flock -w 60 9; pvpn_ha_standby "$partner" BACKUP ;;
        fault) flock -w 60 9; pvpn_ha_standby "$partner" FAULT ;;
        health) pvpn_ha_health "$partner" ;;
        reassert) flock -n 9 || return 0; pvpn_ha_reassert "$partner" ;;
        initiate) [ "$(cat "$PVPN_HA_RUN/$partner.state" 2>/dev/null)" != MASTER ] || pvpn_ha_initiate "$partner" ;;
        *) pvpn_ha_log "unknown action $action"; return 2 ;;
    esac
}
