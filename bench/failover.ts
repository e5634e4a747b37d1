/**
 * The failover part of the benchmark (root, Linux, moto_server): one active/standby pair on booted
 * Debian 13 images (lab/haSession.ts), provisioned by the program's own commands. Each run kills
 * the active member's machine under 20 req/s streams to both partner hosts (lab/haChecks.ts
 * measureFailover), then powers it on again from its disk (measureFailoverBack), which puts the
 * pair back for the next run, the other way round. Reports, per run: seconds from the kill to moto
 * holding the EIP on the survivor, to the first answer from each host, requests lost; and for the
 * return: requests failed and EIP moves (both should be 0).
 */
import { measureFailover, measureFailoverBack, type FailoverBackResult, type FailoverResult } from "../lab/haChecks";
import { startPairSession, stopPairSession, type PairSession } from "../lab/haSession";
import { ensureMotoRoot } from "../lab/moto";
import { median } from "./stats";
import type { TableRow } from "./report";

export interface FailoverRun {
    readonly failover: FailoverResult;
    readonly back: FailoverBackResult;
}

export interface FailoverBenchResult {
    readonly runs: readonly FailoverRun[];
    /** Set when the part stopped early (the runs so far are kept). */
    readonly error?: string;
    readonly seconds: number;
}

export async function benchFailover(runs: number, log: (line: string) => void): Promise<FailoverBenchResult | { skipped: string }> {
    const started = Date.now();
    const motoRoot = await ensureMotoRoot();
    if ("problem" in motoRoot) return { skipped: `moto_server is not available: ${motoRoot.problem}` };
    const done: FailoverRun[] = [];
    let session: PairSession | undefined;
    let error: string | undefined;
    try {
        log("failover: provisioning the pair (two booted Debian 13 images, moto)");
        session = await startPairSession(motoRoot.root);
        for (let i = 0; i < runs; i++) {
            const failover = await measureFailover(session);
            const back = await measureFailoverBack(session, failover.killed);
            done.push({ failover, back });
            log(`failover run ${i + 1}/${runs}: first answers ${failover.recoveredSeconds.map((x) => x?.toFixed(2)).join(", ")} s, ${failover.failed} lost; back: ${back.failed} failed, ${back.moves} moves`);
        }
    } catch (err) {
        error = (err as Error).message;
    } finally {
        await stopPairSession(session);
    }
    return { runs: done, error, seconds: (Date.now() - started) / 1000 };
}

const list = (xs: readonly (number | undefined)[]) => xs.map((x) => (x === undefined ? "never" : x.toFixed(2))).join(", ");

export function failoverRows(result: FailoverBenchResult | { skipped: string }): TableRow[] {
    const part = "4 failover";
    if ("skipped" in result) return [{ part, measure: "active/standby pair failover", value: `skipped: ${result.skipped}`, goal: "", met: null }];
    const rows: TableRow[] = [];
    if (result.error) rows.push({ part, measure: "failover part", value: `stopped: ${result.error.split("\n")[0]}`, goal: "completes", met: false });
    if (result.runs.length === 0) return rows;
    // A run's time is its slower partner host; a host that never answered makes the run fail the goal.
    const perRun = result.runs.map((r) => (r.failover.recoveredSeconds.some((x) => x === undefined) ? undefined : Math.max(...(r.failover.recoveredSeconds as number[]))));
    const measured = perRun.filter((x): x is number => x !== undefined);
    const med = median(measured);
    const moved = result.runs.map((r) => r.failover.eipMovedSeconds);
    rows.push(
        {
            part, measure: "kill the active member's machine -> first answer through the standby (slower host), median (runs)",
            value: `${med === null ? "not measured" : `${med.toFixed(2)} s`} (${list(perRun)})`, goal: "< 15 s", met: med !== null && measured.length === perRun.length && Math.max(...measured) < 15,
        },
        { part, measure: "kill -> moto holds the EIP on the standby, median (runs)", value: `${median(moved.filter((x): x is number => x !== undefined))?.toFixed(2) ?? "not measured"} s (${list(moved)})`, goal: "", met: null },
        { part, measure: "requests lost per failover (20 req/s to each of 2 hosts)", value: result.runs.map((r) => `${r.failover.failed} of ${r.failover.total}`).join(", "), goal: "", met: null },
        {
            part, measure: "killed member back from its disk: failed requests, EIP moves",
            value: result.runs.map((r) => `${r.back.failed} failed, ${r.back.moves} moves`).join("; "), goal: "0, 0", met: result.runs.every((r) => r.back.failed === 0 && r.back.moves === 0),
        },
    );
    return rows;
}
