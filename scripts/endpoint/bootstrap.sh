#!/usr/bin/env bash
# partner-vpn bootstrap: prepares a fresh endpoint once (packages, forwarding, the boot restore
# unit). Safe to re-run. Arguments: the stack mode (vpc-routing or classic-proxy), the endpoint OS
# (debian-13, debian-12 or ubuntu-24.04: the config's endpoint.os; checked against the machine),
# then words in any order: the IPsec daemon (strongswan, the default, or libreswan), the partner's
# IKE version (ikev1 or ikev2; Libreswan's global IKEv1 policy), `ha` for a member of an
# active/standby pair (keepalived), and per strongSwan proposal
# proposal=KIND:PROPOSAL:ALG,ALG,... (what charon's crypto plugins must implement; checked below).
set -euo pipefail

usage="usage: bootstrap MODE OS [strongswan | libreswan] [ikev1 | ikev2] [ha] [proposal=KIND:PROPOSAL:ALGS ...]"
mode=${1:?$usage}
os=${2:?$usage}
shift 2
daemon=strongswan
ike=ikev2
ha=""
requirements=""
for word in "$@"; do
    case $word in
        strongswan | libreswan) daemon=$word ;;
        ikev1 | ikev2) ike=$word ;;
        ha) ha=1 ;;
        proposal=*:*:*) requirements+="proposal $(tr ':' ' ' <<<"${word#proposal=}")"$'\n' ;;
        *) echo "partner-vpn: unknown bootstrap argument: $word" >&2; exit 2 ;;
    esac
done

# The config names the OS the image was chosen for; refuse to provision anything else (a pinned
# AMI of another distribution, or a release the package names below were not written for).
case $os in
    debian-13) want_id=debian want_version=13 ;;
    debian-12) want_id=debian want_version=12 ;;
    ubuntu-24.04) want_id=ubuntu want_version=24.04 ;;
    *) echo "partner-vpn: unknown endpoint OS: $os (expected debian-13, debian-12 or ubuntu-24.04)" >&2; exit 2 ;;
esac
os_release() { sed -n "s/^$1=//p" /etc/os-release 2>/dev/null | tr -d '"'; }
have_id=$(os_release ID)
have_version=$(os_release VERSION_ID)
if [ "$have_id" != "$want_id" ] || [ "$have_version" != "$want_version" ]; then
    echo "partner-vpn: this machine runs ${have_id:-?} ${have_version:-?}, but the config says $os; expected the image of endpoint.os" >&2
    exit 2
fi

# The instance may still be running cloud-init (which also runs apt); wait for it.
if command -v cloud-init >/dev/null 2>&1; then
    cloud-init status --wait >/dev/null 2>&1 || true
fi

export DEBIAN_FRONTEND=noninteractive
# conntrack: the apply drops connections pinned without source NAT (lib.sh pvpn_forget_unnated).
# strongSwan: the daemon under systemd, its control tool, and the crypto plugins. libstrongswan
# only Recommends libstrongswan-standard-plugins (openssl: ECP, curve25519, ChaCha20-Poly1305,
# SHA-2, MODP; gcm; aesni), so --no-install-recommends would leave charon without them. Nothing
# from libcharon-extra-plugins (forecast, farp, dhcp, ha, eap-radius, tnc, kernel-libipsec): a
# production endpoint needs none of them, and each is one more thing loaded into charon.
# curl (7.75+ signs SigV4) and jq: the metrics publisher (scripts/endpoint/metrics.sh).
packages=(charon-systemd strongswan-swanctl libstrongswan-standard-plugins iptables conntrack curl jq)
ipsec_unit=strongswan.service
if [ "$daemon" = libreswan ]; then
    # libreswan conflicts with strongSwan's charon packages: apt removes them when switching.
    packages=(libreswan iptables conntrack)
    ipsec_unit=ipsec.service
fi
if [ -n "$ha" ]; then
    # VRRP between the pair's members; its notify script moves the tunnel EIP and routes (failover.sh).
    packages+=(keepalived)
fi
if [ "$mode" = classic-proxy ]; then
    # Debian and Ubuntu ship the stream module (raw TCP proxying) separately from nginx.
    packages+=(nginx libnginx-mod-stream)
fi

attempt=0
until apt-get update -q && apt-get install -y -q --no-install-recommends "${packages[@]}"; do
    attempt=$((attempt + 1))
    [ "$attempt" -lt 5 ] || { echo "partner-vpn: package installation failed 5 times" >&2; exit 1; }
    sleep 10
done

# Forwarding for routed (vpc-routing) and DNATed traffic; no ICMP redirects, which would tell our
# instances to bypass the endpoint; loose reverse-path filtering because replies arrive on the
# tunnel with addresses routed elsewhere.
cat >/etc/sysctl.d/90-partner-vpn.conf <<'SYSCTL'
net.ipv4.ip_forward = 1
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.default.send_redirects = 0
net.ipv4.conf.all.rp_filter = 2
net.ipv4.conf.default.rp_filter = 2
SYSCTL
# Only our own file: `sysctl --system` would also re-apply every other file and fail the bootstrap
# on a key this machine does not let us write (kernel.* in a container); systemd-sysctl applies
# the whole folder at every boot anyway.
sysctl -q -p /etc/sysctl.d/90-partner-vpn.conf

if [ "$daemon" = libreswan ]; then
    # Partner conns live in /etc/ipsec.d/partner-vpn-*.conf and *.secrets, which the distribution's
    # files include. pluto drops IKEv1 unless `config setup` accepts it, and reads that only when
    # it starts: restart it when the setting changes (first bootstrap, or an IKE version switch,
    # after which the apply replaces every conn anyway).
    ikev1_policy=drop
    [ "$ike" = ikev1 ] && ikev1_policy=accept
    conf="# /etc/ipsec.conf, written by partner-vpn's bootstrap (Libreswan).
config setup
	ikev1-policy=$ikev1_policy

include /etc/ipsec.d/*.conf"
    restart_pluto=""
    if [ "$(cat /etc/ipsec.conf 2>/dev/null)" != "$conf" ]; then
        printf '%s\n' "$conf" >/etc/ipsec.conf
        restart_pluto=1
    fi
    grep -qx 'include /etc/ipsec.d/\*.secrets' /etc/ipsec.secrets 2>/dev/null || echo 'include /etc/ipsec.d/*.secrets' >>/etc/ipsec.secrets
    chmod 0600 /etc/ipsec.secrets
    # strongSwan's partner files from before a switch (they hold the PSK).
    rm -f /etc/swanctl/conf.d/partner-vpn-*.conf
    rm -f /etc/strongswan.d/partner-vpn.conf
else
    # Libreswan's partner files and conn records from before a switch (the secrets hold the PSK).
    rm -f /etc/ipsec.d/partner-vpn-*.conf /etc/ipsec.d/partner-vpn-*.secrets
    rm -rf /etc/partner-vpn/*/libreswan
    # charon settings the rendered connections rely on (replay window, retransmission timers that
    # find a dead peer in tens of seconds, ...): core/render/charonSettings.ts fills this in.
    charon_settings=$(cat <<'PVPN_CHARON_SETTINGS'
PVPN_CHARON_SETTINGS
)
    [ -n "$charon_settings" ] || { echo "partner-vpn: this bootstrap carries no charon settings (render it with renderBootstrapScript)" >&2; exit 2; }
    install -d -m 0755 /etc/strongswan.d
    printf '%s\n' "$charon_settings" >/etc/strongswan.d/partner-vpn.conf.new
    mv -f /etc/strongswan.d/partner-vpn.conf.new /etc/strongswan.d/partner-vpn.conf
fi

cat >/etc/systemd/system/partner-vpn-boot.service <<UNIT
[Unit]
Description=partner-vpn: restore NAT rules and load IPsec config at boot
After=network-online.target $ipsec_unit nginx.service
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/partner-vpn-boot
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable partner-vpn-boot.service
if [ "$daemon" = libreswan ]; then
    systemctl enable --now ipsec.service
    if [ -n "$restart_pluto" ]; then
        systemctl restart ipsec.service
    fi
else
    # charon-systemd's unit is strongswan.service on Debian 12/13 and Ubuntu 24.04 (strongswan-swanctl.service on older).
    systemctl enable --now strongswan.service 2>/dev/null || systemctl enable --now strongswan-swanctl.service
    # Fail here, loudly, if the installed charon cannot do an algorithm the partner's proposals use:
    # every apply would be refused for it, and a tunnel would never negotiate.
    # pvpn_wait_charon, pvpn_charon_missing_algs: scripts/endpoint/charon.sh, which the renderer
    # puts ahead of this file.
    pvpn_wait_charon || { echo "partner-vpn: charon did not answer within 30 s after starting strongSwan" >&2; exit 1; }
    # A running charon re-reads strongswan.conf (and so the drop-in) without dropping any SA.
    swanctl --reload-settings >/dev/null
    pvpn_charon_missing_algs bootstrap <<<"$requirements" || {
        echo "partner-vpn: bootstrap failed: the installed strongSwan cannot negotiate the partner's proposals (above)" >&2
        exit 1
    }
fi
if [ "$mode" = classic-proxy ]; then
    systemctl enable nginx.service
fi
if [ -n "$ha" ]; then
    # Started by the apply once it has pushed the pair's config (the unit needs the file).
    systemctl enable keepalived.service
fi
echo "partner-vpn: bootstrap complete ($mode, $os, $daemon)"
