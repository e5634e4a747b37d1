/**
 * What the Pulumi engine would run on an endpoint, replayed in the lab: the real program is
 * evaluated under the project's mocks (program/mocks.ts) with the lab's config and secrets, its
 * registered remote commands (`command:remote:Command`) are taken with their inputs, and run over
 * real SSH in dependency order. A change is replayed like the engine does it: for a command whose
 * `triggers` changed, the NEW create (with the new stdin), then the OLD delete
 * (deleteBeforeReplace is false); for other input changes the new create; otherwise nothing.
 */
import { evaluateProgram, isSecretValue, revealSecrets, type Evaluation } from "../program/mocks";
import { secretConfigValues } from "../program/stackFile";
import { run, RunResult } from "./exec";
import { inNetns } from "./netns";
import { LabNode } from "./node";
import { LabSshKeys, sshClientOptions } from "./sshd";

export const COMMAND_TYPE = "command:remote:Command";

export interface RemoteConnection {
    readonly host: string;
    readonly user: string;
    readonly port: number;
    readonly privateKey: string;
    /** A bastion (jump host), when the program set one. */
    readonly proxyHost?: string;
}

export interface RemoteCommand {
    /** `<partner>-bootstrap` or `<partner>-apply`. */
    readonly name: string;
    readonly urn: string;
    readonly create: string;
    readonly delete?: string;
    readonly stdin?: string;
    /** True when the program registered stdin as a secret (the apply script carries the PSK). */
    readonly stdinSecret: boolean;
    readonly triggers: readonly unknown[];
    readonly connection: RemoteConnection;
    readonly dependencies: readonly string[];
    readonly deleteBeforeReplace: boolean;
}

export interface LabSecrets {
    readonly psks: Readonly<Record<string, string>>;
    readonly sshPrivateKey: string;
}

/** Runtime config plus the secrets, as `pulumi config set --secret` would store them. */
export function configWithSecrets(values: Readonly<Record<string, string>>, secrets: LabSecrets): Record<string, string> {
    return { ...values, ...secretConfigValues(secrets) };
}

function asCommand(r: Evaluation["resources"][number]): RemoteCommand {
    const inputs = revealSecrets(r.inputs) as Record<string, unknown>;
    const c = inputs.connection as Record<string, unknown>;
    const proxy = c.proxy as Record<string, unknown> | undefined;
    return {
        name: r.name,
        urn: r.urn,
        create: String(inputs.create),
        delete: inputs.delete === undefined ? undefined : String(inputs.delete),
        stdin: inputs.stdin === undefined ? undefined : String(inputs.stdin),
        stdinSecret: isSecretValue(r.inputs.stdin),
        triggers: (inputs.triggers as unknown[] | undefined) ?? [],
        connection: { host: String(c.host), user: String(c.user), port: Number(c.port ?? 22), privateKey: String(c.privateKey), proxyHost: proxy ? String(proxy.host) : undefined },
        dependencies: r.options.dependencies,
        deleteBeforeReplace: r.options.deleteBeforeReplace,
    };
}

/** The remote commands in an order that respects their dependencies (stable otherwise). */
export function orderByDependencies(commands: readonly RemoteCommand[]): RemoteCommand[] {
    const byUrn = new Map(commands.map((c) => [c.urn, c]));
    const done = new Set<string>();
    const out: RemoteCommand[] = [];
    const visit = (c: RemoteCommand, path: string[]): void => {
        if (done.has(c.urn)) return;
        if (path.includes(c.urn)) throw new Error(`dependency cycle: ${[...path, c.urn].join(" -> ")}`);
        for (const d of c.dependencies) {
            const dep = byUrn.get(d);
            if (dep) visit(dep, [...path, c.urn]);
        }
        done.add(c.urn);
        out.push(c);
    };
    for (const c of commands) visit(c, []);
    return out;
}

export interface ProgramRun {
    readonly evaluation: Evaluation;
    /** What the program logged as warnings (pulumi.log.warn prints them under mocks). */
    readonly warnings: readonly string[];
    /** Every remote command, in dependency order. */
    readonly commands: readonly RemoteCommand[];
}

/** Evaluates the program with the lab's config and secrets and takes its remote commands. */
export async function programCommands(values: Readonly<Record<string, string>>, secrets: LabSecrets): Promise<ProgramRun> {
    // Under mocks the runtime prints warnings with console.warn: keep them for the report instead.
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" ").replace(/^warning: \[runtime\] /, ""));
    let evaluation: Evaluation;
    try {
        evaluation = await evaluateProgram(configWithSecrets(values, secrets), { stack: "lab" });
    } finally {
        console.warn = warn;
    }
    const commands = orderByDependencies(evaluation.resources.filter((r) => r.type === COMMAND_TYPE).map(asCommand));
    if (commands.length === 0) throw new Error("the program registered no remote commands");
    return { evaluation, warnings, commands };
}

export function commandNamed(program: ProgramRun, name: string): RemoteCommand {
    const found = program.commands.find((c) => c.name === name);
    if (!found) throw new Error(`the program registered no command ${name} (it has: ${program.commands.map((c) => c.name).join(", ")})`);
    return found;
}

export type ReplayAction = "create" | "replace" | "update" | "unchanged" | "delete";

export interface ReplayStep {
    readonly action: ReplayAction;
    readonly name: string;
    readonly previous?: RemoteCommand;
    readonly next?: RemoteCommand;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What the engine does with each command going from one evaluation to the next. */
export function replayPlan(previous: readonly RemoteCommand[], next: readonly RemoteCommand[]): ReplayStep[] {
    const steps: ReplayStep[] = [];
    for (const n of next) {
        const p = previous.find((c) => c.urn === n.urn);
        if (!p) steps.push({ action: "create", name: n.name, next: n });
        else if (!same(p.triggers, n.triggers)) steps.push({ action: "replace", name: n.name, previous: p, next: n });
        else if (!same([p.create, p.delete, p.stdin, p.connection], [n.create, n.delete, n.stdin, n.connection])) steps.push({ action: "update", name: n.name, previous: p, next: n });
        else steps.push({ action: "unchanged", name: n.name, previous: p, next: n });
    }
    for (const p of [...previous].reverse()) if (!next.some((n) => n.urn === p.urn)) steps.push({ action: "delete", name: p.name, previous: p });
    return steps;
}

export interface SshTarget {
    readonly admin: LabNode;
    readonly keys: LabSshKeys;
}

/**
 * Runs a command string over ssh from the lab's admin node with the command's connection (host,
 * user, port), stdin fed as the provider feeds it. The private key must be the lab's client key.
 */
export function runRemote(target: SshTarget, connection: RemoteConnection, command: string, stdin: string | undefined, timeoutMs = 90_000): Promise<RunResult> {
    const argv = inNetns(target.admin.ns, ["ssh", ...sshClientOptions(target.keys), "-p", String(connection.port), `${connection.user}@${connection.host}`, command]);
    return run(argv, { input: stdin ?? "", timeoutMs });
}
