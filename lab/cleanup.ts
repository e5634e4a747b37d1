/**
 * One registry of everything the lab and the tool tests started: process ids, namespaces and
 * scratch folders. `cleanupLab()` is synchronous so that it also works from a process `exit`
 * handler, and idempotent so that the test's `after` hook, SIGINT and exit can all call it.
 *
 * Namespaces carry one of NAMESPACE_PREFIXES: `pvl-` for `npm run lab` and the lab tests
 * (`pvl-<lab id>-<node>`), `pvt-` for the tool tests (`pvt-<pid>-<label>-<n>`: the pid lets a
 * later run remove what a killed run left, without touching a live run's).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Every namespace the lab creates starts with this, so a sweep can find leftovers. */
export const LAB_NAMESPACE_PREFIX = "pvl-";
/** The tool tests' throwaway namespaces, `pvt-<pid>-...`. */
export const TEST_NAMESPACE_PREFIX = "pvt-";
export const NAMESPACE_PREFIXES: readonly string[] = [LAB_NAMESPACE_PREFIX, TEST_NAMESPACE_PREFIX];

const processes = new Map<number, string>();
const namespaces = new Set<string>();
const scratchDirs = new Set<string>();
/** Overlay mounts of booted endpoints' roots: unmounted before their scratch folders go. */
const mounts = new Set<string>();
let handlersInstalled = false;

export function registerProcess(pid: number, description: string): void {
    processes.set(pid, description);
}

export function unregisterProcess(pid: number): void {
    processes.delete(pid);
}

export function registerNamespace(name: string): void {
    if (!NAMESPACE_PREFIXES.some((p) => name.startsWith(p))) throw new Error(`namespace ${name} lacks a lab prefix (${NAMESPACE_PREFIXES.join(", ")})`);
    namespaces.add(name);
}

export function unregisterScratchDir(dir: string): void {
    scratchDirs.delete(dir);
}

export function registerScratchDir(dir: string): void {
    scratchDirs.add(dir);
}

/** A fresh registered scratch folder `<tmp>/<prefix>...`, removed by `removeScratchDir` or at cleanup. */
export function createScratchDir(prefix: string): string {
    installCleanupHandlers();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    registerScratchDir(dir);
    return dir;
}

export function removeScratchDir(dir: string): void {
    unmountRegistered(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    scratchDirs.delete(dir);
}

export function registerMount(mountPoint: string): void {
    mounts.add(mountPoint);
}

export function unregisterMount(mountPoint: string): void {
    mounts.delete(mountPoint);
}

/** Lazily unmounts the registered mounts under `dir` (all of them without `dir`). */
export function unmountRegistered(dir?: string): void {
    for (const m of [...mounts]) {
        if (dir && !m.startsWith(`${dir}/`)) continue;
        tryExec(["umount", "-l", m]);
        mounts.delete(m);
    }
}

/** Busy-free synchronous sleep (usable in an exit handler, where timers no longer run). */
export function sleepSync(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** TERM each pid (and its process group when it leads one), wait up to 1 s, then KILL. */
function killPids(pids: readonly number[]): void {
    const signal = (pid: number, sig: NodeJS.Signals): void => {
        for (const target of [-pid, pid]) {
            try {
                process.kill(target, sig);
            } catch {
                // not a group leader, or already gone
            }
        }
    };
    for (const pid of pids) signal(pid, "SIGTERM");
    for (let i = 0; i < 20 && pids.some(alive); i++) sleepSync(50);
    for (const pid of pids.filter(alive)) signal(pid, "SIGKILL");
}

function tryExec(argv: string[]): string {
    try {
        return execFileSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
    } catch {
        return "";
    }
}

/** Processes still living in a namespace (forked sessions, helpers we did not spawn directly). */
function namespacePids(name: string): number[] {
    return tryExec(["ip", "netns", "pids", name])
        .split(/\s+/)
        .filter((s) => /^\d+$/.test(s))
        .map(Number)
        .filter((pid) => pid !== process.pid);
}

/**
 * Kills the processes in the given namespaces, then deletes the namespaces. A namespace whose
 * processes live on would survive `ip netns del` (charon and its UDP sockets included), so the
 * processes go first.
 */
export function removeNamespaces(names: readonly string[]): void {
    for (let round = 0; round < 3; round++) {
        const pids = names.flatMap(namespacePids);
        if (pids.length === 0) break;
        killPids(pids);
    }
    for (const name of names) tryExec(["ip", "netns", "del", name]);
}

export interface CleanupReport {
    readonly processesKilled: number;
    readonly namespacesDeleted: readonly string[];
}

/** Tears down everything this process registered. Safe to call any number of times. */
export function cleanupLab(): CleanupReport {
    const pids = [...processes.keys()];
    killPids(pids);
    processes.clear();
    const names = [...namespaces];
    removeNamespaces(names);
    namespaces.clear();
    unmountRegistered();
    for (const dir of scratchDirs) {
        try {
            fs.rmSync(dir, { recursive: true, force: true });
        } catch {
            // a busy mount point below it: left for the next sweep
        }
    }
    scratchDirs.clear();
    return { processesKilled: pids.length, namespacesDeleted: names };
}

/**
 * Forgets everything registered so far without tearing it down, so the exit handlers leave it
 * running (`npm run lab -- --keep`). Returns what was released, for the tear-down instructions.
 */
export function releaseForKeeping(): { namespaces: string[]; scratchDirs: string[] } {
    const released = { namespaces: [...namespaces], scratchDirs: [...scratchDirs] };
    mounts.clear();
    processes.clear();
    namespaces.clear();
    scratchDirs.clear();
    return released;
}

/** Removes some namespaces (and their processes) ahead of the full cleanup, e.g. one lab of several. */
export function teardownNamespaces(names: readonly string[]): void {
    removeNamespaces(names);
    for (const name of names) namespaces.delete(name);
}

function allNamespaces(): string[] {
    return tryExec(["ip", "netns", "list"])
        .split("\n")
        .map((l) => l.split(" ")[0])
        .filter(Boolean);
}

/** Every `pvl-` namespace on the machine, including those of other or crashed lab runs. */
export function listLabNamespaces(): string[] {
    return allNamespaces().filter((n) => n.startsWith(LAB_NAMESPACE_PREFIX));
}

/** This process's own `<prefix><pid>-` namespaces still present (tests assert none is left). */
export function listOwnNamespaces(prefix: string): string[] {
    return allNamespaces().filter((n) => n.startsWith(`${prefix}${process.pid}-`));
}

/**
 * Deletes `<prefix><pid>-...` namespaces whose process no longer exists (killed before its
 * cleanup ran), with whatever still runs in them. Namespaces of live runs are kept.
 */
export function sweepDeadRunNamespaces(prefix: string): string[] {
    const stale = allNamespaces().filter((n) => {
        const m = /^[a-z]+-(\d+)-/.exec(n.startsWith(prefix) ? n : "");
        return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
    });
    removeNamespaces(stale);
    return stale;
}

/**
 * Deletes every `pvl-` namespace and the processes inside them, whoever created them. For a clean
 * start after a crashed run; it would also break a lab run in progress in another process.
 */
export function sweepLabNamespaces(): string[] {
    const names = listLabNamespaces();
    removeNamespaces(names);
    return names;
}

/** Registers cleanup for normal exit, SIGINT, SIGTERM and SIGHUP, once per process. */
export function installCleanupHandlers(): void {
    if (handlersInstalled) return;
    handlersInstalled = true;
    process.on("exit", () => {
        cleanupLab();
    });
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.on(sig, () => {
            cleanupLab();
            process.exit(sig === "SIGINT" ? 130 : 143);
        });
    }
}
