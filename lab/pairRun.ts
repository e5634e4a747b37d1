/**
 * The active/standby pair end to end, for `npm run lab`: provision the pair (lab/haSession.ts),
 * run its checks in order (lab/checks/pair.ts), tear it down, and return its report section.
 */
import { runCheck, type CheckResult } from "./checkResult";
import { PAIR_CHECKS, type PairContext } from "./checks/pair";
import { HA_LAB } from "./haLab";
import { PAIR_PARTNER, startPairSession, stopPairSession, type PairSession } from "./haSession";
import type { FixtureReport } from "./labReport";
import { ensureMotoRoot } from "./moto";

/** The report's name for the pair (no slash: the report prints sources by their base name). */
export const PAIR_SOURCE = "active-standby pair";

function topology(s?: PairSession): string[] {
    return [
        `vpc-routing; members ${HA_LAB.members[0]} (primary, ${HA_LAB.subnets[0]}) and ${HA_LAB.members[1]} (standby, ${HA_LAB.subnets[1]}), two booted Debian 13 images with keepalived (unicast VRRP between them only)`,
        `partner ${PAIR_PARTNER}: gateway ${HA_LAB.gateway} (IKEv2) with hosts ${HA_LAB.hosts.join(", ")}; tunnel EIP ${HA_LAB.tunnelIp}, NAT IP ${HA_LAB.natIp}`,
        `the EC2 API: moto_server on ${HA_LAB.motoUrl} (VPC side only), holding the EIP association and the route table; the pair role's failover policy loaded; an IMDSv2 per member`,
        "igw's 1:1 NAT for the tunnel EIP and the instance's partner routes follow moto every 200 ms (lab/haLab.ts startFollower)",
        ...(s ? [`${s.lab.namespaces.length} network namespaces (pvl-${s.lab.id}-*), no link or route to the root namespace`] : []),
    ];
}

const NOTES = [
    "moto evaluates EC2 calls against Resource `*`: the pair role's policy is loaded with its Resources widened (moto proves the actions, the unit tests the resources).",
    "SSH starts at the admin node, which plays the bastion (the hop through it is skipped).",
    "A replaced member keeps its interface id; AWS gives a new instance a new one, which the failover policy follows.",
    "The members reach each other directly on the VPC switch (AWS's VPC router does not decrement TTL; VRRP wants 255).",
];

export async function runPair(onResult?: (r: CheckResult) => void): Promise<FixtureReport> {
    const start = Date.now();
    const base = { source: PAIR_SOURCE, mode: "vpc-routing (pair)", ikeVersions: [2], highlights: {} };
    const motoRoot = await ensureMotoRoot();
    if ("problem" in motoRoot) return { ...base, topology: topology(), notes: NOTES, pushes: [], results: [], error: `moto_server is not available: ${motoRoot.problem}`, seconds: (Date.now() - start) / 1000 };
    let session: PairSession | undefined;
    try {
        session = await startPairSession(motoRoot.root);
    } catch (err) {
        return { ...base, topology: topology(), notes: NOTES, pushes: [], results: [], error: err instanceof Error ? err.message : String(err), seconds: (Date.now() - start) / 1000 };
    }
    const ctx: PairContext = { session };
    const results: CheckResult[] = [];
    try {
        for (const def of PAIR_CHECKS) {
            const r = await runCheck(def, ctx);
            results.push(r);
            onResult?.(r);
        }
    } finally {
        await stopPairSession(session);
    }
    return { ...base, topology: topology(session), notes: NOTES, pushes: session.pushes, results, seconds: (Date.now() - start) / 1000 };
}
