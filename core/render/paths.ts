/**
 * Where each artifact lives on the endpoint. One place, so the apply script, the boot restore,
 * the removal and the lab agree.
 */

export interface EndpointPaths {
    /** strongSwan connection config, loaded by `swanctl --load-all` (conf.d/*.conf is included). */
    readonly swanctlConf: string;
    /** The PSK, mode 0600, in swanctl's `secrets` syntax. */
    readonly swanctlSecrets: string;
    /** strongSwan partners: the connection, children and algorithms charon must hold once loaded. */
    readonly charonExpect: string;
    /** iptables-restore payload for this partner's own nat chains. */
    readonly natRules: string;
    /** The endpoint's whole nginx config (classic-proxy); the endpoint is dedicated to one partner. */
    readonly nginxConf: string;
    /** Per-partner state: the applied generation and the installed NAT payload. */
    readonly stateDir: string;
    /** Libreswan partners: this partner's conns (one per partner host), included by the
     *  distribution's /etc/ipsec.conf (`include /etc/ipsec.d/*.conf`). */
    readonly libreswanConf: string;
    /** Libreswan partners: the PSK, mode 0600, included by /etc/ipsec.secrets (`include /etc/ipsec.d/*.secrets`). */
    readonly libreswanSecrets: string;
}

export const SWANCTL_DIR = "/etc/swanctl/conf.d";
export const LIBRESWAN_DIR = "/etc/ipsec.d";
export const STATE_ROOT = "/etc/partner-vpn";
export const HELPER_DIR = "/usr/local/sbin";
/** Restores NAT rules and reloads IPsec and nginx config at boot (run by a systemd unit). */
export const BOOT_SCRIPT = `${HELPER_DIR}/partner-vpn-boot`;
/** Removes one partner's config when its apply command is deleted. */
export const REMOVE_SCRIPT = `${HELPER_DIR}/partner-vpn-remove`;
/** Publishes the tunnel metrics (scripts/endpoint/metrics.sh); run by the metrics timer. */
export const METRICS_SCRIPT = `${HELPER_DIR}/partner-vpn-metrics`;
/** Active/standby pairs: keepalived's notify and track script (scripts/endpoint/failover.sh). */
export const FAILOVER_SCRIPT = `${HELPER_DIR}/partner-vpn-failover`;
/** Active/standby pairs: the distribution's keepalived reads this one file (core/render/ha.ts). */
export const KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf";
/** Written by the apply (not rendered): `$PVPN_INTERFACE=<the interface holding our address>`. */
export const KEEPALIVED_INTERFACE = "/etc/keepalived/partner-vpn-interface.conf";
export const METRICS_SERVICE = "/etc/systemd/system/partner-vpn-metrics.service";
export const METRICS_TIMER = "/etc/systemd/system/partner-vpn-metrics.timer";

export function endpointPaths(partner: string): EndpointPaths {
    return {
        swanctlConf: `${SWANCTL_DIR}/partner-vpn-${partner}.conf`,
        swanctlSecrets: `${SWANCTL_DIR}/partner-vpn-${partner}.secrets.conf`,
        charonExpect: `${STATE_ROOT}/${partner}/charon.expect`,
        natRules: `${STATE_ROOT}/${partner}/nat.rules`,
        nginxConf: "/etc/nginx/nginx.conf",
        stateDir: `${STATE_ROOT}/${partner}`,
        libreswanConf: `${LIBRESWAN_DIR}/partner-vpn-${partner}.conf`,
        libreswanSecrets: `${LIBRESWAN_DIR}/partner-vpn-${partner}.secrets`,
    };
}
