/**
 * Libreswan in the lab. The libreswan package conflicts with strongSwan's (which the lab and the
 * tests need installed), so it is never installed on the host: its .deb is unpacked into a folder
 * (.ci/run: /opt/libreswan) and a lab node (lab/node.ts) sees it through read-only layers on
 * /usr/libexec and /usr/sbin inside the node's private mount namespace, with the node's own
 * copy-on-write /etc and /var/lib. pluto then runs with the distribution's paths, as the endpoint
 * scripts expect them: /etc/ipsec.conf, /etc/ipsec.d, /var/lib/ipsec/nss, /run/pluto. (The booted
 * Debian 13 endpoint installs Libreswan 5 from its own packages instead: lab/checks/libreswan.ts.)
 *
 * Measured on this kernel (no CONFIG_INET_ESP), see lab/README.md "Libreswan": pluto starts, loads
 * conns and completes IKE with a strongSwan peer behind an emulated EIP 1:1 NAT (IKEv2 IKE SA,
 * IKEv1 ISAKMP SA, NAT-T on UDP 4500); installing the IPsec SA fails (XFRM "Add SA": Protocol not
 * supported, errno 93). Libreswan has no userspace ESP like strongSwan's kernel-libipsec.
 *
 * Safety: the lab's nodes, namespaces, runner and cleanup registry (lab/node.ts, lab/netns.ts,
 * lab/exec.ts, lab/cleanup.ts): `pvl-` namespaces with no link or route to the root namespace,
 * documentation and private addresses only, every command bounded in time, everything removed by
 * `destroy()`, at exit and on SIGINT/SIGTERM/SIGHUP.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createScratchDir, removeScratchDir, teardownNamespaces } from "./cleanup";
import { LongRunning, RunResult, runSync, runSyncResult, spawnLongRunning, waitFor } from "./exec";
import { addAddress, addRoute, connectDirect } from "./netns";
import { createNode, destroyNode, inNode, LabNode, PrivateMounts, runInNode, runInNodeOkSync, runInNodeSync, startPrivateMounts, writeNodeFileSync } from "./node";
import { Charon, startCharon, swanctl } from "./strongswan";

const REPO_ROOT = path.resolve(__dirname, "..");

// ---------------------------------------------------------------------------------------------
// The unpacked package
// ---------------------------------------------------------------------------------------------

/** Where .ci/run unpacks the package. */
export const CI_LIBRESWAN_ROOT = "/opt/libreswan";
/** Where `unpackLibreswan` puts it when no unpacked copy exists (kept between runs). */
export const CACHE_LIBRESWAN_ROOT = path.join(os.tmpdir(), "partner-vpn-libreswan");

/** Packages unpacked besides libreswan: pluto's libraries that strongSwan's packages do not pull in. */
export const PLUTO_EXTRA_LIBRARIES = ["libldns3", "libevent-pthreads-2.1-7"];

export function libreswanTool(root: string, name: string): string {
    return path.join(root, "usr", "libexec", "ipsec", name);
}

function executable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/** The first folder holding an unpacked libreswan (LIBRESWAN_ROOT, /opt/libreswan, the cache). */
export function findLibreswanRoot(): string | undefined {
    const candidates = [process.env.LIBRESWAN_ROOT, CI_LIBRESWAN_ROOT, CACHE_LIBRESWAN_ROOT].filter((c): c is string => !!c);
    return candidates.find((c) => executable(libreswanTool(c, "addconn")));
}

/**
 * `apt-get download` libreswan (and pluto's extra libraries) and `dpkg -x` them into the cache
 * folder: nothing is installed. Returns the folder, or why it could not.
 */
export function unpackLibreswan(target = CACHE_LIBRESWAN_ROOT): { root: string } | { problem: string } {
    for (const tool of ["apt-get", "dpkg"]) {
        if (runSyncResult(["sh", "-c", `command -v ${tool}`]).code !== 0) return { problem: `${tool} not found (a Debian or Ubuntu machine unpacks the libreswan package)` };
    }
    const debs = `${target}-deb`;
    fs.rmSync(debs, { recursive: true, force: true });
    fs.mkdirSync(debs, { recursive: true, mode: 0o755 });
    const download = runSyncResult(["apt-get", "download", "libreswan", ...PLUTO_EXTRA_LIBRARIES], { cwd: debs, timeoutMs: 180_000 });
    const files = fs.readdirSync(debs).filter((f) => f.endsWith(".deb"));
    if (!files.some((f) => f.startsWith("libreswan_"))) {
        return { problem: `apt-get download libreswan failed: ${(download.stderr || download.stdout).trim().split("\n").slice(-3).join(" ")}` };
    }
    const staging = `${target}.partial`;
    fs.rmSync(staging, { recursive: true, force: true });
    for (const f of files) {
        const x = runSyncResult(["dpkg", "-x", path.join(debs, f), staging], { timeoutMs: 120_000 });
        if (x.code !== 0) return { problem: `dpkg -x ${f} failed: ${x.stderr.trim()}` };
    }
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(staging, target);
    return { root: target };
}

/** An unpacked libreswan, unpacking one if none is found. */
export function ensureLibreswanRoot(): { root: string } | { problem: string } {
    const found = findLibreswanRoot();
    return found ? { root: found } : unpackLibreswan();
}

/** The version the unpacked `ipsec` script reports (e.g. 4.10). */
export function libreswanVersion(root: string): string | undefined {
    try {
        return /IPSEC_VERSION="([^"]+)"/.exec(fs.readFileSync(path.join(root, "usr", "sbin", "ipsec"), "utf8"))?.[1];
    } catch {
        return undefined;
    }
}

/** Folders with the extra libraries unpacked next to libreswan (for pluto's LD_LIBRARY_PATH). */
function libraryPath(root: string): string | undefined {
    const dirs = [path.join(root, "usr", "lib", "x86_64-linux-gnu"), path.join(root, "usr", "lib", "aarch64-linux-gnu")].filter((d) => fs.existsSync(d));
    return dirs.length > 0 ? dirs.join(":") : undefined;
}

function plutoEnv(root: string): NodeJS.ProcessEnv {
    const lib = libraryPath(root);
    return lib ? { ...process.env, LD_LIBRARY_PATH: lib } : { ...process.env };
}

/** Libreswan's config parser, without pluto: `addconn --config FILE --checkconfig`. */
export function addconnCheck(root: string, file: string): RunResult {
    return runSyncResult([libreswanTool(root, "addconn"), "--config", file, "--checkconfig"]);
}

/** Libreswan's algorithm parser on one `ike=` or `esp=` value; prints the canonical proposals. */
export function algparse(root: string, kind: "ike" | "esp", value: string, ikeVersion: 1 | 2, pfs: boolean): RunResult {
    return runSyncResult([libreswanTool(root, "algparse"), ikeVersion === 1 ? "-v1" : "-v2", ...(pfs ? ["-pfs"] : []), `${kind}=${value}`], { timeoutMs: 10_000 });
}

/** Why pluto cannot run here (libraries, tools, privileges), or undefined. */
export function plutoUnavailableReason(root: string): string | undefined {
    if (process.platform !== "linux") return `needs Linux, this is ${process.platform}`;
    if (process.getuid?.() !== 0) return "needs root (network and mount namespaces)";
    for (const tool of ["ip", "unshare", "nsenter", "certutil", "iptables"]) {
        if (runSyncResult(["sh", "-c", `command -v ${tool}`]).code !== 0) return `${tool} not installed${tool === "certutil" ? " (libnss3-tools: ipsec initnss needs it)" : ""}`;
    }
    const pluto = libreswanTool(root, "pluto");
    if (!executable(pluto)) return `${pluto} not found`;
    const ldd = runSyncResult(["ldd", pluto], { env: plutoEnv(root) });
    const missing = ldd.stdout.split("\n").filter((l) => l.includes("not found")).map((l) => l.trim().split(" ")[0]);
    if (missing.length > 0) return `pluto's libraries not found: ${missing.join(", ")} (install them, or unpack ${PLUTO_EXTRA_LIBRARIES.join(" ")} next to libreswan)`;
    for (const fsType of ["overlay", "tmpfs"]) {
        if (!fs.readFileSync("/proc/filesystems", "utf8").split("\n").some((l) => l.trim().endsWith(fsType))) return `the kernel has no ${fsType} file system`;
    }
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// pluto and charon in nodes
// ---------------------------------------------------------------------------------------------

/**
 * /etc/ipsec.conf exactly as the bootstrap writes it (read from scripts/endpoint/bootstrap.sh, so
 * the lab runs the endpoint's real global settings), for an IKEv1 or IKEv2 partner.
 */
export function bootstrapIpsecConf(ike: 1 | 2): string {
    const script = fs.readFileSync(path.join(REPO_ROOT, "scripts", "endpoint", "bootstrap.sh"), "utf8");
    const m = /\n {4}conf="([^"]*)"\n/.exec(script);
    if (!m) throw new Error("bootstrap.sh no longer writes /etc/ipsec.conf as conf=\"...\"");
    return `${m[1].replace("$ikev1_policy", ike === 1 ? "accept" : "drop")}\n`;
}

export interface PlutoOptions {
    readonly ike: 1 | 2;
    readonly loAddresses?: readonly string[];
    /** Extra private tmpfs folders (e.g. /usr/local/sbin for the apply script). */
    readonly tmpfs?: readonly string[];
    /** Files put in place before pluto starts (absolute path -> content, mode). */
    readonly files?: readonly { path: string; content: string; mode: string }[];
    /** Start pluto now (default true). */
    readonly start?: boolean;
}

/** The private mounts of a node running the unpacked Libreswan with the distribution's paths. */
export function plutoMounts(root: string, tmpfs: readonly string[] = []): PrivateMounts {
    return {
        layers: [
            { lower: `${root}/usr/libexec`, over: "/usr/libexec" },
            { lower: `${root}/usr/sbin`, over: "/usr/sbin" },
        ],
        tmpfs,
        setup: ["mkdir -p /etc/ipsec.d /var/lib/ipsec/nss", `cp ${root}/etc/ipsec.conf ${root}/etc/ipsec.secrets /etc/`, "chmod 0600 /etc/ipsec.secrets"],
    };
}

/**
 * pluto, unpacked, in a lab node: started as on the endpoint (distribution paths, the bootstrap's
 * ipsec.conf), in the foreground as ipsec.service runs it. A daemon handle, not a node: its node is
 * a lab/node.ts node.
 */
export class Pluto {
    private process?: LongRunning;

    private constructor(
        readonly node: LabNode,
        readonly root: string,
    ) {}

    /** Mounts Libreswan into `node` (a fresh lab node without private mounts yet) and sets it up. */
    static async start(node: LabNode, root: string, options: PlutoOptions): Promise<Pluto> {
        const p = new Pluto(node, root);
        try {
            for (const a of options.loAddresses ?? []) addAddress(node.ns, "lo", a);
            await startPrivateMounts(node, plutoMounts(root, options.tmpfs));
            writeNodeFileSync(node, "/etc/ipsec.conf", bootstrapIpsecConf(options.ike));
            for (const f of options.files ?? []) writeNodeFileSync(node, f.path, f.content, f.mode);
            runInNodeOkSync(node, ["ipsec", "initnss"]);
            if (options.start !== false) await p.startPluto();
        } catch (err) {
            destroyNode(node);
            throw err;
        }
        return p;
    }

    /** Starts pluto in the foreground; resolves once whack answers. */
    async startPluto(): Promise<void> {
        const proc = spawnLongRunning(inNode(this.node, ["/usr/libexec/ipsec/pluto", "--nofork", "--stderrlog", "--config", "/etc/ipsec.conf"]), undefined, plutoEnv(this.root));
        this.process = proc;
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
            if (proc.child.exitCode !== null) throw new Error(`pluto exited (${proc.child.exitCode}):\n${this.log}`);
            if (runInNodeSync(this.node, ["ipsec", "whack", "--status"], { timeoutMs: 5000 }).code === 0) return;
            await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`pluto did not answer within 15 s:\n${this.log}`);
    }

    async stopPluto(): Promise<void> {
        await this.process?.stop(3000);
    }

    /** Everything pluto wrote to stderr (`--stderrlog`) since it started. */
    get log(): string {
        return this.process?.output() ?? "";
    }

    /** `ipsec whack --status` lines of one conn, without the `000 "name":` prefix. */
    connStatus(name: string): string[] {
        return connStatusOf(runInNodeOkSync(this.node, ["ipsec", "whack", "--status"]), name);
    }

    /** The conn names pluto has loaded. */
    conns(): string[] {
        return connsOf(runInNodeOkSync(this.node, ["ipsec", "whack", "--status"]));
    }

    /** A conn's serial (`$N`): a new one each time the conn is (re)added. */
    connSerial(name: string): string | undefined {
        for (const l of this.connStatus(name)) {
            const m = /conn serial: (\$\d+)/.exec(l);
            if (m) return m[1];
        }
        return undefined;
    }

    /** Waits (bounded) until pluto's log matches. */
    async waitForLog(pattern: RegExp, timeoutMs = 20_000): Promise<boolean> {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (pattern.test(this.log)) return true;
            await new Promise((r) => setTimeout(r, 200));
        }
        return pattern.test(this.log);
    }

    destroy(): void {
        destroyNode(this.node);
    }
}

/** `ipsec whack --status` lines of one conn, without the `000 "name":` prefix (Libreswan 4 and 5). */
export function connStatusOf(status: string, name: string): string[] {
    const prefix = new RegExp(`^(000 )?"${name}":\\s*`);
    return status.split("\n").filter((l) => prefix.test(l)).map((l) => l.replace(prefix, ""));
}

/** The conn names in `ipsec whack --status` output. */
export function connsOf(status: string): string[] {
    const names = new Set<string>();
    for (const l of status.split("\n")) {
        const m = /^(?:000 )?"([^"]+)": \S+===/.exec(l);
        if (m) names.add(m[1]);
    }
    return [...names].sort();
}

/** The partner's gateway: the lab's charon (lab/strongswan.ts, kernel-libipsec) in a lab node. */
export interface PartnerGateway {
    readonly node: LabNode;
    readonly charon: Charon;
}

/** Loads a swanctl.conf (connections and secrets) into the gateway's charon. */
export async function loadPartnerConf(pgw: PartnerGateway, swanctlConf: string): Promise<RunResult> {
    writeNodeFileSync(pgw.node, "/etc/swanctl/conf.d/partner.conf", swanctlConf, "0600");
    return swanctl(pgw.node, ["--load-all", "--noprompt"]);
}

export async function listPartnerSas(pgw: PartnerGateway): Promise<string> {
    const r = await swanctl(pgw.node, ["--list-sas"]);
    if (r.code !== 0) throw new Error(`swanctl --list-sas failed: ${r.stderr}`);
    return r.stdout;
}

/**
 * The seed's topology with an emulated EIP 1:1 NAT, for pluto vs. charon:
 * ep (our endpoint, 172.16.0.5, NAT address 192.0.2.23 on lo) -- aws (172.16.0.1 | 198.51.100.1,
 * DNAT/SNAT 198.51.100.1 <-> 172.16.0.5) -- pgw (partner gateway 198.51.100.2, hosts on lo).
 */
export interface IkeLab {
    readonly ep: Pluto;
    readonly aws: LabNode;
    readonly pgw: PartnerGateway;
    /** Its namespaces (`pvl-<id>-*`), to check that none is left. */
    readonly namespaces: readonly string[];
    destroy(): void;
}

export const IKE_LAB = {
    privateIp: "172.16.0.5",
    tunnelIp: "198.51.100.1",
    natIp: "192.0.2.23",
    gatewayIp: "198.51.100.2",
    partnerHosts: ["203.0.113.7", "203.0.113.8"],
} as const;

export async function buildIkeLab(root: string, ike: 1 | 2, files: PlutoOptions["files"], options: { startPluto?: boolean } = {}): Promise<IkeLab> {
    const id = `lsw${crypto.randomBytes(2).toString("hex")}`;
    const dir = createScratchDir(`pvl-${id}-`);
    const namespaces: string[] = [];
    const node = (name: string, forwarding = false): LabNode => {
        const n = createNode(id, name, dir, { forwarding });
        namespaces.push(n.ns);
        return n;
    };
    const destroy = (): void => {
        teardownNamespaces(namespaces);
        removeScratchDir(dir);
    };
    try {
        const aws = node("aws", true);
        const pgwNode = node("pgw");
        const epNode = node("ep");
        for (const h of IKE_LAB.partnerHosts) addAddress(pgwNode.ns, "lo", `${h}/32`);
        // pluto binds IKE sockets to the addresses present when it starts: link ep first.
        connectDirect(epNode.ns, "eth0", `${IKE_LAB.privateIp}/24`, aws.ns, "vpc0", "172.16.0.1/24");
        connectDirect(aws.ns, "inet0", `${IKE_LAB.tunnelIp}/24`, pgwNode.ns, "eth0", `${IKE_LAB.gatewayIp}/24`);
        addRoute(epNode.ns, "default", "172.16.0.1");
        runSync(inNode(aws, ["iptables", "-w", "5", "-t", "nat", "-A", "PREROUTING", "-d", IKE_LAB.tunnelIp, "-j", "DNAT", "--to-destination", IKE_LAB.privateIp]));
        runSync(inNode(aws, ["iptables", "-w", "5", "-t", "nat", "-A", "POSTROUTING", "-s", IKE_LAB.privateIp, "-j", "SNAT", "--to-source", IKE_LAB.tunnelIp]));
        await startPrivateMounts(pgwNode);
        const charon = await startCharon(pgwNode);
        const ep = await Pluto.start(epNode, root, { ike, files, loAddresses: [`${IKE_LAB.natIp}/32`], start: options.startPluto });
        return { ep, aws, pgw: { node: pgwNode, charon }, namespaces, destroy };
    } catch (err) {
        destroy();
        throw err;
    }
}

export interface PartnerSide {
    readonly ike: 1 | 2;
    /** strongSwan proposals, as in the stack file (the partner's own syntax here). */
    readonly ikeProposals: readonly string[];
    readonly espProposals: readonly string[];
    readonly psk: string;
    /** The partner initiates (start_action = start) instead of only responding. */
    readonly initiate?: boolean;
}

/**
 * The partner gateway's swanctl.conf, written by hand from the agreement (not by our renderer):
 * its hosts to our NAT address, one child per host, NAT-T forced, PSK keyed on both identities.
 */
export function partnerSwanctlConf(side: PartnerSide): string {
    const children = IKE_LAB.partnerHosts.map((h) => [
        `            h-${h.replace(/\./g, "-")} {`,
        `                local_ts = ${h}/32`,
        `                remote_ts = ${IKE_LAB.natIp}/32`,
        `                esp_proposals = ${side.espProposals.join(",")}`,
        `                start_action = ${side.initiate ? "start" : "none"}`,
        "            }",
    ].join("\n"));
    return [
        "connections {",
        "    ours {",
        `        version = ${side.ike}`,
        `        local_addrs = ${IKE_LAB.gatewayIp}`,
        `        remote_addrs = ${IKE_LAB.tunnelIp}`,
        `        proposals = ${side.ikeProposals.join(",")}`,
        "        encap = yes",
        `        local {\n            auth = psk\n            id = ${IKE_LAB.gatewayIp}\n        }`,
        `        remote {\n            auth = psk\n            id = ${IKE_LAB.tunnelIp}\n        }`,
        "        children {",
        ...children,
        "        }",
        "    }",
        "}",
        "secrets {",
        "    ike-ours {",
        `        id-1 = ${IKE_LAB.gatewayIp}`,
        `        id-2 = ${IKE_LAB.tunnelIp}`,
        `        secret = 0s${Buffer.from(side.psk, "utf8").toString("base64")}`,
        "    }",
        "}",
        "",
    ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// pluto on a booted endpoint (ipsec.service of the image's own libreswan package)
// ---------------------------------------------------------------------------------------------

/** pluto completed IKE with the peer (Libreswan 4 and 5, IKEv2 and IKEv1 wording). */
export const PLUTO_IKE_ESTABLISHED = /(?:initiator|responder) established IKE SA|IKE SA established|established ISAKMP SA|ISAKMP SA established/;
/**
 * The kernel refused the IPsec SA: no ESP in this kernel (CONFIG_INET_ESP unset). Libreswan 4.10
 * with AES-CBC: "Protocol not supported (errno 93)"; 5.2 with AES-GCM: "Function not implemented
 * (errno 38)" plus "netlink ext_ack: Requested AEAD algorithm not found".
 */
export const PLUTO_SA_REFUSED = /netlink response for Add SA esp\.[0-9a-f]+@\S+: [^(\n]+\(errno \d+\)/;

/** pluto's messages of the current boot (ipsec.service's journal) on a booted endpoint. */
export async function plutoJournal(node: LabNode): Promise<string> {
    const r = await runInNode(node, ["journalctl", "-b", "-u", "ipsec.service", "-o", "cat", "--no-pager"], { timeoutMs: 30_000 });
    return r.stdout;
}

/**
 * Waits until pluto on a booted endpoint has completed IKE with the partner in this boot; returns
 * that journal line. (A CHILD SA cannot follow on this kernel: PLUTO_SA_REFUSED.)
 */
export async function waitPlutoIke(node: LabNode, timeoutMs = 60_000): Promise<string> {
    return waitFor(`pluto in ${node.name} to complete IKE with the partner`, async () => {
        const line = (await plutoJournal(node)).split("\n").find((l) => PLUTO_IKE_ESTABLISHED.test(l));
        return line?.trim();
    }, timeoutMs, 500);
}
