#!/usr/bin/env bash
# partner-vpn bootstrap: prepares a fresh Ubuntu endpoint once (packages, forwarding, the boot
# restore unit). Safe to re-run. Arguments: the stack mode (vpc-routing or classic-proxy), then
# for an endpoint whose partner uses Libreswan: libreswan and the partner's IKE version (ikev1 or
# ikev2). Without them the endpoint runs strongSwan.
set -euo pipefail

mode=${1:?usage: bootstrap MODE [strongswan | libreswan ikev1|ikev2]}
daemon=${2:-strongswan}
ike=${3:-ikev2}
case $daemon:$ike in
    strongswan:* | libreswan:ikev1 | libreswan:ikev2) ;;
    *) echo "partner-vpn: unknown IPsec daemon or IKE version: $daemon $ike" >&2; exit 2 ;;
esac

# The instance may still be running cloud-init (which also runs apt); wait for it.
if command -v cloud-init >/dev/null 2>&1; then
    cloud-init status --wait >/dev/null 2>&1 || true
fi

export DEBIAN_FRONTEND=noninteractive
# conntrack: the apply drops connections pinned without source NAT (lib.sh pvpn_forget_unnated).
packages=(charon-systemd strongswan-swanctl libcharon-extra-plugins iptables conntrack)
ipsec_unit=strongswan.service
if [ "$daemon" = libreswan ]; then
    # libreswan conflicts with strongSwan's charon packages: apt removes them when switching.
    packages=(libreswan iptables conntrack)
    ipsec_unit=ipsec.service
fi
if [ "$mode" = classic-proxy ]; then
    # Ubuntu ships the stream module (raw TCP proxying) separately from nginx.
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
sysctl --system >/dev/null

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
else
    # Libreswan's partner files and conn records from before a switch (the secrets hold the PSK).
    rm -f /etc/ipsec.d/partner-vpn-*.conf /etc/ipsec.d/partner-vpn-*.secrets
    rm -rf /etc/partner-vpn/*/libreswan
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
    # charon-systemd's unit is strongswan.service on current Ubuntu, strongswan-swanctl.service on older.
    systemctl enable --now strongswan.service 2>/dev/null || systemctl enable --now strongswan-swanctl.service
fi
if [ "$mode" = classic-proxy ]; then
    systemctl enable nginx.service
fi
echo "partner-vpn: bootstrap complete ($mode, $daemon)"
