/**
 * A lab node, the one node abstraction of the lab and the tool tests: a network namespace and, for
 * nodes that run daemons (our endpoint, the partner's gateway, a tool test's endpoint), a private
 * mount namespace held open by a sleeping "holder" process. A booted image (lab/container.ts) is
 * the same node with the container's PID 1 as its holder.
 *
 * The private mount namespace has a fresh tmpfs on /run (charon's pid file and vici socket, sshd's
 * privilege separation dir, nginx's pid, pluto's control socket) and copy-on-write overlays over
 * /etc, /usr/local/sbin, /var/log and /var/lib whose upper layers are scratch folders. Whatever a push writes
 * (/etc/swanctl/conf.d/..., /etc/partner-vpn/..., /etc/nginx/nginx.conf,
 * /usr/local/sbin/partner-vpn-*) lands in the node's scratch folder, never in the host's files.
 * Every daemon of the node and every command run in it (by nsenter, or over the node's sshd)
 * enters this same mount namespace, so they all see the node's own /run and /etc.
 *
 * Commands: `runInNode` and friends (async, for concurrent lab steps) and the `...Sync` variants
 * (the tool tests' sequential steps) both go through lab/exec.ts with a time bound.
 */
import * as fs from "fs";
import * as path from "path";
import { removeScratchDir, teardownNamespaces } from "./cleanup";
import { CommandError, LongRunning, run, RunOptions, RunResult, runSyncResult, spawnLongRunning, waitFor } from "./exec";
import { createNamespace, inNetns } from "./netns";

/** Folders given a per-node copy-on-write overlay. */
export const OVERLAID_DIRS: readonly string[] = ["/etc", "/usr/local/sbin", "/var/log", "/var/lib"];

export interface LabNode {
    /** Short role name, e.g. `ep-bigcorp`, `inst1`, `pgw-bigcorp`. */
    readonly name: string;
    /** Its network namespace (`pvl-<lab id>-<name>`). */
    readonly ns: string;
    /** Scratch folder of this node on the host (logs, overlay upper layers, keys). */
    readonly dir: string;
    /** The process holding the private mount namespace; absent for network-only nodes. For a
     *  booted image (lab/container.ts), its PID 1. */
    holder?: LongRunning;
    /** A booted image: commands enter every namespace of its PID 1 (systemctl and journalctl
     *  need its PID namespace too), not only its mounts and network. */
    booted?: boolean;
}

export interface NodeOptions {
    readonly forwarding?: boolean;
    /** Namespace prefix: `pvl-` (the lab, the default) or `pvt-` (the tool tests). */
    readonly prefix?: string;
}

/** A node `<prefix><run id>-<name>` with its scratch folder `<runDir>/<name>`; no mounts yet. */
export function createNode(runId: string, name: string, runDir: string, options: NodeOptions = {}): LabNode {
    const ns = `${options.prefix ?? "pvl-"}${runId}-${name}`;
    const dir = path.join(runDir, name);
    fs.mkdirSync(dir, { recursive: true });
    createNamespace(ns, options);
    return { name, ns, dir };
}

/** Removes one node ahead of the full cleanup: everything running in it, its namespace, its folder. */
export function destroyNode(node: LabNode): void {
    teardownNamespaces([node.ns]);
    node.holder = undefined;
    removeScratchDir(node.dir);
}

/** The host path where a file written at `absPath` inside the node ends up (the overlay's upper layer). */
export function upperPath(node: LabNode, absPath: string): string {
    const base = OVERLAID_DIRS.find((d) => absPath === d || absPath.startsWith(`${d}/`));
    if (!base) throw new Error(`${absPath} is not in an overlaid folder`);
    return path.join(node.dir, "overlay", base.replace(/\//g, "_"), "upper", path.relative(base, absPath));
}

export interface PrivateMounts {
    /** Read-only layers over host folders, e.g. an unpacked package's `usr/sbin` over `/usr/sbin`. */
    readonly layers?: readonly { readonly lower: string; readonly over: string }[];
    /** Empty private tmpfs folders (created through the overlays when missing). */
    readonly tmpfs?: readonly string[];
    /** Shell lines run once everything is mounted (e.g. a package's default config put in place). */
    readonly setup?: readonly string[];
}

const SAFE_PATH = /^\/[A-Za-z0-9/._-]+$/;

function safePath(p: string): string {
    if (!SAFE_PATH.test(p)) throw new Error(`refusing to mount at ${p}: unexpected characters`);
    return p;
}

function holderScript(node: LabNode, mounts: PrivateMounts): string {
    const lines = ["set -e", "mount -t tmpfs -o mode=0755 pvl-run /run", "mkdir -p /run/sshd /run/nginx /run/lock /run/pluto"];
    for (const dir of OVERLAID_DIRS) {
        const base = safePath(path.join(node.dir, "overlay", dir.replace(/\//g, "_")));
        lines.push(
            `mkdir -p ${base}/upper ${base}/work`,
            `mount -t overlay pvl-overlay -o lowerdir=${dir},upperdir=${base}/upper,workdir=${base}/work ${dir}`,
        );
    }
    for (const { lower, over } of mounts.layers ?? []) {
        // Two lower layers and no upper: read-only, the package's files over the host's.
        lines.push(`mount -t overlay pvl-layer -o lowerdir=${safePath(lower)}:${safePath(over)} ${over}`);
    }
    for (const dir of mounts.tmpfs ?? []) {
        if (OVERLAID_DIRS.some((d) => dir.startsWith(`${d}/`))) lines.push(`mkdir -p ${safePath(dir)}`);
        else lines.push(`[ -d ${safePath(dir)} ] || { echo "missing mount point ${dir}" >&2; exit 1; }`);
        lines.push(`mount -t tmpfs -o mode=0755 pvl-tmp ${dir}`);
    }
    lines.push(...(mounts.setup ?? []));
    // The holder only keeps the namespace alive; the bound keeps a lost holder from living forever.
    lines.push("echo PVL-READY", "exec sleep 86400");
    return lines.join("\n");
}

/** Creates the node's private mount namespace; resolves once the mounts are in place. */
export async function startPrivateMounts(node: LabNode, mounts: PrivateMounts = {}): Promise<void> {
    if (node.holder) return;
    let ready = false;
    const holder = spawnLongRunning(
        inNetns(node.ns, ["unshare", "--mount", "--propagation", "private", "sh", "-c", holderScript(node, mounts)]),
        (line) => {
            if (line.trim() === "PVL-READY") ready = true;
        },
    );
    node.holder = holder;
    await waitFor(
        `private mounts of ${node.name}`,
        async () => {
            if (holder.child.exitCode !== null) throw new Error(`holder exited: ${holder.output()}`);
            return ready ? true : undefined;
        },
        10_000,
        50,
    );
}

/**
 * argv that runs a command inside the node: its network namespace and, when it has one, its
 * private mount namespace (through the holder's pid).
 */
export function inNode(node: LabNode, argv: readonly string[]): string[] {
    if (node.holder && node.booted) return ["nsenter", "-t", String(node.holder.pid), "-a", ...argv];
    if (node.holder) return ["nsenter", "-t", String(node.holder.pid), "-m", "-n", ...argv];
    return inNetns(node.ns, argv);
}

export function runInNode(node: LabNode, argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(inNode(node, argv), options);
}

export async function runInNodeOk(node: LabNode, argv: readonly string[], options?: RunOptions): Promise<string> {
    const full = inNode(node, argv);
    const result = await run(full, options);
    if (result.code !== 0) throw new CommandError(full, result);
    return result.stdout;
}

/** A shell script run inside the node (`sh -s` with the script on stdin). */
export function shInNode(node: LabNode, script: string, options: { timeoutMs?: number } = {}): Promise<string> {
    return runInNodeOk(node, ["sh", "-eu", "-s"], { input: script, timeoutMs: options.timeoutMs });
}

/** Writes a file as the node sees it (into its overlay), creating parent folders. */
export async function writeNodeFile(node: LabNode, absPath: string, content: string, mode = "0644"): Promise<void> {
    if (!node.holder) throw new Error(`${node.name} has no private mounts to write ${absPath} into`);
    const dir = path.posix.dirname(absPath);
    await runInNodeOk(node, ["sh", "-euc", `mkdir -p "$1" && cat > "$2" && chmod "$3" "$2"`, "sh", dir, absPath, mode], {
        input: content,
    });
}

export async function readNodeFile(node: LabNode, absPath: string): Promise<string> {
    return runInNodeOk(node, ["cat", absPath]);
}

export async function removeNodeFile(node: LabNode, absPath: string): Promise<void> {
    await runInNodeOk(node, ["rm", "-f", absPath]);
}

// Synchronous variants, for sequential test steps (the tool tests).

export function runInNodeSync(node: LabNode, argv: readonly string[], options?: RunOptions): RunResult {
    return runSyncResult(inNode(node, argv), options);
}

export function runInNodeOkSync(node: LabNode, argv: readonly string[], options?: RunOptions): string {
    const full = inNode(node, argv);
    const result = runSyncResult(full, options);
    if (result.code !== 0) throw new CommandError(full, result);
    return result.stdout;
}

/** A bash snippet run inside the node. */
export function bashInNodeSync(node: LabNode, script: string, options?: RunOptions): RunResult {
    return runInNodeSync(node, ["bash", "-c", script], options);
}

export function bashInNodeOkSync(node: LabNode, script: string, options?: RunOptions): string {
    return runInNodeOkSync(node, ["bash", "-c", script], options);
}

export function writeNodeFileSync(node: LabNode, absPath: string, content: string, mode = "0644"): void {
    runInNodeOkSync(node, ["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"', "sh", absPath, mode], { input: content });
}

export function readNodeFileSync(node: LabNode, absPath: string): string {
    return runInNodeOkSync(node, ["cat", absPath]);
}

export function existsInNodeSync(node: LabNode, absPath: string): boolean {
    return runInNodeSync(node, ["test", "-e", absPath]).code === 0;
}
