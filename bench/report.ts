/**
 * The benchmark's one table (printed as Markdown, saved in bench-out/bench.json with the raw
 * numbers): the machine, program evaluation per way of running it, the lab's rollout comparison
 * and push times, each row with its goal and whether it was met (null: no goal, or not measured).
 */
import * as fs from "fs";
import * as os from "os";
import type { ModeResult } from "./programModes";
import type { ChangeRun, LabBenchResult, PushTimes, Way } from "./rollout";
import { median } from "./stats";

export interface MachineInfo {
    readonly cores: number;
    readonly cpuModel: string;
    readonly kernel: string;
    readonly node: string;
    /** os.loadavg() (1, 5, 15 min) at the start, after the evaluation part, and at the end. */
    readonly load: Record<string, readonly number[]>;
}

export function machineInfo(): MachineInfo {
    let cpuModel = os.cpus()[0]?.model ?? "unknown";
    try {
        cpuModel = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1].trim() ?? cpuModel;
    } catch {
        // not Linux: os.cpus() has it
    }
    return { cores: os.cpus().length, cpuModel, kernel: `${os.type()} ${os.release()}`, node: process.version, load: { start: os.loadavg() } };
}

export function machineLine(m: MachineInfo): string {
    const load = Object.entries(m.load).map(([when, l]) => `${l.map((x) => x.toFixed(2)).join(" ")} (${when})`).join(", ");
    return `machine: ${m.cores} cores, ${m.cpuModel}, load average ${load}, kernel ${m.kernel}, node ${m.node}`;
}

export interface TableRow {
    readonly part: string;
    readonly measure: string;
    readonly value: string;
    readonly goal: string;
    readonly met: boolean | null;
}

const secs = (x: number) => (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));

export const EVAL_GOAL_SECONDS = 10;
export const EVAL_GOAL_RATIO = 12;

export interface ModeRatio {
    readonly mode: string;
    readonly t10: number;
    readonly t100: number;
    readonly ratio: number;
}

export function modeRatio(m: ModeResult): ModeRatio | undefined {
    const t10 = m.rows.find((r) => r.partners === 10)?.medianSeconds;
    const t100 = m.rows.find((r) => r.partners === 100)?.medianSeconds;
    return t10 && t100 ? { mode: m.mode, t10, t100, ratio: t100 / t10 } : undefined;
}

export function evaluationRows(modes: readonly ModeResult[]): TableRow[] {
    const rows: TableRow[] = [];
    for (const m of modes) {
        for (const r of m.rows) {
            const goal = r.partners === 100 ? `< ${EVAL_GOAL_SECONDS} s` : "";
            rows.push({
                part: "1 evaluation", measure: `${m.label}: ${r.partners} partner(s), ${r.resources} resources`,
                value: `median ${secs(r.medianSeconds)} s (${secs(r.minSeconds)}-${secs(r.maxSeconds)}, ${r.runs} runs)`,
                goal, met: goal ? r.medianSeconds < EVAL_GOAL_SECONDS : null,
            });
        }
        const ratio = modeRatio(m);
        if (ratio) rows.push({ part: "1 evaluation", measure: `${m.label}: t(100)/t(10)`, value: ratio.ratio.toFixed(1), goal: `<= ${EVAL_GOAL_RATIO}`, met: ratio.ratio <= EVAL_GOAL_RATIO });
    }
    return rows;
}

const list = (xs: readonly (number | null)[]) => xs.map((x) => (x === null ? "never" : String(x))).join(", ");

function wayRows(way: Way, runs: readonly ChangeRun[], natIp: string): TableRow[] {
    const mine = runs.filter((r) => r.way === way);
    if (mine.length === 0) return [];
    const tag = way === "ours" ? "(a) the project's apply, replayed (new create, old delete)" : "(b) naive: restart the IPsec daemon, re-create the NAT rules";
    const answered = mine.map((r) => r.secondsUntilNewHost);
    const med = answered.every((x) => x !== null) ? median(answered as number[]) : null;
    const rates = [...new Set(mine.map((r) => r.rate))].join(", ");
    const otherPeers = [...new Set(mine.flatMap((r) => Object.keys(r.newHostPeers)).filter((x) => x !== natIp))];
    const seen = otherPeers.length ? `; answered requests from ${otherPeers.join(", ")} too (not the NAT IP)` : `; every answer saw the NAT IP ${natIp}`;
    return [
        {
            part: "2 rollout", measure: `${tag}: failed requests to the existing host from the change on, per run`,
            value: `${list(mine.map((r) => r.failed))} of ${list(mine.map((r) => r.requests))} (${rates} req/s)`,
            goal: way === "ours" ? "0" : "", met: way === "ours" ? mine.every((r) => r.failed === 0) : null,
        },
        {
            part: "2 rollout", measure: `${tag}: seconds from the change's start until the new host answers`,
            value: `${med === null ? "not every run" : `median ${med.toFixed(2)} s`} (${list(answered)}); failed after its first answer: ${list(mine.map((r) => r.newHostFailedAfterFirstAnswer))}${seen}`,
            // A new host that answers once and then fails is not up: every run must have 0 failures after the first answer.
            goal: way === "ours" ? "< 3 s, then 0 failed" : "", met: way === "ours" ? med !== null && med < 3 && mine.every((r) => r.newHostFailedAfterFirstAnswer === 0) : null,
        },
    ];
}

function pushText(p: PushTimes): string {
    return p.median === null ? "not measured" : `median ${p.median.toFixed(2)} s (${p.samples.map((x) => x.toFixed(2)).join(", ")})`;
}

export function labRows(lab: LabBenchResult | { skipped: string }): TableRow[] {
    if ("skipped" in lab) return [{ part: "2-3 lab", measure: "rollout and push times in the network lab", value: `skipped: ${lab.skipped}`, goal: "", met: null }];
    const rows: TableRow[] = [];
    if (lab.error) rows.push({ part: "2-3 lab", measure: "lab part", value: `stopped: ${lab.error.split("\n")[0]}`, goal: "completes", met: false });
    rows.push(...wayRows("ours", lab.runs, lab.natIp), ...wayRows("naive", lab.runs, lab.natIp));
    const total = (way: Way) => lab.runs.filter((r) => r.way === way).reduce((n, r) => n + r.failed, 0);
    if (lab.runs.some((r) => r.way === "naive")) {
        rows.push({ part: "2 rollout", measure: "(a) fails fewer requests than (b) (totals over the runs)", value: `${total("ours")} vs ${total("naive")}`, goal: "(a) < (b)", met: total("ours") < total("naive") });
    }
    if (lab.pushes.unchanged.median !== null) {
        rows.push({ part: "3 push", measure: "apply over SSH, unchanged config (a no-op)", value: pushText(lab.pushes.unchanged), goal: "< 1 s", met: lab.pushes.unchanged.median < 1 });
        rows.push({ part: "3 push", measure: "apply over SSH, one-host change: add a host", value: pushText(lab.pushes.addHost), goal: "", met: null });
        rows.push({ part: "3 push", measure: "apply over SSH, one-host change: remove it again", value: pushText(lab.pushes.removeHost), goal: "", met: null });
        rows.push({ part: "3 push", measure: "the same ssh running `true` (the connection's share of each push)", value: pushText(lab.pushes.sshOnly), goal: "", met: null });
    }
    return rows;
}

export function renderTable(rows: readonly TableRow[]): string {
    const cells = [["part", "measure", "value", "goal", "met"], ...rows.map((r) => [r.part, r.measure, r.value, r.goal, r.met === null ? "" : r.met ? "yes" : "NO"])];
    const widths = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
    const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(" | ")} |`;
    return [line(cells[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.slice(1).map(line)].join("\n");
}
