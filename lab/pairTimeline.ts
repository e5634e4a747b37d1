/**
 * Reading a pair's timeline (pure, unit-tested in tests/unit/lab.ha.test.ts): where moto had the
 * tunnel EIP at a moment and when it moved, by the follower's samples (lab/haLab.ts), and how long
 * an outage lasted by a request stream's records.
 */
import type { Follower } from "./haLab";
import { secondsUntilFirstSuccess, type RequestRecord } from "./traffic";

/** Every moto sample in which the EIP's interface differed from the sample before: [epoch ms, interface ("" = none)]. */
export function eipMoves(changes: Follower["changes"], fromMs: number, toMs: number): { at: number; eni: string }[] {
    const sorted = [...changes].sort((a, b) => a.at - b.at);
    const moves: { at: number; eni: string }[] = [];
    let previous: string | undefined;
    for (const c of sorted) {
        if (previous !== undefined && c.eip !== previous && c.at >= fromMs && c.at <= toMs) moves.push({ at: c.at, eni: c.eip });
        previous = c.eip;
    }
    return moves;
}

/** The EIP's interface in moto at `atMs` by the follower's samples (undefined before the first). */
export function eipAt(changes: Follower["changes"], atMs: number): string | undefined {
    const before = changes.filter((c) => c.at <= atMs).sort((a, b) => a.at - b.at);
    return before.length ? before[before.length - 1].eip : undefined;
}

/**
 * Seconds from `sinceMs` until traffic flowed again after the outage that started then: from the
 * first failed request started at or after `sinceMs` to the first success after it (requests in
 * flight at the event may still complete through the dying member's kernel). 0 if nothing failed;
 * undefined if it never recovered.
 */
export function recoverySeconds(records: readonly RequestRecord[], sinceMs: number): number | undefined {
    const firstFailure = records.filter((r) => !r.ok && r.start >= sinceMs).sort((a, b) => a.start - b.start)[0];
    if (!firstFailure) return 0;
    const after = secondsUntilFirstSuccess(records, firstFailure.start);
    return after === undefined ? undefined : after + (firstFailure.start - sinceMs) / 1000;
}
