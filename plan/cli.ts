/**
 * `npm run plan -- [options]`: the offline plan, the change review against a git ref and the
 * partner handoff sheet. Exit codes: 0 done (also when changes were found), 1 failure (missing
 * file, bad git ref, internal error), 2 invalid stack config (nothing written), 64 bad usage.
 */
import * as path from "path";
import { parseArgs } from "util";
import { formatIssue, type ValidationIssue } from "../core/validate";
import { diffPlans, type PlanChanges } from "./changes";
import { describeChanges } from "./describeChanges";
import { OutputFolderError, writePlanOutput } from "./endpointFiles";
import { handoffSheet } from "./handoff";
import { assertNoSecret, containsSecret, PlaceholderSecrets } from "./placeholderSecrets";
import { planStack, type PlanOutcome } from "./planStack";
import { describePlan } from "./describe";
import { loadConfig, readAtRef, readWorkingTree, resolveSource, StackFileError, type StackSource } from "./stackSource";
import type { StackPlan } from "./types";

export const USAGE = `Usage: npm run plan -- [--stack NAME | --config FILE] [options]

Evaluates the partner-vpn program offline (Pulumi mocks, placeholder secrets, no credentials).

  --stack NAME        read Pulumi.NAME.yaml from the repository (default: dev)
  --config FILE       read a file in stack-file format instead (stack name from Pulumi.NAME.yaml)
  --repo DIR          the repository / project folder (default: the current directory)
  --out DIR           where to write each endpoint's files (default: plan-out/STACK)
  --json              print the plan (or the changes) as one JSON document
  --against REF       review the changes from the stack file at git REF to the working tree
  --handoff PARTNER   print the Markdown handoff sheet for one partner's network team
  -h, --help          this text

Exit codes: 0 done, 1 failure, 2 invalid stack config (every error listed, nothing written), 64 usage.
`;

export interface CliIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
    readonly cwd: string;
    /** Tests pass their own, to search the output for every form of them. Default: fresh ones. */
    readonly secrets?: PlaceholderSecrets;
}

const PROCESS_IO: CliIo = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    cwd: process.cwd(),
};

interface Options {
    readonly stack?: string;
    readonly config?: string;
    readonly repo: string;
    readonly out?: string;
    readonly json: boolean;
    readonly against?: string;
    readonly handoff?: string;
}

class UsageError extends Error {}

function parse(argv: readonly string[], cwd: string): Options | "help" {
    let parsed;
    try {
        parsed = parseArgs({
            args: [...argv],
            strict: true,
            allowPositionals: false,
            options: {
                stack: { type: "string", short: "s" },
                config: { type: "string", short: "c" },
                repo: { type: "string" },
                out: { type: "string", short: "o" },
                json: { type: "boolean", default: false },
                against: { type: "string" },
                handoff: { type: "string" },
                help: { type: "boolean", short: "h", default: false },
            },
        });
    } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    const v = parsed.values;
    if (v.help) return "help";
    if (v.against !== undefined && v.handoff !== undefined) throw new UsageError("--against and --handoff cannot be combined");
    if (v.handoff !== undefined && v.json) throw new UsageError("--handoff prints Markdown; it cannot be combined with --json");
    if (v.out !== undefined && (v.against !== undefined || v.handoff !== undefined)) throw new UsageError("--out applies to the plan only (not --against or --handoff)");
    for (const key of ["stack", "config", "repo", "out", "against", "handoff"] as const) {
        if (v[key] !== undefined && String(v[key]).trim() === "") throw new UsageError(`--${key} needs a value`);
    }
    return {
        stack: v.stack, config: v.config, repo: path.resolve(cwd, v.repo ?? "."), out: v.out,
        json: v.json === true, against: v.against, handoff: v.handoff,
    };
}

export async function runPlanCli(argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
    let opts: Options | "help";
    try {
        opts = parse(argv, io.cwd);
    } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        io.stderr(`plan: ${err.message}\n\n${USAGE}`);
        return 64;
    }
    if (opts === "help") {
        io.stdout(USAGE);
        return 0;
    }
    const secrets = io.secrets ?? new PlaceholderSecrets();
    // Everything printed goes through here, checked for every form of the placeholder secrets.
    const print = (text: string) => {
        assertNoSecret(text, secrets.forms(), "the plan output");
        io.stdout(text);
    };
    try {
        const source = resolveSource(opts);
        if (opts.against !== undefined) return await review(opts, source, secrets, print, io);
        const outcome = await evaluate(source, readWorkingTree(source), source.label, secrets);
        if (!outcome.ok) return invalid(outcome.errors, source.label, io);
        if (opts.handoff !== undefined) return handoff(outcome, opts.handoff, source, print, io);
        return plan(outcome.plan, opts, secrets, print, io);
    } catch (err) {
        if (err instanceof StackFileError) {
            io.stderr(`plan: ${err.message}\nnothing was written\n`);
            return 2;
        }
        const message = err instanceof Error ? err.message : String(err);
        // An error from deep inside (a renderer, the runtime) could quote a value; never a secret.
        io.stderr(`plan: ${containsSecret(message, secrets.forms()) ? "failed (the error message is withheld: it held a placeholder secret)" : message}\n`);
        return 1;
    }
}

async function evaluate(source: StackSource, text: string, label: string, secrets: PlaceholderSecrets): Promise<PlanOutcome> {
    const config = loadConfig(text, label);
    return planStack({ stack: source.stack, source: label, values: config.values, notes: config.notes, warnings: config.warnings, secrets });
}

function invalid(errors: readonly ValidationIssue[], label: string, io: CliIo): number {
    const lines = errors.map((e) => `  - ${formatIssue(e)}`);
    io.stderr(`plan: ${label} has ${errors.length} problem(s); nothing was written:\n${lines.join("\n")}\n`);
    return 2;
}

function plan(result: StackPlan, opts: Options, secrets: PlaceholderSecrets, print: (t: string) => void, io: CliIo): number {
    const outDir = opts.out ?? path.join("plan-out", result.stack);
    const absolute = path.resolve(opts.repo, outDir);
    for (const p of result.partners) {
        for (const f of [...p.files, ...p.scripts]) assertNoSecret(f.content, secrets.forms(), `a file for ${p.name}`);
    }
    const text = opts.json ? `${JSON.stringify({ ...result, outDir: absolute }, null, 2)}\n` : describePlan(result, { outDir: shownPath(io.cwd, absolute) });
    assertNoSecret(text, secrets.forms(), "the plan output");
    try {
        writePlanOutput(absolute, result.partners);
    } catch (err) {
        if (err instanceof OutputFolderError) {
            io.stderr(`plan: ${err.message}\n`);
            return 1;
        }
        throw err;
    }
    print(text);
    return 0;
}

/** Relative to where the user is, unless that means climbing out of it. */
function shownPath(cwd: string, absolute: string): string {
    const relative = path.relative(cwd, absolute);
    return relative === "" ? "." : relative.startsWith("..") || path.isAbsolute(relative) ? absolute : relative;
}

function handoff(outcome: Extract<PlanOutcome, { ok: true }>, partner: string, source: StackSource, print: (t: string) => void, io: CliIo): number {
    const p = outcome.plan.partners.find((x) => x.name === partner);
    const model = outcome.model.partners.find((x) => x.name === partner);
    if (!p || !model) {
        io.stderr(`plan: no partner named "${partner}" in stack ${source.stack}; partners: ${outcome.plan.partners.map((x) => x.name).join(", ")}\n`);
        return 1;
    }
    print(handoffSheet(outcome.model, model, p, outcome.plan.stack));
    return 0;
}

async function review(opts: Options, source: StackSource, secrets: PlaceholderSecrets, print: (t: string) => void, io: CliIo): Promise<number> {
    const ref = opts.against as string;
    const oldText = readAtRef(source, ref);
    const oldLabel = `${source.label} @ ${ref}`;
    const before = oldText === undefined ? undefined : await evaluate(source, oldText, oldLabel, secrets);
    if (before && !before.ok) return invalid(before.errors, oldLabel, io);
    const after = await evaluate(source, readWorkingTree(source), `${source.label} (working tree)`, secrets);
    if (!after.ok) return invalid(after.errors, source.label, io);
    const changes: PlanChanges = diffPlans(before?.plan, after.plan, { from: oldLabel, to: `${source.label} (working tree)`, missingBefore: oldText === undefined });
    print(opts.json ? `${JSON.stringify(changes, null, 2)}\n` : describeChanges(changes));
    return 0;
}
