/**
 * What every lab is built on: one id, a scratch folder and the namespaces registered under it, the
 * VPC's and the internet's switches (bridges), and the internet gateway linked to both (`vpc0`,
 * `inet0`) with its own /run (for the iptables lock). lab/topology.ts (an endpoint per partner)
 * and lab/haLab.ts (an active/standby pair) add their nodes to it.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { installCleanupHandlers, registerScratchDir, teardownNamespaces, unmountRegistered } from "./cleanup";
import { connectToBridge, createBridge } from "./netns";
import { createNode, startPrivateMounts, type LabNode } from "./node";

export interface LabSkeleton {
    readonly id: string;
    readonly dir: string;
    /** Every namespace of the lab, in creation order (the skeleton's and the nodes added with `node`). */
    readonly namespaces: string[];
    readonly swVpc: LabNode;
    readonly swNet: LabNode;
    readonly igw: LabNode;
    /** A new node of this lab (registered for teardown). */
    node(name: string, forwarding?: boolean): LabNode;
}

/**
 * Builds the skeleton and hands it to `build`, which adds the lab's own nodes; if anything throws,
 * every namespace, mount and file of the lab is removed before the error goes on.
 */
export async function withLabSkeleton<T>(build: (skeleton: LabSkeleton) => Promise<T>, scratchRoot = os.tmpdir()): Promise<T> {
    installCleanupHandlers();
    const id = crypto.randomBytes(2).toString("hex");
    const dir = fs.mkdtempSync(path.join(scratchRoot, `pvl-${id}-`));
    registerScratchDir(dir);
    const namespaces: string[] = [];
    const node = (name: string, forwarding = false): LabNode => {
        const n = createNode(id, name, dir, { forwarding });
        namespaces.push(n.ns);
        return n;
    };
    try {
        const swVpc = node("sw-vpc");
        const swNet = node("sw-net");
        createBridge(swVpc.ns, "br0");
        createBridge(swNet.ns, "br0");
        const igw = node("igw", true);
        connectToBridge(swVpc.ns, "br0", "igw", igw.ns, "vpc0");
        connectToBridge(swNet.ns, "br0", "igw", igw.ns, "inet0");
        await startPrivateMounts(igw);
        return await build({ id, dir, namespaces, swVpc, swNet, igw, node });
    } catch (err) {
        discardLab(namespaces, dir);
        throw err;
    }
}

/** Removes a lab's namespaces (their processes go with them), mounts and, unless kept, its folder. */
export function discardLab(namespaces: readonly string[], dir: string, keepDir = false): void {
    teardownNamespaces([...namespaces]);
    unmountRegistered(dir);
    if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
}
