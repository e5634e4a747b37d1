/**
 * A lab node: a network namespace and, for nodes that run daemons (our endpoint, the partner's
 * gateway), a private mount namespace held open by a sleeping "holder" process.
 *
 * The private mount namespace has a fresh tmpfs on /run (charon's pid file and vici socket, sshd's
 * privilege separation dir, nginx's pid) and copy-on-write overlays over /etc, /usr/local/sbin,
 * /var/log and /var/lib whose upper layers are scratch folders. Whatever a push writes
 * (/etc/swanctl/conf.d/..., /etc/partner-vpn/..., /etc/nginx/nginx.conf,
 * /usr/local/sbin/partner-vpn-*) lands in the node's scratch folder, never in the host's files.
 * Every daemon of the node and every command run in it (by nsenter, or over the node's sshd)
 * enters this same mount namespace, so they all see the node's own /run and /etc.
 */
import * as fs from "fs";
import * as path from "path";
import { CommandError, LongRunning, run, RunOptions, RunResult, spawnLongRunning, waitFor } from "./exec";
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

export function createNode(labId: string, name: string, labDir: string, options: { forwarding?: boolean } = {}): LabNode {
    const ns = `pvl-${labId}-${name}`;
    const dir = path.join(labDir, name);
    fs.mkdirSync(dir, { recursive: true });
    createNamespace(ns, options);
    return { name, ns, dir };
}

/** The host path where a file written at `absPath` inside the node ends up (the overlay's upper layer). */
export function upperPath(node: LabNode, absPath: string): string {
    const base = OVERLAID_DIRS.find((d) => absPath === d || absPath.startsWith(`${d}/`));
    if (!base) throw new Error(`${absPath} is not in an overlaid folder`);
    return path.join(node.dir, "overlay", base.replace(/\//g, "_"), "upper", path.relative(base, absPath));
}

function holderScript(node: LabNode): string {
    const lines = ["set -e", "mount -t tmpfs -o mode=0755 pvl-run /run", "mkdir -p /run/sshd /run/nginx /run/lock"];
    for (const dir of OVERLAID_DIRS) {
        const base = path.join(node.dir, "overlay", dir.replace(/\//g, "_"));
        lines.push(
            `mkdir -p ${base}/upper ${base}/work`,
            `mount -t overlay pvl-overlay -o lowerdir=${dir},upperdir=${base}/upper,workdir=${base}/work ${dir}`,
        );
    }
    // The holder only keeps the namespace alive; the bound keeps a lost holder from living forever.
    lines.push("echo PVL-READY", "exec sleep 86400");
    return lines.join("\n");
}

/** Creates the node's private mount namespace; resolves once the mounts are in place. */
export async function startPrivateMounts(node: LabNode): Promise<void> {
    if (node.holder) return;
    let ready = false;
    const holder = spawnLongRunning(
        inNetns(node.ns, ["unshare", "--mount", "--propagation", "private", "sh", "-c", holderScript(node)]),
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
