/**
 * strongSwan in a lab node: the lab-only strongswan.conf (userspace ESP through kernel-libipsec,
 * because this kernel has no ESP), charon start/stop, swanctl inside the node, and a parser for
 * `swanctl --list-sas` good enough to report IKE_SA and CHILD_SA states per name and SPIs.
 */
import * as path from "path";
import { LongRunning, RunResult, sleep, spawnLongRunning, waitFor } from "./exec";
import { inNode, LabNode, runInNode, writeNodeFile } from "./node";

export const CHARON_BINARY = "/usr/lib/ipsec/charon";

/**
 * The lab's /etc/strongswan.conf, written into the node's /etc overlay so that charon, and any
 * swanctl run in the node (also over ssh), read it without environment variables.
 * Lab-only: production endpoints use the kernel's XFRM through the default kernel-netlink plugin.
 */
export function labStrongswanConf(logPath: string): string {
    return `# Written by the partner-vpn lab. Lab only: this kernel has no ESP (CONFIG_INET_ESP unset),
# so ESP runs in userspace through kernel-libipsec over a TUN device.
charon {
    load_modular = yes
    plugins {
        include strongswan.d/charon/*.conf
        kernel-libipsec {
            load = yes
        }
    }
    filelog {
        lab {
            path = ${logPath}
            time_format = %H:%M:%S
            time_add_ms = yes
            ike_name = yes
            flush_line = yes
            append = yes
            default = 1
            ike = 2
            cfg = 2
            knl = 1
        }
    }
}
include strongswan.d/*.conf
`;
}

export interface Charon {
    readonly node: LabNode;
    readonly process: LongRunning;
    readonly logPath: string;
}

/** swanctl inside the node (reaches that node's charon through /run/charon.vici). */
export function swanctl(node: LabNode, args: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
    return runInNode(node, ["swanctl", ...args], { timeoutMs });
}

export interface CharonOptions {
    /** Installed plugins kept from loading (an endpoint missing a package). */
    readonly withoutPlugins?: readonly string[];
}

/** Starts charon in the node (which must have private mounts) and waits for its vici socket. */
export async function startCharon(node: LabNode, options: CharonOptions = {}): Promise<Charon> {
    const logPath = path.join(node.dir, "charon.log");
    const disabled = (options.withoutPlugins ?? []).map((p) => `        ${p} {\n            load = no\n        }\n`).join("");
    await writeNodeFile(node, "/etc/strongswan.conf", labStrongswanConf(logPath).replace("        kernel-libipsec {", `${disabled}        kernel-libipsec {`));
    const proc = spawnLongRunning(inNode(node, [CHARON_BINARY]));
    await waitFor(
        `charon in ${node.name}`,
        async () => {
            if (proc.child.exitCode !== null) throw new Error(`charon exited: ${proc.output()}`);
            const r = await swanctl(node, ["--stats"], 3000);
            return r.code === 0 ? true : undefined;
        },
        15_000,
        100,
    );
    return { node, process: proc, logPath };
}

export async function stopCharon(charon: Charon): Promise<void> {
    await charon.process.stop(3000);
    // charon removes its pid file on a clean exit; after a KILL the stale file would be ignored anyway.
    await sleep(50);
}

export interface ChildSaState {
    readonly name: string;
    readonly uniqueId: number;
    readonly reqid: number;
    /** INSTALLED, REKEYING, REKEYED, DELETING, ... */
    readonly state: string;
    /** TUNNEL, TUNNEL-in-UDP (NAT-T), ... */
    readonly mode: string;
    readonly protocol: string;
    readonly spiIn?: string;
    readonly spiOut?: string;
    readonly bytesIn: number;
    readonly packetsIn: number;
    readonly bytesOut: number;
    readonly packetsOut: number;
    readonly localTs: readonly string[];
    readonly remoteTs: readonly string[];
}

export interface IkeSaState {
    readonly name: string;
    readonly uniqueId: number;
    /** ESTABLISHED, CONNECTING, REKEYING, DELETING, ... */
    readonly state: string;
    readonly version: string;
    readonly spiInitiator?: string;
    readonly spiResponder?: string;
    readonly localId?: string;
    readonly localHost?: string;
    readonly remoteId?: string;
    readonly remoteHost?: string;
    readonly children: readonly ChildSaState[];
}

/**
 * Parses `swanctl --list-sas` text output (strongSwan 5.9), e.g.
 *
 *     partner-x: #1, ESTABLISHED, IKEv2, 5d3f...._i* 9a1c...._r
 *       local  '192.0.2.10' @ 172.16.0.5[4500]
 *       remote '198.51.100.2' @ 198.51.100.2[4500]
 *       ...
 *       host-1: #1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-256/HMAC_SHA2_256_128
 *         in  c1b2..., 420 bytes, 5 packets, 0s ago
 *         out c3d4..., 380 bytes, 5 packets, 0s ago
 *         local  192.0.2.23/32
 *         remote 203.0.113.7/32
 */
export function parseListSas(text: string): IkeSaState[] {
    const ikes: IkeSaState[] = [];
    type MutableIke = { -readonly [K in keyof IkeSaState]: IkeSaState[K] } & { children: ChildSaState[] };
    type MutableChild = { -readonly [K in keyof ChildSaState]: ChildSaState[K] } & { localTs: string[]; remoteTs: string[] };
    let ike: MutableIke | undefined;
    let child: MutableChild | undefined;
    for (const raw of text.split("\n")) {
        const indent = raw.length - raw.trimStart().length;
        const line = raw.trim();
        if (!line) continue;
        const header = /^([^\s:]+): #(\d+), (.*)$/.exec(line);
        if (header && indent === 0) {
            const parts = header[3].split(", ");
            const spis = (parts[2] ?? "").split(" ");
            ike = {
                name: header[1],
                uniqueId: Number(header[2]),
                state: parts[0],
                version: parts[1] ?? "",
                spiInitiator: spis[0]?.replace(/_i\*?$/, ""),
                spiResponder: spis[1]?.replace(/_r\*?$/, ""),
                children: [],
            };
            ikes.push(ike);
            child = undefined;
            continue;
        }
        if (!ike) continue;
        if (header && indent > 0) {
            const parts = header[3].split(", ");
            const proto = parts.find((p) => /^(ESP|AH):/.test(p)) ?? "";
            child = {
                name: header[1],
                uniqueId: Number(header[2]),
                reqid: Number(/reqid (\d+)/.exec(header[3])?.[1] ?? 0),
                state: parts[1] ?? "",
                mode: parts[2] ?? "",
                protocol: proto,
                bytesIn: 0,
                packetsIn: 0,
                bytesOut: 0,
                packetsOut: 0,
                localTs: [],
                remoteTs: [],
            };
            ike.children.push(child);
            continue;
        }
        const endpoint = /^(local|remote)\s+'([^']*)' @ (\S+)/.exec(line);
        if (endpoint && !child) {
            const host = endpoint[3].replace(/\[\d+\]$/, "");
            if (endpoint[1] === "local") {
                ike.localId = endpoint[2];
                ike.localHost = host;
            } else {
                ike.remoteId = endpoint[2];
                ike.remoteHost = host;
            }
            continue;
        }
        if (!child) continue;
        const traffic = /^(in|out)\s+([0-9a-f]+)(?:\([^)]*\))?,\s+(\d+) bytes,\s+(\d+) packets/.exec(line);
        if (traffic) {
            if (traffic[1] === "in") {
                child.spiIn = traffic[2];
                child.bytesIn = Number(traffic[3]);
                child.packetsIn = Number(traffic[4]);
            } else {
                child.spiOut = traffic[2];
                child.bytesOut = Number(traffic[3]);
                child.packetsOut = Number(traffic[4]);
            }
            continue;
        }
        const ts = /^(local|remote)\s+(\S.*)$/.exec(line);
        if (ts) (ts[1] === "local" ? child.localTs : child.remoteTs).push(...ts[2].split(/\s+/));
    }
    return ikes;
}

export async function listSas(node: LabNode): Promise<{ raw: string; sas: IkeSaState[] }> {
    const r = await swanctl(node, ["--list-sas"]);
    if (r.code !== 0) throw new Error(`swanctl --list-sas in ${node.name} failed: ${r.stderr || r.stdout}`);
    return { raw: r.stdout, sas: parseListSas(r.stdout) };
}

export interface NatFlags {
    /** This side is behind a NAT (its NAT-D hash did not match): true for our endpoint behind igw. */
    readonly natLocal: boolean;
    readonly natRemote: boolean;
    /** NAT faked because of `encap = yes`. */
    readonly natFake: boolean;
}

/**
 * NAT detection results per IKE_SA name, from `swanctl --list-sas --raw` (the text output does not
 * show them): `nat-local=yes` on our endpoint proves the igw's 1:1 NAT is really in the path.
 */
export async function natFlags(node: LabNode): Promise<Map<string, NatFlags>> {
    const r = await swanctl(node, ["--list-sas", "--raw"]);
    const flags = new Map<string, NatFlags>();
    for (const m of r.stdout.matchAll(/list-sa event \{([^\s{]+) \{([^{]*)/g)) {
        const attrs = m[2];
        flags.set(m[1], {
            natLocal: /\bnat-local=yes\b/.test(attrs),
            natRemote: /\bnat-remote=yes\b/.test(attrs),
            natFake: /\bnat-fake=yes\b/.test(attrs),
        });
    }
    return flags;
}

/** The established IKE_SA of a connection and its installed children by name; undefined if none. */
export function establishedState(
    sas: readonly IkeSaState[],
    conn: string,
): { ike: IkeSaState; children: Map<string, ChildSaState> } | undefined {
    const ike = sas.find((s) => s.name === conn && s.state === "ESTABLISHED");
    if (!ike) return undefined;
    const children = new Map<string, ChildSaState>();
    for (const c of ike.children) if (c.state === "INSTALLED") children.set(c.name, c);
    return { ike, children };
}

/**
 * Waits (bounded) until connection `conn` has an ESTABLISHED IKE_SA with every named child
 * INSTALLED. Children of several IKE_SAs with the same connection name (e.g. during a reauth)
 * count together.
 */
export async function waitEstablished(
    node: LabNode,
    conn: string,
    children: readonly string[],
    timeoutMs = 30_000,
): Promise<IkeSaState[]> {
    return waitFor(
        `${conn} {${children.join(", ")}} established in ${node.name}`,
        async () => {
            const { sas } = await listSas(node);
            const ikes = sas.filter((s) => s.name === conn && s.state === "ESTABLISHED");
            const installed = new Set(ikes.flatMap((s) => s.children.filter((c) => c.state === "INSTALLED").map((c) => c.name)));
            return ikes.length > 0 && children.every((c) => installed.has(c)) ? sas : undefined;
        },
        timeoutMs,
        200,
    );
}
