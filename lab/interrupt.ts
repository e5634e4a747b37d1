/**
 * An apply killed half way, deterministically and with nothing added to the production scripts:
 * the lab watches the endpoint node's own filesystem (through /proc/<pid>/root of the node's
 * mount-namespace holder) while the push runs, and SIGKILLs the apply's `bash -s` (and everything
 * it started) the moment a chosen point is reached:
 * - "staged": every file of the push is in the /run stage folder, nothing switched yet;
 * - "switched": every file is installed but nothing reloaded. The lab SIGSTOPs the node's charon
 *   the moment the apply's backup folder appears (its checks, which ask charon for its algorithms,
 *   are done; the installs and `swanctl --load-all` follow), so the apply blocks in the load right
 *   after installing, and the kill lands there (charon is continued afterwards).
 */
import * as fs from "fs";
import { EmbeddedFile, embeddedFiles } from "./applyScript";
import { RemoteCommand } from "./engine";
import { RunResult, sleep } from "./exec";
import { PartnerRun, runPhase, StackSession } from "./stackSession";
import { endpointCharonPid } from "./topology";

export type InterruptPoint = "staged" | "switched";

export interface Interruption {
    readonly point: InterruptPoint;
    /** Milliseconds from the push's start to the kill. */
    readonly killedAfterMs: number;
    /** What was on the endpoint when it was killed. */
    readonly observed: readonly string[];
    readonly killedPids: readonly number[];
    readonly result: RunResult;
}

function readOr(file: string, fallback: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return fallback;
    }
}

function stageDirs(root: string): string[] {
    try {
        return fs.readdirSync(`${root}/run`).filter((d) => d.startsWith("partner-vpn-stage."));
    } catch {
        return [];
    }
}

function reached(point: InterruptPoint, root: string, files: readonly EmbeddedFile[]): boolean {
    if (point === "staged") {
        return stageDirs(root).some((d) => files.every((f) => fs.existsSync(`${root}/run/${d}/f${f.index}`)));
    }
    return files.every((f) => readOr(`${root}${f.path}`, "\0absent") === f.content);
}

/** The apply's `bash -s` in this mount namespace, and every process below it. */
function applyProcessTree(mntNs: string): number[] {
    const pids = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number);
    const parent = new Map<number, number>();
    const roots: number[] = [];
    for (const pid of pids) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            parent.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
            if (fs.readlinkSync(`/proc/${pid}/ns/mnt`) === mntNs && fs.readFileSync(`/proc/${pid}/cmdline`, "latin1") === "bash\0-s\0") roots.push(pid);
        } catch {
            // exited meanwhile
        }
    }
    const tree = new Set(roots);
    for (let changed = true, rounds = 0; changed && rounds < 64; rounds++) {
        changed = false;
        for (const [pid, ppid] of parent) {
            if (!tree.has(pid) && tree.has(ppid)) {
                tree.add(pid);
                changed = true;
            }
        }
    }
    return [...tree];
}

export async function interruptedPush(s: StackSession, p: PartnerRun, cmd: RemoteCommand, point: InterruptPoint): Promise<Interruption> {
    const holder = p.lab.ep.holder;
    if (!holder) throw new Error("the endpoint node has no private mounts");
    const charonPid = endpointCharonPid(p.lab);
    const root = `/proc/${holder.pid}/root`;
    const mntNs = fs.readlinkSync(`/proc/${holder.pid}/ns/mnt`);
    const files = embeddedFiles(cmd.stdin ?? "");
    const state = `${root}/etc/partner-vpn/${p.plan.name}`;
    // The files this push changes (the others already have their content and prove nothing).
    const changing = files.filter((f) => readOr(`${root}${f.path}`, "\0absent") !== f.content);
    let charonStopped = false;
    try {
        const start = Date.now();
        const push = runPhase(s, `interrupted push (${point})`, cmd, "create");
        let done = false;
        void push.then(() => (done = true));
        let killed: number[] = [];
        const observed: string[] = [];
        for (let i = 0; i < 20_000 && !done && Date.now() - start < 20_000; i++) {
            if (point === "switched" && !charonStopped && fs.existsSync(`${state}/previous`)) {
                process.kill(charonPid, "SIGSTOP");
                charonStopped = true;
            }
            if (reached(point, root, files)) {
                killed = applyProcessTree(mntNs);
                for (const pid of killed) {
                    try {
                        process.kill(pid, "SIGKILL");
                    } catch {
                        // already gone
                    }
                }
                const installed = changing.filter((f) => readOr(`${root}${f.path}`, "\0absent") === f.content).map((f) => f.role);
                observed.push(
                    `files this push changes: ${changing.map((f) => f.role).join(", ")}; already installed: ${installed.length ? installed.join(", ") : "none"}`,
                    `stage folders in /run: ${stageDirs(root).length}`,
                    `backup folder (${p.plan.name}/previous) present: ${fs.existsSync(`${state}/previous`)}`,
                    `applied generation on record: ${readOr(`${state}/generation`, "none").trim()}`,
                );
                break;
            }
            await sleep(2);
        }
        const killedAfterMs = Date.now() - start;
        const result = await push;
        if (killed.length === 0) throw new Error(`the push ended (exit ${result.code}) before reaching the "${point}" point; nothing was killed`);
        return { point, killedAfterMs, observed, killedPids: killed, result };
    } finally {
        if (charonStopped) process.kill(charonPid, "SIGCONT");
    }
}
