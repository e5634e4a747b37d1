#!/usr/bin/env bash
# partner-vpn bootstrap: prepares a fresh Ubuntu endpoint once (packages, forwarding, the boot
# restore unit). Safe to re-run. Argument: the stack mode (vpc-routing or classic-proxy).
set -euo pipefail

mode=${1:?usage: bootstrap MODE}

# The instance may still be running cloud-init (which also runs apt); wait for it.
if command -v cloud-init >/dev/null 2>&1; then
    cloud-init status --wait >/dev/null 2>&1 || true
fi

export DEBIAN_FRONTEND=noninteractive
packages=(charon-systemd strongswan-swanctl libcharon-extra-plugins iptables)
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

cat >/etc/systemd/system/partner-vpn-boot.service <<'UNIT'
[Unit]
Description=partner-vpn: restore NAT rules and load IPsec config at boot
After=network-online.target strongswan.service nginx.service
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
# charon-systemd's unit is strongswan.service on current Ubuntu, strongswan-swanctl.service on older.
systemctl enable --now strongswan.service 2>/dev/null || systemctl enable --now strongswan-swanctl.service
if [ "$mode" = classic-proxy ]; then
    systemctl enable nginx.service
fi
echo "partner-vpn: bootstrap complete ($mode)"
