/**
 * The charon drop-in every strongSwan endpoint gets (`/etc/strongswan.d/partner-vpn.conf`,
 * included at the top level of Debian's and Ubuntu's strongswan.conf). The bootstrap installs it
 * (renderBootstrapScript puts these bytes into bootstrap.sh); the lab writes the same bytes.
 *
 * - `replay_window = 1024`: the default of 32 packets is too small for peers that spread ESP over
 *   several cores or queues and deliver it out of order; late packets would be dropped as replays.
 *   (kernel-netlink supports large windows; it is the default for every CHILD_SA without its own.)
 * - Retransmission: strongSwan's defaults (4 s, base 1.8, 5 tries) take 165 s to declare an
 *   unanswered IKEv2 request (a DPD probe included) failed. 2 s, base 1.5, 4 tries: 2 + 3 + 4.5
 *   + 6.75 + 10.1 = about 26 s, so a dead IKEv2 peer is found one DPD interval plus ~26 s after it
 *   died (IKEv1 uses the connection's dpd_timeout instead), and `dpd_action = restart` with
 *   `keyingtries = 0` then retries a full sequence every ~26 s until the partner answers: after
 *   an outage the tunnel is back at most one sequence step (<= 10 s) after the partner returns.
 *   The jitter spreads retries of several children so they do not hit the peer in lockstep.
 * - `ignore_acquire_ts = yes`: a trap (start_action trap|start) fires on one packet; by default
 *   charon then proposes that packet's addresses as the first traffic selectors, and a peer that
 *   narrows to them (Cisco ASA does) installs a host-to-host SA instead of the agreed networks.
 *   With this setting it proposes only the configured selectors.
 * - `make_before_break = yes`: strongSwan 6.0 enables it by default, 5.9 does not. It only
 *   matters for IKEv2 reauthentication (we rekey, reauth_time stays 0), but writing it keeps a
 *   Debian 12 and a Debian 13 endpoint identical should a reauthentication ever happen.
 * The same keys and meanings exist in 5.9 and 6.0.
 */

export const CHARON_DROP_IN = "/etc/strongswan.d/partner-vpn.conf";

/** The IKE retransmission timers, as charon computes them: timeout * base^n for n = 0..tries. */
export const RETRANSMIT = { timeout: 2, base: 1.5, tries: 4, jitter: 20 } as const;

/** Seconds until an unanswered request (IKE_SA_INIT, a DPD probe) is declared failed. */
export function retransmitSequenceSeconds(t: { timeout: number; base: number; tries: number } = RETRANSMIT): number {
    let total = 0;
    for (let n = 0; n <= t.tries; n++) total += t.timeout * t.base ** n;
    return total;
}

export function renderCharonSettings(): string {
    return [
        "# partner-vpn: charon settings the rendered connections rely on (see core/render/charonSettings.ts).",
        "# Installed by partner-vpn's bootstrap; changes are overwritten on the next bootstrap.",
        "charon {",
        "    replay_window = 1024",
        `    retransmit_timeout = ${RETRANSMIT.timeout}`,
        `    retransmit_base = ${RETRANSMIT.base}`,
        `    retransmit_tries = ${RETRANSMIT.tries}`,
        `    retransmit_jitter = ${RETRANSMIT.jitter}`,
        "    ignore_acquire_ts = yes",
        "    make_before_break = yes",
        "}",
        "",
    ].join("\n");
}
