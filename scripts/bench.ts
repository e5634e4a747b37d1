/**
 * npm run bench -- [options]
 *
 * Rollout cost and downtime, measured side by side: (1) program evaluation under mocks for N
 * synthetic partners, in a child process per way of running it (ts-node as `pulumi preview` runs
 * it, precompiled bin/ with the runner's source-map support, precompiled under plain node);
 * (2) in the network lab (root), adding a host to a partner under a 20 req/s client stream, the
 * project's way vs the naive way; (3) apply push times over SSH. Prints one table and writes it,
 * with the raw numbers, to bench-out/bench.json. Exit 0 when every part ran (goals met or not),
 * 1 when a part failed, 2 on bad arguments or when LAB_REQUIRED=1 and the lab cannot run.
 * (4) the failover of an active/standby pair (moto_server holds the EC2 side): the active member's
 * machine killed under 20 req/s streams, then powered on again, `--failover-runs` times.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as util from "util";
import { labUnavailableReason } from "../lab/preflight";
import { benchEvaluationModes, ensureBuilt, EVAL_MODES, ModeResult, ROOT } from "../bench/programModes";
import { evaluationRows, labRows, machineInfo, machineLine, modeRatio, renderTable, type TableRow } from "../bench/report";
import { benchFailover, failoverRows, type FailoverBenchResult } from "../bench/failover";
import { benchLab, type LabBenchResult } from "../bench/rollout";

const USAGE = `usage: npm run bench -- [options]
  --partners LIST       partner counts to evaluate (default 1,10,50,100)
  --runs N              evaluations per count; the median is reported (default 5)
  --modes LIST          ${EVAL_MODES.map((m) => m.id).join(",")} (default all)
  --lab-repeats N       rollout runs of each way, (a) and (b) alternating (default 3)
  --push-runs N         timed pushes per case (default 5)
  --stream-seconds N    how long each client stream keeps running after the change in the rollout runs (default 10)
  --failover-runs N     failovers of an active/standby pair, each followed by the killed member's return (default 3)
  --quick               --partners 1 --runs 1 --lab-repeats 1 --push-runs 1 --stream-seconds 4 --failover-runs 1
  --no-eval, --no-lab, --no-failover   skip a part
  --out FILE            default bench-out/bench.json
The lab and failover parts need root on Linux (see npm run lab); without it, they are skipped (LAB_REQUIRED=1: fails).`;

interface Options {
    partners: number[];
    runs: number;
    modes: string[];
    labRepeats: number;
    pushRuns: number;
    streamSeconds: number;
    failoverRuns: number;
    eval: boolean;
    lab: boolean;
    failover: boolean;
    out: string;
}

function positive(flag: string, text: string | undefined, max: number): number {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag} wants a whole number from 1 to ${max}, got ${text}`);
    return n;
}

/** The options, or "help"; throws with a message on a bad argument. */
export function parseArgs(argv: readonly string[]): Options | "help" {
    const { values: v } = util.parseArgs({
        args: [...argv],
        strict: true,
        allowPositionals: false,
        options: {
            quick: { type: "boolean", default: false },
            partners: { type: "string" },
            runs: { type: "string" },
            modes: { type: "string" },
            "lab-repeats": { type: "string" },
            "push-runs": { type: "string" },
            "stream-seconds": { type: "string" },
            "failover-runs": { type: "string" },
            "no-eval": { type: "boolean", default: false },
            "no-lab": { type: "boolean", default: false },
            "no-failover": { type: "boolean", default: false },
            out: { type: "string" },
            help: { type: "boolean", short: "h", default: false },
        },
    });
    if (v.help) return "help";
    const quick = v.quick === true;
    const modes = v.modes === undefined ? EVAL_MODES.map((m) => m.id) : v.modes.split(",");
    const unknown = modes.filter((m) => !EVAL_MODES.some((x) => x.id === m));
    if (unknown.length) throw new Error(`unknown mode(s) ${unknown.join(", ")}`);
    return {
        partners: v.partners === undefined ? (quick ? [1] : [1, 10, 50, 100]) : v.partners.split(",").map((x) => positive("--partners", x, 250)),
        runs: v.runs === undefined ? (quick ? 1 : 5) : positive("--runs", v.runs, 50),
        modes,
        labRepeats: v["lab-repeats"] === undefined ? (quick ? 1 : 3) : positive("--lab-repeats", v["lab-repeats"], 20),
        pushRuns: v["push-runs"] === undefined ? (quick ? 1 : 5) : positive("--push-runs", v["push-runs"], 50),
        streamSeconds: v["stream-seconds"] === undefined ? (quick ? 4 : 10) : positive("--stream-seconds", v["stream-seconds"], 60),
        failoverRuns: v["failover-runs"] === undefined ? (quick ? 1 : 3) : positive("--failover-runs", v["failover-runs"], 20),
        eval: v["no-eval"] !== true,
        lab: v["no-lab"] !== true,
        failover: v["no-failover"] !== true,
        out: path.resolve(v.out ?? path.join(ROOT, "bench-out", "bench.json")),
    };
}

const log = (line: string) => console.log(line);

async function main(): Promise<number> {
    let parsed: Options | "help";
    try {
        parsed = parseArgs(process.argv.slice(2));
    } catch (err) {
        console.error(`${(err as Error).message}\n${USAGE}`);
        return 2;
    }
    if (parsed === "help") {
        console.log(USAGE);
        return 0;
    }
    const o = parsed;
    const rootReason = o.lab || o.failover ? labUnavailableReason() : undefined;
    const labReason = o.lab ? rootReason : "--no-lab";
    const failoverReason = o.failover ? rootReason : "--no-failover";
    if ((o.lab || o.failover) && rootReason && process.env.LAB_REQUIRED === "1") {
        console.error(`npm run bench: LAB_REQUIRED=1 but the lab cannot run here: ${rootReason}`);
        return 2;
    }
    const startedAt = new Date();
    const machine = machineInfo();
    const rows: TableRow[] = [];
    let failed = false;
    let evaluation: { build?: string; modes: ModeResult[] } | { skipped: string } | { error: string } = { skipped: "--no-eval" };
    if (o.eval) {
        try {
            const modes = EVAL_MODES.filter((m) => o.modes.includes(m.id));
            const build = modes.some((m) => m.needsBuild) ? await ensureBuilt(log) : undefined;
            const results = await benchEvaluationModes(modes, o.partners, o.runs, log);
            evaluation = { build, modes: results };
            rows.push(...evaluationRows(results));
        } catch (err) {
            failed = true;
            evaluation = { error: (err as Error).message };
            rows.push({ part: "1 evaluation", measure: "program evaluation", value: `failed: ${(err as Error).message.split("\n")[0]}`, goal: "completes", met: false });
        }
        machine.load["after evaluation"] = os.loadavg();
    }
    let lab: LabBenchResult | { skipped: string } = { skipped: labReason ?? "" };
    if (!labReason) {
        lab = await benchLab({ repeats: o.labRepeats, pushRuns: o.pushRuns, streamSeconds: o.streamSeconds, leadMs: o.streamSeconds >= 10 ? 2000 : 1000 }, log);
        if (lab.error) failed = true;
    }
    rows.push(...labRows(lab));
    let failover: FailoverBenchResult | { skipped: string } = { skipped: failoverReason ?? "" };
    if (!failoverReason) {
        failover = await benchFailover(o.failoverRuns, log);
        if ("error" in failover && failover.error) failed = true;
        if ("skipped" in failover && process.env.LAB_REQUIRED === "1") failed = true;
    }
    rows.push(...failoverRows(failover));
    machine.load.end = os.loadavg();

    const table = renderTable(rows);
    console.log(`\npartner-vpn bench, ${startedAt.toISOString()} (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)`);
    console.log(machineLine(machine));
    console.log(table);
    const ratios = "modes" in evaluation ? evaluation.modes.map(modeRatio).filter((r) => r !== undefined) : [];
    const json = { generatedAt: startedAt.toISOString(), options: o, machine, evaluation: { ...evaluation, ratios }, lab, failover, table: rows };
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    fs.writeFileSync(o.out, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`written to ${path.relative(process.cwd(), o.out)}`);
    return failed ? 1 : 0;
}

if (require.main === module) {
    main()
        .then((code) => {
            process.exitCode = code;
        })
        .catch((err) => {
            console.error(err);
            process.exitCode = 1;
        });
}
