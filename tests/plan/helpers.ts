/**
 * Shared set-up for the plan tests: the CLI run in-process (with secrets the test knows) or as a
 * child process, plans made straight from stack-file text, and scratch git repositories.
 */
import { execFileSync, spawnSync } from "child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import * as YAML from "yaml";
import { runPlanCli } from "../../plan/cli";
import { PlaceholderSecrets } from "../../plan/placeholderSecrets";
import { planStack, type PlanOutcome } from "../../plan/planStack";
import { loadConfig } from "../../plan/stackSource";
import type { StackPlan } from "../../plan/types";

export const ROOT = path.join(__dirname, "..", "..");
export const DEV_STACKS = ["dev", "dev-classic"] as const;

export function stackText(stack: string): string {
    return readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
}

type Doc = { config: Record<string, unknown> };

/** Edits a stack file's YAML (the whole document, `config:` keys with their namespace). */
export function editStack(text: string, edit: (config: Record<string, unknown>) => void): string {
    const doc = YAML.parse(text) as Doc;
    edit(doc.config);
    return YAML.stringify(doc);
}

export type Partner = Record<string, unknown> & { name: string };

export function partnersOf(config: Record<string, unknown>): Partner[] {
    return config["partner-vpn:partners"] as Partner[];
}

/** A second partner for the dev stacks, in the same subnet, with its own gateway and hosts. */
export function acmePartner(mode: string): Partner {
    const p: Partner = { name: "acme", privateIp: "172.16.0.6", gatewayIp: "110.221.9.1", remoteHosts: ["110.221.10.0/28"] };
    if (mode === "classic-proxy") p.proxies = [{ listenPort: 9090, protocol: "tcp", remoteHost: "110.221.10.1", remotePort: 443 }];
    return p;
}

export async function planText(text: string, secrets: PlaceholderSecrets, stack = "dev"): Promise<PlanOutcome> {
    const loaded = loadConfig(text, `Pulumi.${stack}.yaml`);
    return planStack({ stack, source: `Pulumi.${stack}.yaml`, values: loaded.values, notes: loaded.notes, warnings: loaded.warnings, secrets });
}

export async function planOk(text: string, secrets: PlaceholderSecrets, stack = "dev"): Promise<StackPlan> {
    const outcome = await planText(text, secrets, stack);
    if (!outcome.ok) throw new Error(`expected a valid config, got: ${outcome.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
    return outcome.plan;
}

export interface CliResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** The CLI in this process, with secrets the caller holds. */
export async function runInProcess(args: string[], opts: { cwd?: string; secrets?: PlaceholderSecrets } = {}): Promise<CliResult> {
    let stdout = "";
    let stderr = "";
    const code = await runPlanCli(args, {
        stdout: (t) => { stdout += t; },
        stderr: (t) => { stderr += t; },
        cwd: opts.cwd ?? ROOT,
        secrets: opts.secrets,
    });
    return { code, stdout, stderr };
}

/** The CLI as a user runs it: `ts-node --transpile-only scripts/plan.ts ...` in a child process. */
export function runChild(args: string[], cwd = ROOT): CliResult {
    const result = spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(ROOT, "scripts", "plan.ts"), ...args], {
        cwd, encoding: "utf8", env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") }, timeout: 120_000,
    });
    if (result.error) throw result.error;
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export function tempDir(prefix: string): string {
    return mkdtempSync(path.join(tmpdir(), `pvpn-plan-${prefix}-`));
}

export function removeDir(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
}

/** Every file under a folder, with its text. */
export function filesUnder(dir: string): { file: string; text: string }[] {
    const out: { file: string; text: string }[] = [];
    const walk = (d: string) => {
        for (const name of readdirSync(d)) {
            const p = path.join(d, name);
            if (statSync(p).isDirectory()) walk(p);
            else out.push({ file: p, text: readFileSync(p, "utf8") });
        }
    };
    walk(dir);
    return out;
}

/** A git repository with one commit per stack-file version, for `--against`. */
export function scratchRepo(file: string, versions: readonly string[]): string {
    const dir = tempDir("repo");
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    git("init", "-q");
    git("config", "user.email", "plan-test@example.com");
    git("config", "user.name", "plan test");
    git("config", "commit.gpgsign", "false");
    versions.forEach((text, i) => {
        writeFileSync(path.join(dir, file), text);
        git("add", file);
        git("commit", "-q", "-m", `version ${i + 1}`);
    });
    return dir;
}
