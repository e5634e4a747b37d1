/**
 * Every lab check, in the order they run against one session: each leaves the endpoint in a
 * known config (or establishes the one it needs first), so a failed check does not cascade.
 */
import { CheckDefinition, CheckResult, runCheck } from "../checkResult";
import type { StackSession } from "../stackSession";
import { naiveChangeCheck, zeroDowntimeCheck } from "./changes";
import { negativeControlCheck, trafficCheck, tunnelsCheck } from "./connectivity";
import { badNginxPushCheck, badStrongswanPushCheck, idempotenceCheck } from "./pushes";
import { bootstrapCheck, rebootCheck } from "./machine";
import { metricsCheck } from "./metrics";
import { largePacketsCheck } from "./largePackets";
import { interruptedStagedCheck, interruptedSwitchedCheck, removalCheck } from "./recovery";
import { ourRestartCheck, partnerOutageCheck, partnerRestartCheck } from "./resilience";
import { secretsCheck } from "./secrets";

export const LAB_CHECKS: readonly CheckDefinition<StackSession>[] = [
    bootstrapCheck,
    tunnelsCheck,
    trafficCheck,
    negativeControlCheck,
    idempotenceCheck,
    badStrongswanPushCheck,
    badNginxPushCheck,
    zeroDowntimeCheck,
    naiveChangeCheck,
    interruptedStagedCheck,
    interruptedSwitchedCheck,
    rebootCheck,
    ourRestartCheck,
    partnerRestartCheck,
    partnerOutageCheck,
    largePacketsCheck,
    metricsCheck,
    secretsCheck,
    removalCheck,
];

/**
 * The checks that can run against Libreswan endpoints: the machine ones. Every other check needs
 * packages through the tunnel, which a Libreswan endpoint cannot carry on a kernel without ESP.
 */
export const LIBRESWAN_CHECKS: readonly string[] = ["bootstrap", "reboot"];

/** The checks for a session's config (all of them, or LIBRESWAN_CHECKS for Libreswan endpoints). */
export function applicableChecks(s: Pick<StackSession, "model">): readonly CheckDefinition<StackSession>[] {
    const libreswan = s.model.partners.some((p) => p.ipsecDaemon === "libreswan");
    return libreswan ? LAB_CHECKS.filter((def) => LIBRESWAN_CHECKS.includes(def.id)) : LAB_CHECKS;
}

export async function runLabChecks(s: StackSession, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    if (applicableChecks(s) !== LAB_CHECKS) s.notes.push(`Libreswan endpoints: only the ${LIBRESWAN_CHECKS.join(" and ")} checks run (no ESP in this kernel, none in Libreswan's userspace: no packet crosses its tunnels here).`);
    for (const def of applicableChecks(s)) {
        const r = await runCheck(def, s);
        results.push(r);
        onResult?.(r);
    }
    return results;
}
