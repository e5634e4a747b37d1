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
    metricsCheck,
    secretsCheck,
    removalCheck,
];

export async function runLabChecks(s: StackSession, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    for (const def of LAB_CHECKS) {
        const r = await runCheck(def, s);
        results.push(r);
        onResult?.(r);
    }
    return results;
}
