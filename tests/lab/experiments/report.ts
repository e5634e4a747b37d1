/**
 * Helpers for the design experiments: a markdown report of commands and what they printed, SA
 * snapshots to compare SPIs before and after a change, and the charon log written since a mark.
 */
import * as fs from "fs";
import { ChildSaState, IkeSaState, listSas } from "../../../lab/strongswan";
import { LabNode } from "../../../lab/node";
import { RequestRecord, summarizeStream } from "../../../lab/traffic";

export class Report {
    private readonly lines: string[] = [];

    constructor(readonly title: string) {
        this.lines.push(`## ${title}`, "");
    }

    say(text: string): void {
        this.lines.push(text, "");
        console.log(text);
    }

    /** A command (or script) and its output, verbatim. */
    command(where: string, command: string, output: string, exitCode?: number | null): void {
        const code = exitCode === undefined ? "" : ` (exit ${exitCode})`;
        this.lines.push(`\`${where}\`$ ${command.includes("\n") ? "" : command}${code}`);
        if (command.includes("\n")) this.lines.push("```sh", command.trimEnd(), "```");
        this.lines.push("```", output.trimEnd() || "(no output)", "```", "");
        console.log(`[${where}] ${command.split("\n")[0]}${code}\n${output.trimEnd()}`);
    }

    finding(text: string): void {
        this.lines.push(`**Finding:** ${text}`, "");
        console.log(`FINDING: ${text}`);
    }

    data(label: string, value: unknown): void {
        const text = JSON.stringify(value, null, 1);
        this.lines.push(`${label}:`, "```json", text, "```", "");
        console.log(`${label}: ${text}`);
    }

    markdown(): string {
        return this.lines.join("\n");
    }
}

export interface SaSnapshot {
    readonly ike: Array<Pick<IkeSaState, "name" | "uniqueId" | "state" | "spiInitiator" | "spiResponder">>;
    readonly children: Array<Pick<ChildSaState, "name" | "uniqueId" | "state" | "spiIn" | "spiOut">>;
}

export async function snapshotSas(node: LabNode): Promise<SaSnapshot> {
    const { sas } = await listSas(node);
    return {
        ike: sas.map(({ name, uniqueId, state, spiInitiator, spiResponder }) => ({ name, uniqueId, state, spiInitiator, spiResponder })),
        children: sas.flatMap((s) => s.children.map(({ name, uniqueId, state, spiIn, spiOut }) => ({ name, uniqueId, state, spiIn, spiOut }))),
    };
}

/** Children present in both snapshots with identical SPIs, and those that changed. */
export function compareChildren(before: SaSnapshot, after: SaSnapshot): { same: string[]; changed: string[]; added: string[]; removed: string[] } {
    const key = (c: SaSnapshot["children"][number]): string => `${c.name} #${c.uniqueId} ${c.spiIn}/${c.spiOut}`;
    const beforeKeys = new Set(before.children.map(key));
    const afterKeys = new Set(after.children.map(key));
    const beforeNames = new Set(before.children.map((c) => c.name));
    const afterNames = new Set(after.children.map((c) => c.name));
    return {
        same: [...beforeKeys].filter((k) => afterKeys.has(k)),
        changed: [...afterKeys].filter((k) => !beforeKeys.has(k) && beforeNames.has(k.split(" ")[0])),
        added: [...afterNames].filter((n) => !beforeNames.has(n)),
        removed: [...beforeNames].filter((n) => !afterNames.has(n)),
    };
}

/** A position in a log file, to read what was written after it. */
export function logMark(path: string): number {
    try {
        return fs.statSync(path).size;
    } catch {
        return 0;
    }
}

/** Lines written to the log since `mark` that match `pattern` (at most `max`). */
export function logSince(path: string, mark: number, pattern: RegExp, max = 40): string[] {
    const fd = fs.openSync(path, "r");
    try {
        const size = fs.fstatSync(fd).size;
        const buf = Buffer.alloc(Math.max(0, size - mark));
        fs.readSync(fd, buf, 0, buf.length, mark);
        return buf
            .toString()
            .split("\n")
            .filter((l) => pattern.test(l))
            .slice(0, max);
    } finally {
        fs.closeSync(fd);
    }
}

/** The stream summary without the per-request records, for the report. */
export function streamFacts(records: readonly RequestRecord[]): Record<string, unknown> {
    const s = summarizeStream(records);
    const first = records.length ? Math.min(...records.map((r) => r.start)) : 0;
    return {
        total: s.total,
        ok: s.ok,
        failed: s.failed,
        measuredRate: s.rate,
        peersSeen: s.peers,
        errors: s.errors,
        failureRuns: s.failureRuns.map(([a, b, n]) => ({ fromS: (a - first) / 1000, toS: (b - first) / 1000, count: n })),
    };
}
