#!/usr/bin/env bash
# partner-vpn-metrics: publishes this endpoint's tunnel state to CloudWatch, namespace PartnerVpn
# (core/render/monitoring.ts names the metrics; README documents them). Run by
# partner-vpn-metrics.timer every period. Reads charon's state with swanctl; gets the instance
# role's short-lived credentials from IMDSv2 and hands them (and the IMDS token) to curl on stdin
# (`curl -K -`): they never appear in a command line, an environment variable or a log line.
#
# One override, for the lab only: PVPN_CLOUDWATCH_URL (default https://monitoring.REGION.amazonaws.com/).
set -euo pipefail

PVPN_NAMESPACE=PartnerVpn
PVPN_IMDS=http://169.254.169.254
# systemd's RuntimeDirectory= sets RUNTIME_DIRECTORY; the counters of the last run live there.
PVPN_METRICS_STATE=${RUNTIME_DIRECTORY:-/run/partner-vpn-metrics}

pvpn_metrics_log() {
    printf 'partner-vpn-metrics: %s\n' "$*" >&2
}

# curl with its options (credentials, token) read from stdin as a curl config: nothing secret in argv.
pvpn_curl_with() {
    curl --silent --show-error --fail-with-body --max-time 10 --retry 2 -K - "$@"
}

# IMDSv2: a session token first (PUT), then the role's credentials with it. Sets PVPN_REGION and
# PVPN_CREDS (the credential JSON, kept in this shell's memory only).
pvpn_imds_credentials() {
    local token role
    token=$(curl --silent --show-error --fail --max-time 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$PVPN_IMDS/latest/api/token")
    role=$(printf 'header = "X-aws-ec2-metadata-token: %s"\n' "$token" | pvpn_curl_with "$PVPN_IMDS/latest/meta-data/iam/security-credentials/" | head -n 1)
    [ -n "$role" ] || { pvpn_metrics_log "IMDS lists no instance role; is the instance profile attached?"; return 1; }
    PVPN_REGION=$(printf 'header = "X-aws-ec2-metadata-token: %s"\n' "$token" | pvpn_curl_with "$PVPN_IMDS/latest/meta-data/placement/region")
    PVPN_CREDS=$(printf 'header = "X-aws-ec2-metadata-token: %s"\n' "$token" | pvpn_curl_with "$PVPN_IMDS/latest/meta-data/iam/security-credentials/$role")
}

# Children configured per partner connection, from `swanctl --list-conns`: "partner child remote-ts".
# swanctl's stderr (plugin notices on every start) is dropped; its exit status says if charon answered.
pvpn_configured_children() {
    swanctl --list-conns 2>/dev/null | awk '
        /^pvpn-[a-z0-9-]+:/ { conn = substr($1, 6, length($1) - 6); child = ""; next }
        /^[^ ]/ { conn = ""; next }
        conn != "" && /^  [^ ]+: TUNNEL/ { child = substr($1, 1, length($1) - 1); next }
        conn != "" && child != "" && /^    remote: / { print conn, child, $2; child = "" }
    '
}

# Installed CHILD_SAs with their counters, from `swanctl --list-sas`: "child bytes-in packets-in
# bytes-out packets-out" per SA (a child being rekeyed briefly has two; they are summed).
pvpn_installed_children() {
    swanctl --list-sas 2>/dev/null | awk '
        /^[^ ]/ { ike = ($1 ~ /^pvpn-/); child = ""; next }
        ike && /^  [^ ]+: #[0-9]+, reqid [0-9]+, INSTALLED/ { child = substr($1, 1, length($1) - 1); bi = pi = bo = po = 0; next }
        ike && child != "" && /^    in / { bi = $3; pi = $5; next }
        ike && child != "" && /^    out / { bo = $3; po = $5; print child, bi + 0, pi + 0, bo + 0, po + 0; child = "" }
    '
}

PVPN_FORM=()
PVPN_COUNT=0

# Adds one datum: metric value unit, then dimension name=value pairs.
pvpn_datum() {
    local metric=$1 value=$2 unit=$3
    shift 3
    PVPN_COUNT=$((PVPN_COUNT + 1))
    local p="MetricData.member.$PVPN_COUNT" d=0 dim
    PVPN_FORM+=(--data-urlencode "$p.MetricName=$metric" --data-urlencode "$p.Value=$value" --data-urlencode "$p.Unit=$unit")
    [ "$PVPN_PERIOD" -lt 60 ] && PVPN_FORM+=(--data-urlencode "$p.StorageResolution=1")
    for dim in "$@"; do
        d=$((d + 1))
        PVPN_FORM+=(--data-urlencode "$p.Dimensions.member.$d.Name=${dim%%=*}" --data-urlencode "$p.Dimensions.member.$d.Value=${dim#*=}")
    done
}

# Sends the collected data in one signed PutMetricData call (query API), then starts a new batch.
pvpn_flush() {
    [ "$PVPN_COUNT" -gt 0 ] || return 0
    local url=${PVPN_CLOUDWATCH_URL:-https://monitoring.$PVPN_REGION.amazonaws.com/} key secret token reply
    key=$(jq -r .AccessKeyId <<<"$PVPN_CREDS")
    secret=$(jq -r .SecretAccessKey <<<"$PVPN_CREDS")
    token=$(jq -r .Token <<<"$PVPN_CREDS")
    if ! reply=$(printf 'user = "%s:%s"\nheader = "X-Amz-Security-Token: %s"\n' "$key" "$secret" "$token" \
        | pvpn_curl_with --aws-sigv4 "aws:amz:$PVPN_REGION:monitoring" \
            --data-urlencode "Action=PutMetricData" --data-urlencode "Version=2010-08-01" \
            --data-urlencode "Namespace=$PVPN_NAMESPACE" "${PVPN_FORM[@]}" "$url"); then
        # The reply is AWS's error document: its code and message say why, and hold no secret.
        pvpn_metrics_log "PutMetricData failed: $(grep -o '<Code>[^<]*</Code>\|<Message>[^<]*</Message>' <<<"$reply" | tr '\n' ' ')"
        return 1
    fi
    PVPN_FORM=()
    PVPN_COUNT=0
}

# Traffic since the last run from cumulative counters; a counter that went down (a new CHILD_SA
# after a rekey or a restart) counts from zero. No previous run: nothing to compare, publish none.
pvpn_delta() {
    local now=$1 before=$2
    if [ -z "$before" ]; then echo ""; elif [ "$now" -ge "$before" ]; then echo $((now - before)); else echo "$now"; fi
}

# Adds the four traffic metrics of one child: the change of each counter since the last run.
pvpn_traffic() {
    local partner=$1 remote=$2 counters=$3 before=$4
    local -a now=() prev=()
    read -r -a now <<<"$counters"
    read -r -a prev <<<"$before"
    local names=(TunnelBytesIn TunnelPacketsIn TunnelBytesOut TunnelPacketsOut) units=(Bytes Count Bytes Count) i delta
    for i in 0 1 2 3; do
        delta=$(pvpn_delta "${now[$i]}" "${prev[$i]:-}")
        [ -z "$delta" ] || pvpn_datum "${names[$i]}" "$delta" "${units[$i]}" "Partner=$partner" "RemoteHost=$remote"
    done
}

pvpn_publish() {
    PVPN_PERIOD=${1:-60}
    install -d -m 0700 "$PVPN_METRICS_STATE"
    pvpn_imds_credentials
    local configured installed daemon=1
    if ! configured=$(pvpn_configured_children) || ! installed=$(pvpn_installed_children); then
        daemon=0 configured="" installed=""
        pvpn_metrics_log "swanctl could not reach charon: every tunnel of this endpoint is reported down"
    fi
    local previous="$PVPN_METRICS_STATE/counters" current="$PVPN_METRICS_STATE/counters.new"
    : >"$current"
    local partner child remote state name bi pi bo po sa_bi sa_pi sa_bo sa_po partners="" dir
    declare -A partner_up=()
    # Partners this endpoint was given (their state folders), so a dead daemon still reports them.
    for dir in /etc/partner-vpn/*/; do
        [ -f "$dir/generation" ] || continue
        partner=$(basename "$dir")
        partner_up[$partner]=$daemon
        partners="$partners $partner"
    done
    while read -r partner child remote; do
        [ -n "$child" ] || continue
        state=0 bi=0 pi=0 bo=0 po=0
        while read -r name sa_bi sa_pi sa_bo sa_po; do
            [ "$name" = "$child" ] || continue
            state=1 bi=$((bi + sa_bi)) pi=$((pi + sa_pi)) bo=$((bo + sa_bo)) po=$((po + sa_po))
        done <<<"$installed"
        [ -n "${partner_up[$partner]:-}" ] || { partner_up[$partner]=1; partners="$partners $partner"; }
        [ "$state" = 1 ] || partner_up[$partner]=0
        pvpn_datum TunnelState "$state" None "Partner=$partner" "RemoteHost=$remote"
        printf '%s %s %s %s %s\n' "$child" "$bi" "$pi" "$bo" "$po" >>"$current"
        pvpn_traffic "$partner" "$remote" "$bi $pi $bo $po" "$(grep -s "^$child " "$previous" | cut -d' ' -f2-)"
        [ "$PVPN_COUNT" -lt 20 ] || pvpn_flush
    done <<<"$configured"
    for partner in $partners; do
        pvpn_datum TunnelState "${partner_up[$partner]}" None "Partner=$partner"
        pvpn_datum IkeDaemonUp "$daemon" None "Partner=$partner"
    done
    pvpn_flush
    mv -f "$current" "$previous"
    pvpn_metrics_log "published: partners${partners:- none}; IKE daemon up: $daemon"
}
