/**
 * Libreswan (the maintained successor of the seed's Openswan) for one partner: an ipsec.conf
 * fragment with one `conn` per partner host, and the PSK in ipsec.secrets syntax.
 *
 * - One conn per local/remote pair: IKEv1 peers such as Cisco ASA negotiate one pair of
 *   selectors per SA, and a host added or removed then adds or deletes only its own conn (the
 *   apply replaces only conns whose text changed, see scripts/endpoint/libreswan.sh). Every conn
 *   is complete on its own (no `also=`, no `%default`), so a conn's text is its whole config.
 * - `left=` is the endpoint's private IP, not `%defaultroute`: the instance only has its private
 *   address (AWS maps the tunnel EIP onto it, 1:1 NAT), the model pins it (the same local address
 *   strongSwan's `local_addrs` gets), and `%defaultroute` is resolved once when the conn is loaded,
 *   so a conn loaded before the default route exists (early boot) or on an instance with a second
 *   interface would pick no or the wrong address. `leftid=` is the tunnel EIP: the identity the
 *   partner configured for us.
 * - Written for the Libreswan of the partner's `os` (OS_IMAGES libreswanMajor: Debian 13: 5.2,
 *   Debian 12: 4.10, Ubuntu 24.04: 4.14) with no obsolete keyword. Both: `encapsulation=yes` (not
 *   `forceencaps`), `salifetime` (not `lifetime`/`keylife`), and `dpdtimeout` for IKEv1 only
 *   (pluto warns that IKEv2 ignores it: IKEv2 liveness uses retransmit-timeout). Libreswan 4:
 *   `ikev2=yes|no` (4.x rejects `keyexchange=ikev1|ikev2`, and reads the old `insist` as yes).
 *   Libreswan 5, measured with 5.2 in the lab's booted Debian 13 (tests/lab/fixtures/
 *   lab-libreswan.yaml): `keyexchange=ikev1|ikev2` (pluto: "ikev2=yes has been replaced by
 *   keyexchange=ikev2"), no `dpdaction` (addconn: "obsolete keyword ignored") and no `keyingtries`
 *   (pluto: "keyingtries=0 ignored, UP connection will attempt to establish until marked DOWN",
 *   i.e. 5.x never gives up anyway). The apply counts any such warning as a failed load.
 * - Connection behaviour, the equivalent of the strongSwan choices in swanctl.ts: `auto=start`
 *   (we initiate; the partner is asked to answer only), `keyingtries=%forever` for Libreswan 4
 *   (never give up, written although it is 4.x's default, because the endpoint relies on it),
 *   `dpdaction=restart` (Libreswan 4), `negotiationshunt=hold` and `failureshunt=drop` (while no
 *   IPsec SA exists, a packet towards the partner is held or dropped, never sent in clear text with the NAT EIP as
 *   its source), and `replay-window=1024` for multi-core peers that reorder ESP packets.
 */
import { cidrSlug, toCidr } from "../addresses";
import { libreswanProposalList } from "../libreswanProposals";
import type { EndpointAddresses, PartnerModel } from "../model";
import { OS_IMAGES } from "../os";
import { cidr, integer, ipv4, label, libreswanId, RenderError } from "./safe";

/** `pvpn-<partner>-<host slug>`, e.g. `pvpn-bigcorp-110-220-10-7-32`: from the host, not its position. */
export function libreswanConnName(partner: string, remoteHost: string): string {
    return `pvpn-${label("partner name", partner)}-${cidrSlug(cidr("remote host", toCidr(remoteHost)))}`;
}

/** What goes into `ike=`, `esp=` and `pfs=`, or a RenderError for what Libreswan cannot negotiate. */
export function libreswanAlgorithms(partner: PartnerModel): { ike: string; esp: string; pfs: boolean } {
    const version = integer("ike.version", partner.ike.version, 1, 2) as 1 | 2;
    const out = { ike: "", esp: "", pfs: false };
    for (const kind of ["ike", "esp"] as const) {
        const list = kind === "ike" ? partner.ike.ikeProposals : partner.ike.espProposals;
        const t = libreswanProposalList(kind, list, version);
        if (!t.ok) {
            const first = t.problems[0];
            const shown = first.index === undefined ? list : list[first.index];
            throw new RenderError(`${kind}Proposals for Libreswan (${first.problem})`, shown, "a proposal Libreswan can negotiate");
        }
        if (kind === "ike") out.ike = t.text;
        else {
            out.esp = t.text;
            out.pfs = t.pfs;
        }
    }
    return out;
}

/**
 * Partners state hard lifetimes. Libreswan rekeys `rekeymargin` (plus up to `rekeyfuzz` of it)
 * before expiry: a margin of 10% of the phase 2 lifetime with the default 100% fuzz rekeys each
 * IPsec SA between 80% and 90% of its lifetime, like the strongSwan children (rekey_time 90%,
 * rand_time 10%). The margin is one value for both SAs, so the IKE SA rekeys a little later in
 * its (longer) life, still before it expires.
 */
function rekeyMargin(childLifetime: number): number {
    return childLifetime - Math.floor(childLifetime * 0.9);
}

/**
 * IKEv1 declares the peer dead after `dpdtimeout` without an answer: three DPD intervals, as the
 * strongSwan renderer does (tens of seconds, not the minutes of pluto's default), so a dead peer
 * is restarted soon enough for the partner-outage goal.
 */
function ikev1DpdTimeout(dpdDelay: number): number {
    return 3 * dpdDelay;
}

export function renderLibreswanConf(partner: PartnerModel, addresses: EndpointAddresses): string {
    const ike = partner.ike;
    if (!Array.isArray(partner.remoteHosts) || partner.remoteHosts.length === 0) {
        throw new RenderError("remoteHosts", partner.remoteHosts, "a non-empty list (one conn per host)");
    }
    // Libreswan's parser accepts two conns of one name (measured) and the later one silently wins.
    const names = partner.remoteHosts.map((h) => libreswanConnName(partner.name, h));
    names.forEach((n, i) => {
        if (names.indexOf(n) !== i) throw new RenderError("remoteHosts", partner.remoteHosts[i], "a host listed only once");
    });
    const version = integer("ike.version", ike.version, 1, 2);
    const algorithms = libreswanAlgorithms(partner);
    const ikeLife = integer("ike.ikeLifetime", ike.ikeLifetime, 300, 86400);
    const childLife = integer("ike.childLifetime", ike.childLifetime, 300, 86400);
    const dpd = integer("ike.dpdDelay", ike.dpdDelay, 0, 300);
    const left = ipv4("privateIp", partner.privateIp);
    const leftId = ipv4("tunnel address", addresses.tunnelIp);
    const natTs = `${ipv4("NAT address", addresses.natIp)}/32`;
    const right = ipv4("gatewayIp", partner.gatewayIp);
    const rightId = libreswanId("remoteId", partner.remoteId);
    const v5 = OS_IMAGES[partner.os].libreswanMajor >= 5;
    const lines = [
        `# partner-vpn: ${partner.name}. Rendered by partner-vpn; changes are overwritten on the next apply.`,
        "# One conn per partner host. left is the endpoint's private IP (AWS maps the tunnel EIP onto it),",
        "# leftid the tunnel EIP, leftsubnet our NAT address: all our traffic reaches the partner from it.",
    ];
    for (const host of partner.remoteHosts) {
        lines.push(
            "",
            `conn ${libreswanConnName(partner.name, host)}`,
            v5 ? `\tkeyexchange=ikev${version}` : `\tikev2=${version === 2 ? "yes" : "no"}`,
            "\tauthby=secret",
            `\tleft=${left}`,
            `\tleftid=${leftId}`,
            `\tleftsubnet=${natTs}`,
            `\tright=${right}`,
            `\trightid=${rightId}`,
            `\trightsubnet=${cidr("remote host", toCidr(host))}`,
            `\tike=${algorithms.ike}`,
            `\tesp=${algorithms.esp}`,
            `\tpfs=${algorithms.pfs ? "yes" : "no"}`,
            `\tikelifetime=${ikeLife}s`,
            `\tsalifetime=${childLife}s`,
            `\trekeymargin=${rekeyMargin(childLife)}s`,
            "\trekeyfuzz=100%",
            // Behind AWS's NAT the peer cannot detect NAT reliably on every device: force UDP 4500.
            "\tencapsulation=yes",
            ...(dpd > 0 ? [`\tdpddelay=${dpd}s`, ...(version === 1 ? [`\tdpdtimeout=${ikev1DpdTimeout(dpd)}s`] : []), ...(v5 ? [] : ["\tdpdaction=restart"])] : []),
            ...(v5 ? [] : ["\tkeyingtries=%forever"]),
            "\tnegotiationshunt=hold",
            "\tfailureshunt=drop",
            "\treplay-window=1024",
            "\tauto=start",
        );
    }
    lines.push("");
    return lines.join("\n");
}

/**
 * The PSK in ipsec.secrets syntax, keyed on the two identities exactly as the conns write them
 * (`leftid rightid : PSK ...`). The key is written base64-encoded (`0s` prefix, ipsec.secrets(5)):
 * no character of it can end the value, start a comment or inject another entry.
 */
export function renderLibreswanSecrets(partner: PartnerModel, addresses: EndpointAddresses, psk: string): string {
    if (typeof psk !== "string" || psk.length === 0) throw new RenderError("PSK", "<redacted>", "a non-empty string");
    return [
        `# partner-vpn: ${label("partner name", partner.name)} pre-shared key. Mode 0600, owner root.`,
        `${ipv4("tunnel address", addresses.tunnelIp)} ${libreswanId("remoteId", partner.remoteId)} : PSK 0s${Buffer.from(psk, "utf8").toString("base64")}`,
        "",
    ].join("\n");
}
