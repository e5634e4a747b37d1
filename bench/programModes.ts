/**
 * Program evaluation measured the ways the program can actually be run, each in a fresh child
 * process (bench/evaluateChild.ts):
 * - ts-node: TypeScript through ts-node with source maps, preloaded as Pulumi's nodejs runner does
 *   (its `source-map-support/register`, then ts-node's own). This is `pulumi preview` today.
 * - compiled + runner source maps: the tsc output in bin/ with the same `source-map-support` the
 *   runner always installs: what `pulumi preview` would pay with a precompiled `main: bin/`
 *   (@pulumi's own .js files ship .js.map files, so their stack frames are still mapped).
 * - compiled: the tsc output in bin/ under plain node, no source-map support at all.
 * The runner type-checks unless told not to; that is start-up cost, which the untimed warm-up run
 * keeps out of the numbers, so ts-node runs transpile-only here.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { EvaluationRow } from "./evaluation";
import { ROWS_PREFIX } from "./evaluateChild";

export const ROOT = path.join(__dirname, "..");
const BUILT_CHILD = path.join("bin", "bench", "evaluateChild.js");

export type EvalModeId = "ts-node" | "compiled-runner-sourcemaps" | "compiled";

export interface EvalMode {
    readonly id: EvalModeId;
    readonly label: string;
    readonly needsBuild: boolean;
    readonly argv: (counts: readonly number[], runs: number) => string[];
}

/** The source-map-support that @pulumi/pulumi's runner (cmd/run) requires, resolved from there. */
function runnerSourceMapSupport(): string {
    const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [ROOT] }));
    return require.resolve("source-map-support/register", { paths: [pulumiDir] });
}

const childArgs = (counts: readonly number[], runs: number) => [counts.join(","), String(runs)];

export const EVAL_MODES: readonly EvalMode[] = [
    {
        id: "ts-node",
        label: "TypeScript via ts-node + source maps (as `pulumi preview` runs it today)",
        needsBuild: false,
        argv: (counts, runs) => [process.execPath, "-r", runnerSourceMapSupport(), "-r", "ts-node/register/transpile-only", path.join("bench", "evaluateChild.ts"), ...childArgs(counts, runs)],
    },
    {
        id: "compiled-runner-sourcemaps",
        label: "precompiled bin/ + the runner's source-map-support (`pulumi preview` with main: bin/)",
        needsBuild: true,
        argv: (counts, runs) => [process.execPath, "-r", runnerSourceMapSupport(), BUILT_CHILD, ...childArgs(counts, runs)],
    },
    {
        id: "compiled",
        label: "precompiled bin/, plain node (no source maps)",
        needsBuild: true,
        argv: (counts, runs) => [process.execPath, BUILT_CHILD, ...childArgs(counts, runs)],
    },
];

export interface ChildResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly timedOut: boolean;
}

/** Runs a command in ROOT with a hard time bound; stderr lines are passed on as they come. */
export function runChild(argv: readonly string[], timeoutMs: number, onStderrLine: (line: string) => void = () => undefined): Promise<ChildResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let pending = "";
        let timedOut = false;
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => {
            stderr += d.toString();
            pending += d.toString();
            const lines = pending.split("\n");
            pending = lines.pop() ?? "";
            lines.forEach(onStderrLine);
        });
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, timeoutMs);
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr, timedOut });
        });
    });
}

function newestMtime(target: string): number {
    const stat = fs.statSync(target);
    if (!stat.isDirectory()) return stat.mtimeMs;
    return fs.readdirSync(target).reduce((newest, entry) => Math.max(newest, newestMtime(path.join(target, entry))), stat.mtimeMs);
}

/** Builds bin/ (`npm run build`) unless it is newer than every source it is built from. */
export async function ensureBuilt(log: (line: string) => void): Promise<"built" | "up to date"> {
    const built = path.join(ROOT, BUILT_CHILD);
    const sources = ["index.ts", "program", "core", "components", path.join("bench", "evaluation.ts"), path.join("bench", "evaluateChild.ts"), path.join("scripts", "endpoint"), "tsconfig.json", "tsconfig.build.json", "package-lock.json"];
    const newestSource = Math.max(...sources.map((s) => path.join(ROOT, s)).filter(fs.existsSync).map(newestMtime));
    if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= newestSource) return "up to date";
    log("building bin/ (npm run build: tsc -p tsconfig.build.json, plus the endpoint scripts)");
    const r = await runChild(["npm", "run", "-s", "build"], 5 * 60_000);
    if (r.code !== 0) throw new Error(`npm run build failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}):\n${(r.stdout + r.stderr).slice(-3000)}`);
    return "built";
}

export interface ModeResult {
    readonly mode: EvalModeId;
    readonly label: string;
    readonly rows: readonly EvaluationRow[];
}

/** One child process per mode; each evaluates every count `runs` times after an untimed warm-up. */
export async function benchEvaluationModes(modes: readonly EvalMode[], counts: readonly number[], runs: number, log: (line: string) => void): Promise<ModeResult[]> {
    const results: ModeResult[] = [];
    for (const mode of modes) {
        log(`evaluation, ${mode.label}:`);
        const r = await runChild(mode.argv(counts, runs), 20 * 60_000, (line) => {
            if (line.startsWith("evaluated ")) log(`  ${line}`);
        });
        const line = r.stdout.split("\n").find((l) => l.startsWith(ROWS_PREFIX));
        if (r.code !== 0 || !line) {
            throw new Error(`evaluation child (${mode.id}) failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}):\n${r.stderr.slice(-3000)}`);
        }
        results.push({ mode: mode.id, label: mode.label, rows: JSON.parse(line.slice(ROWS_PREFIX.length)) as EvaluationRow[] });
    }
    return results;
}
