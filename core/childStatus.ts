/**
 * Per-child status after an apply, read from the apply command's stdout.
 *
 * After installing a config the apply waits (bounded) for every CHILD_SA and prints one line per
 * child on stdout (scripts/endpoint/apply.sh, pvpn_child_status):
 *   partner-vpn: <partner> child <child>: up
 *   partner-vpn: <partner> child <child>: waiting for the partner (not established after N s; ...)
 * The command's stdout is kept secret in state (components/commands.ts), so the stack output is
 * built from it by keeping only what this function recognises: the children the partner's config
 * names, each with one word from a fixed vocabulary. Nothing else of the stdout can reach the
 * output, which is why it can be a plain (non-secret) stack output.
 */
import type { PartnerModel } from "./model";
import { swanctlChildName } from "./render/swanctl";

export const CHILD_UP = "up";
export const CHILD_WAITING = "waiting for the partner";
/** The apply printed nothing for the child: a Libreswan endpoint (pluto's status is not parsed),
 *  or no apply output yet (before the first `pulumi up`, or under the offline plan's mocks). */
export const CHILD_NOT_REPORTED = "not reported";

export type ChildStatus = typeof CHILD_UP | typeof CHILD_WAITING | typeof CHILD_NOT_REPORTED;

/** Child name (as swanctl shows it) -> its status as the last apply reported it, in config order. */
export function childStatusFromApplyOutput(partner: PartnerModel, stdout: string): Record<string, ChildStatus> {
    const reported = new Map<string, ChildStatus>();
    const prefix = `partner-vpn: ${partner.name} child `;
    for (const line of stdout.split("\n")) {
        if (!line.startsWith(prefix)) continue;
        const m = /^([a-z0-9-]+): (up|waiting for the partner)(?:$| \()/.exec(line.slice(prefix.length).trimEnd());
        if (m) reported.set(m[1], m[2] === "up" ? CHILD_UP : CHILD_WAITING);
    }
    const status: Record<string, ChildStatus> = {};
    for (const host of partner.remoteHosts) {
        const child = swanctlChildName(partner.name, host);
        status[child] = reported.get(child) ?? CHILD_NOT_REPORTED;
    }
    return status;
}
