/**
 * Running commands for the lab: every command has a time bound, every long-running process is
 * registered with the cleanup registry the moment it is spawned, so nothing outlives the lab.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { registerProcess, unregisterProcess } from "./cleanup";

export interface RunResult {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
    /** True when the command was killed because it ran past its time bound. */
    readonly timedOut: boolean;
}

export interface RunOptions {
    /** Hard time bound; the process group is killed after it. Default 15 s (30 s for `runSyncResult`). */
    readonly timeoutMs?: number;
    /** Written to stdin, then stdin is closed. */
    readonly input?: string;
    readonly env?: NodeJS.ProcessEnv;
    readonly cwd?: string;
}

/** The command line of a result, for error messages and experiment reports. */
export function formatCommand(argv: readonly string[]): string {
    return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
}

export class CommandError extends Error {
    constructor(
        readonly argv: readonly string[],
        readonly result: RunResult,
    ) {
        super(
            `command failed (${result.timedOut ? "timed out" : `exit ${result.code ?? result.signal}`}): ` +
                `${formatCommand(argv)}\n${result.stderr.trim() || result.stdout.trim()}`,
        );
    }
}

/**
 * Runs a command to completion with a time bound. The child gets its own process group so that a
 * timeout kills whatever it forked too (e.g. `ip netns exec` -> ssh -> ...).
 */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), {
            detached: true,
            stdio: ["pipe", "pipe", "pipe"],
            env: options.env ?? process.env,
        });
        if (child.pid !== undefined) registerProcess(child.pid, formatCommand(argv));
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.stdin.on("error", () => undefined); // the command may exit before reading its input
        child.stdin.end(options.input ?? "");
        const timer = setTimeout(() => {
            timedOut = true;
            killGroup(child, "SIGKILL");
        }, timeoutMs);
        child.on("error", (err) => {
            clearTimeout(timer);
            if (child.pid !== undefined) unregisterProcess(child.pid);
            reject(err);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            if (child.pid !== undefined) unregisterProcess(child.pid);
            resolve({ code, signal, stdout, stderr, timedOut });
        });
    });
}

/** Like `run` but throws a CommandError unless the exit code is 0. */
export async function runOk(argv: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await run(argv, options);
    if (result.code !== 0) throw new CommandError(argv, result);
    return result.stdout;
}

/**
 * The synchronous runner (setup steps, exit handlers, the tool tests' sequential steps): runs to
 * completion, KILLed after `timeoutMs` (default 30 s); never throws for the command's own failure.
 */
export function runSyncResult(argv: readonly string[], options: RunOptions = {}): RunResult {
    const r = spawnSync(argv[0], argv.slice(1), {
        input: options.input ?? "",
        timeout: options.timeoutMs ?? 30_000,
        killSignal: "SIGKILL",
        encoding: "utf8",
        env: options.env ?? process.env,
        cwd: options.cwd,
        maxBuffer: 64 * 1024 * 1024,
    });
    const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
    const extra = r.error ? `\n[${r.error.message}]` : "";
    return { code: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + extra, timedOut };
}

/** `runSyncResult` that throws a CommandError unless the exit code is 0; returns stdout. */
export function runSync(argv: readonly string[], options: RunOptions = {}): string {
    const r = runSyncResult(argv, options);
    if (r.code !== 0) throw new CommandError(argv, r);
    return r.stdout;
}

/** A command and everything it printed, for assertion messages. */
export function describeRun(argv: readonly string[], r: RunResult): string {
    return `${argv.join(" ")} -> exit ${r.code}${r.timedOut ? " (timed out)" : ""}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Signals a child's whole process group (it was spawned detached, so it leads one). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
        process.kill(-child.pid, signal);
    } catch {
        // already gone
    }
}

export interface LongRunning {
    readonly child: ChildProcess;
    readonly pid: number;
    /** Resolves when the process has exited (with its exit code, or null when signalled). */
    readonly exited: Promise<number | null>;
    /** Everything it wrote so far (stdout and stderr interleaved, capped). */
    output(): string;
    /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
    stop(graceMs?: number): Promise<void>;
}

const OUTPUT_CAP = 1 << 20;

/**
 * Spawns a daemon-like process (charon, sshd, a test server) in its own process group and
 * registers it for cleanup. `onLine` sees each stdout line (for readiness and result records);
 * `input`, when given, is written to its stdin (then closed): secrets never go into argv.
 */
export function spawnLongRunning(argv: readonly string[], onLine?: (line: string) => void, env?: NodeJS.ProcessEnv, input?: string): LongRunning {
    const stdin = input === undefined ? "ignore" : "pipe";
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: [stdin, "pipe", "pipe"], env: env ? { ...process.env, ...env } : process.env });
    if (child.pid === undefined) throw new Error(`could not spawn ${formatCommand(argv)}`);
    const pid = child.pid;
    registerProcess(pid, formatCommand(argv));
    if (input !== undefined && child.stdin) {
        child.stdin.on("error", () => undefined); // it may exit before reading its input
        child.stdin.end(input);
    }
    let output = "";
    let partial = "";
    const append = (d: Buffer): void => {
        if (output.length < OUTPUT_CAP) output += d.toString();
    };
    child.stdout?.on("data", (d: Buffer) => {
        append(d);
        if (!onLine) return;
        partial += d.toString();
        const lines = partial.split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) onLine(line);
    });
    child.stderr?.on("data", append);
    const exited = new Promise<number | null>((resolve) => {
        child.on("close", (code) => {
            unregisterProcess(pid);
            if (onLine && partial) onLine(partial);
            resolve(code);
        });
        child.on("error", () => {
            unregisterProcess(pid);
            resolve(null);
        });
    });
    return {
        child,
        pid,
        exited,
        output: () => output,
        stop: async (graceMs = 2000) => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            killGroup(child, "SIGTERM");
            const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
            await exited;
            clearTimeout(timer);
        },
    };
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it returns a value other than undefined, at most `timeoutMs`. Every wait in
 * the lab goes through here so that none can spin forever.
 */
export async function waitFor<T>(
    what: string,
    check: () => Promise<T | undefined>,
    timeoutMs: number,
    intervalMs = 200,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (let attempt = 0; attempt < 100_000; attempt++) {
        try {
            const value = await check();
            if (value !== undefined) return value;
        } catch (err) {
            lastError = err;
        }
        if (Date.now() >= deadline) break;
        await sleep(intervalMs);
    }
    const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}
