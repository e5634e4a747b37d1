/**
 * What a push can change on an endpoint, captured so two moments can be compared: the nat table
 * (`iptables-save`, counters stripped), the loaded strongSwan config (`swanctl --list-conns`), the
 * partner's SAs with their SPIs (a re-established SA gets new ones), the files a push installs
 * (mode, owner, content hash) and the applied generation.
 */
import { swanctlConnectionName } from "../core/render";
import { BOOT_SCRIPT, endpointPaths, REMOVE_SCRIPT } from "../core/render/paths";
import { runOk } from "./exec";
import { inNetns } from "./netns";
import { LabNode, runInNode, runInNodeOk } from "./node";
import { listSas } from "./strongswan";

export interface EndpointSnapshot {
    readonly nat: string;
    readonly conns: string;
    /** `child spiIn/spiOut` of every installed CHILD_SA of the partner, sorted; and the IKE SPIs. */
    readonly sas: readonly string[];
    readonly files: Readonly<Record<string, string>>;
    readonly generation: string;
}

/** `iptables-save -t nat` without comments and counters: the ruleset itself. */
export function normalizeNat(save: string): string {
    return save
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.replace(/ \[\d+:\d+\]$/, ""))
        .join("\n");
}

export function partnerFiles(partner: string, withNginx: boolean): string[] {
    const p = endpointPaths(partner);
    return [p.swanctlConf, p.swanctlSecrets, p.natRules, ...(withNginx ? [p.nginxConf] : []), BOOT_SCRIPT, REMOVE_SCRIPT, `${p.stateDir}/generation`];
}

async function fileState(node: LabNode, file: string): Promise<string> {
    const r = await runInNode(node, ["sh", "-c", 'stat -c "%a %U:%G" "$1" && sha256sum <"$1" | cut -c1-16', "sh", file]);
    return r.code === 0 ? r.stdout.trim().replace(/\n/g, " ") : "absent";
}

export async function snapshotEndpoint(node: LabNode, partner: string, withNginx: boolean): Promise<EndpointSnapshot> {
    const files: Record<string, string> = {};
    for (const f of partnerFiles(partner, withNginx)) files[f] = await fileState(node, f);
    const conn = swanctlConnectionName(partner);
    const { sas } = await listSas(node);
    const spis = sas
        .filter((s) => s.name === conn && s.state === "ESTABLISHED")
        .flatMap((s) => [`IKE ${s.spiInitiator}/${s.spiResponder}`, ...s.children.filter((c) => c.state === "INSTALLED").map((c) => `${c.name} ${c.spiIn}/${c.spiOut}`)])
        .sort();
    const gen = await runInNode(node, ["cat", endpointPaths(partner).stateDir + "/generation"]);
    return {
        nat: normalizeNat(await runInNodeOk(node, ["iptables-save", "-t", "nat"])),
        conns: await runInNodeOk(node, ["swanctl", "--list-conns"]),
        sas: spis,
        files,
        generation: gen.code === 0 ? gen.stdout.trim() : "absent",
    };
}

/** Names of the parts that differ between two snapshots (empty when identical). */
export function snapshotDifferences(a: EndpointSnapshot, b: EndpointSnapshot): string[] {
    const diffs: string[] = [];
    if (a.nat !== b.nat) diffs.push("nat table");
    if (a.conns !== b.conns) diffs.push("loaded strongSwan config");
    if (JSON.stringify(a.sas) !== JSON.stringify(b.sas)) diffs.push("SAs/SPIs");
    for (const f of new Set([...Object.keys(a.files), ...Object.keys(b.files)])) if (a.files[f] !== b.files[f]) diffs.push(f);
    if (a.generation !== b.generation) diffs.push("generation");
    return diffs;
}

/** The conns and their children as swanctl --list-conns names them, e.g. `pvpn-x: c1 c2`. */
export function connsSummary(listConns: string): string[] {
    const out: string[] = [];
    for (const line of listConns.split("\n")) {
        const conn = /^(\S+): /.exec(line);
        if (conn) out.push(conn[1]);
        const child = /^ {2}(\S+): TUNNEL/.exec(line);
        if (child && out.length) out[out.length - 1] += ` ${child[1]}`;
    }
    return out;
}

/**
 * conntrack entries on the endpoint towards the given hosts whose reply is NOT addressed to the
 * NAT IP: connections pinned without source NAT (they bypass the SNAT for as long as they live).
 */
export async function unnatedConnections(node: LabNode, hosts: readonly string[], natIp: string): Promise<string[]> {
    // Read through the host's /proc from the node's network namespace: a booted image's own /proc
    // (systemd-nspawn's) does not show the conntrack table.
    const table = await runOk(inNetns(node.ns, ["cat", "/proc/net/nf_conntrack"]));
    return table.split("\n").filter((line) => {
        const dsts = [...line.matchAll(/ dst=(\S+)/g)].map((m) => m[1]);
        return dsts.length >= 2 && hosts.includes(dsts[0]) && dsts[1] !== natIp;
    });
}
