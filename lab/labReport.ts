/**
 * The lab's report in Markdown: a summary table per fixture, the add-a-host comparison (ours vs
 * naive), then per fixture the topology, what the lab did instead of production, every push and
 * every check with each measured value. Printed and saved to lab-out/report-<time>.md.
 */
import { runSyncResult } from "./exec";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { CheckResult } from "./checkResult";
import type { PushRecord } from "./stackSession";

export interface FixtureReport {
    readonly source: string;
    readonly mode: string;
    readonly ikeVersions: readonly number[];
    readonly topology: readonly string[];
    readonly notes: readonly string[];
    readonly pushes: readonly PushRecord[];
    readonly results: readonly CheckResult[];
    readonly highlights: Readonly<Record<string, string>>;
    /** Set when the lab could not even be provisioned. */
    readonly error?: string;
    readonly seconds: number;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n+/g, " ").trim();
const mark = (status: string) => (status === "passed" ? "PASSED" : status === "skipped" ? "skipped" : "**FAILED**");

const PACKAGES = ["strongswan-charon", "strongswan-swanctl", "nginx-light", "libnginx-mod-stream", "iptables", "openssh-server"];

/** The packages the lab runs, with versions (Debian); "unknown" elsewhere. */
function packageVersions(): string {
    const r = runSyncResult(["dpkg-query", "-W", "-f", "${Package} ${Version}\n", ...PACKAGES], { timeoutMs: 5000 });
    return r.stdout.trim().split("\n").filter(Boolean).join(", ") || "package versions unknown";
}

export function fixturePassed(f: FixtureReport): boolean {
    return !f.error && f.results.length > 0 && f.results.every((r) => r.status !== "failed");
}

export function renderReport(fixtures: readonly FixtureReport[], startedAt: Date, seconds: number): string {
    const allPassed = fixtures.length > 0 && fixtures.every(fixturePassed);
    const failed = fixtures.flatMap((f) => (f.error ? [`${path.basename(f.source)}: provisioning`] : f.results.filter((r) => r.status === "failed").map((r) => `${path.basename(f.source)}: ${r.id}`)));
    const out: string[] = [
        `# partner-vpn lab report`,
        "",
        `- started ${startedAt.toISOString()}, took ${seconds.toFixed(1)} s`,
        `- host: Linux ${os.release()}, ${os.cpus().length} CPUs, Node ${process.version}; ${packageVersions()}`,
        `- **result: ${allPassed ? "every check passed" : `FAILED: ${failed.join(", ") || "no checks ran"}`}**`,
        "",
        "## Summary",
        "",
        "| fixture | mode | IKE | check | result | measured | s |",
        "|---|---|---|---|---|---|---|",
    ];
    for (const f of fixtures) {
        const name = path.basename(f.source);
        const ike = f.ikeVersions.map((v) => `IKEv${v}`).join(", ");
        if (f.error) out.push(`| ${name} | ${f.mode} | ${ike} | provisioning | **FAILED** | ${cell(f.error.slice(0, 300))} | ${f.seconds.toFixed(1)} |`);
        for (const r of f.results) {
            const verdicts = r.measures.filter((m) => !m.info);
            const bad = verdicts.filter((m) => !m.ok).length;
            const summary = r.status === "skipped" ? r.reason ?? "" : `${verdicts.length - bad}/${verdicts.length} measurements as required${r.error ? `; error: ${r.error}` : ""}`;
            out.push(`| ${name} | ${f.mode} | ${ike} | ${r.id} | ${mark(r.status)} | ${cell(summary)} | ${r.seconds.toFixed(1)} |`);
        }
    }
    const highlights = fixtures.flatMap((f) => Object.entries(f.highlights).map(([k, v]) => [path.basename(f.source), k, v]));
    if (highlights.length) {
        out.push("", "## Add a host under a 20 req/s stream: ours (replayed replace) vs naive (restart charon, flush NAT)", "", "| fixture | partner, way: what | value |", "|---|---|---|");
        for (const [f, k, v] of highlights) out.push(`| ${f} | ${cell(k)} | ${cell(v)} |`);
    }
    for (const f of fixtures) out.push("", ...fixtureSection(f));
    out.push("");
    return out.join("\n");
}

function fixtureSection(f: FixtureReport): string[] {
    const out = [`## ${path.basename(f.source)} (${f.mode}; ${f.ikeVersions.map((v) => `IKEv${v}`).join(", ")})`, "", `Config: \`${f.source}\``, ""];
    out.push("### Topology", "", ...f.topology.map((t) => `- ${t}`), "");
    out.push("### What the lab did differently from production", "", ...f.notes.map((n) => `- ${n}`), "");
    if (f.error) out.push("### Provisioning FAILED", "", "```", f.error, "```", "");
    if (f.pushes.length) {
        out.push("### Every push over SSH", "", "| # | during | command | exit | s | the scripts said |", "|---|---|---|---|---|---|");
        f.pushes.forEach((p, i) => out.push(`| ${i + 1} | ${cell(p.what)} | ${cell(p.command)} | ${p.code ?? "killed"} | ${p.seconds.toFixed(2)} | ${cell(p.log.join(" / ")) || "-"} |`));
        out.push("");
    }
    out.push("### Checks", "");
    for (const r of f.results) {
        out.push(`#### ${r.id}: ${r.title} - ${mark(r.status)} (${r.seconds.toFixed(1)} s)`, "");
        if (r.status === "skipped") {
            out.push(`Skipped: ${r.reason}`, "");
            continue;
        }
        if (r.error) out.push(`Error: \`${cell(r.error)}\``, "");
        out.push("| measured | value | verdict |", "|---|---|---|");
        for (const m of r.measures) out.push(`| ${cell(m.label)} | ${cell(m.value)} | ${m.info ? "info" : m.ok ? "ok" : "**NOT OK**"} |`);
        out.push("", ...r.details.map((d) => `- ${d}`));
    }
    return out;
}

/** Writes the report to lab-out/report-<time>.md under `root`; returns the file. */
export function saveReport(markdown: string, root: string, startedAt: Date): string {
    const dir = path.join(root, "lab-out");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `report-${startedAt.toISOString().replace(/[:.]/g, "-")}.md`);
    fs.writeFileSync(file, markdown);
    return file;
}
