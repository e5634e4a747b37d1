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
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { labUnavailableReason } from "../lab/preflight";
import { benchEvaluationModes, ensureBuilt, EVAL_MODES, ModeResult, ROOT } from "../bench/programModes";
import { evaluationRows, labRows, machineInfo, machineLine, modeRatio, renderTable, type TableRow } from "../bench/report";
import { benchLab, type LabBenchResult } from "../bench/rollout";

const USAGE = `usage: npm run bench -- [options]
  --partners LIST       partner counts to evaluate (default 1,10,50,100)
  --runs N              evaluations per count; the median is reported (default 5)
  --modes LIST          ${EVAL_MODES.map((m) => m.id).join(",")} (default all)
  --lab-repeats N       rollout runs of each way, (a) and (b) alternating (default 3)
  --push-runs N         timed pushes per case (default 5)
  --stream-seconds N    length of each client stream in the rollout runs (default 14)
  --quick               --partners 1 --runs 1 --lab-repeats 1 --push-runs 1 --stream-seconds 6
  --no-eval, --no-lab   skip a part
  --out FILE            default bench-out/bench.json
The lab part needs root on Linux (see npm run lab); without it, it is skipped (LAB_REQUIRED=1: fails).`;

interface Options {
    partners: number[];
    runs: number;
    modes: string[];
    labRepeats: number;
    pushRuns: number;
    streamSeconds: number;
    eval: boolean;
    lab: boolean;
    out: string;
}

function positive(flag: string, text: string | undefined, max: number): number {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag} wants a whole number from 1 to ${max}, got ${text}`);
    return n;
}

export function parseArgs(argv: readonly string[]): Options {
    const quick = argv.includes("--quick");
    const o: Options = {
        partners: quick ? [1] : [1, 10, 50, 100], runs: quick ? 1 : 5, modes: EVAL_MODES.map((m) => m.id),
        labRepeats: quick ? 1 : 3, pushRuns: quick ? 1 : 5, streamSeconds: quick ? 6 : 14, eval: true, lab: true,
        out: path.join(ROOT, "bench-out", "bench.json"),
    };
    for (let i = 0; i < argv.length; i++) {
        const [flag, inline] = argv[i].split(/=(.*)/s, 2);
        const value = () => inline ?? argv[++i];
        switch (flag) {
            case "--quick": break;
            case "--partners": o.partners = String(value()).split(",").map((x) => positive(flag, x, 250)); break;
            case "--runs": o.runs = positive(flag, value(), 50); break;
            case "--modes": {
                o.modes = String(value()).split(",");
                const unknown = o.modes.filter((m) => !EVAL_MODES.some((x) => x.id === m));
                if (unknown.length) throw new Error(`unknown mode(s) ${unknown.join(", ")}`);
                break;
            }
            case "--lab-repeats": o.labRepeats = positive(flag, value(), 20); break;
            case "--push-runs": o.pushRuns = positive(flag, value(), 50); break;
            case "--stream-seconds": o.streamSeconds = positive(flag, value(), 60); break;
            case "--no-eval": o.eval = false; break;
            case "--no-lab": o.lab = false; break;
            case "--out": o.out = path.resolve(String(value())); break;
            default: throw new Error(`unknown argument ${argv[i]}`);
        }
    }
    return o;
}

const log = (line: string) => console.log(line);

async function main(): Promise<number> {
    let o: Options;
    try {
        if (process.argv.includes("--help") || process.argv.includes("-h")) {
            console.log(USAGE);
            return 0;
        }
        o = parseArgs(process.argv.slice(2));
    } catch (err) {
        console.error(`${(err as Error).message}\n${USAGE}`);
        return 2;
    }
    const labReason = o.lab ? labUnavailableReason() : "--no-lab";
    if (o.lab && labReason && process.env.LAB_REQUIRED === "1") {
        console.error(`npm run bench: LAB_REQUIRED=1 but the lab cannot run here: ${labReason}`);
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
    machine.load.end = os.loadavg();

    const table = renderTable(rows);
    console.log(`\npartner-vpn bench, ${startedAt.toISOString()} (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)`);
    console.log(machineLine(machine));
    console.log(table);
    const ratios = "modes" in evaluation ? evaluation.modes.map(modeRatio).filter((r) => r !== undefined) : [];
    const json = { generatedAt: startedAt.toISOString(), options: o, machine, evaluation: { ...evaluation, ratios }, lab, table: rows };
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
