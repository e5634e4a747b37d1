/**
 * Libreswan in the lab. The libreswan package conflicts with strongSwan's (which the lab and the
 * tests need installed), so it is never installed: its .deb is unpacked into a folder (.ci/run:
 * /opt/libreswan) and a lab node sees it through read-only overlays on /usr/libexec and /usr/sbin
 * inside the node's private mount namespace, with a copy-on-write /etc and /var/lib whose changes
 * live in the node's own /run tmpfs. pluto then runs with the distribution's paths, as the endpoint
 * scripts expect them: /etc/ipsec.conf, /etc/ipsec.d, /var/lib/ipsec/nss, /run/pluto.
 *
 * Measured on this kernel (no CONFIG_INET_ESP), see lab/README.md "Libreswan": pluto starts, loads
 * conns and completes IKE with a strongSwan peer behind an emulated EIP 1:1 NAT (IKEv2 IKE SA,
 * IKEv1 ISAKMP SA, NAT-T on UDP 4500); installing the IPsec SA fails (XFRM "Add SA": Protocol not
 * supported, errno 93). Libreswan has no userspace ESP like strongSwan's kernel-libipsec.
 *
 * Safety: network namespaces are named pvk-<pid>-<label>, have no link or route to the root
 * namespace and hold documentation and private addresses only. Every command has a time bound;
 * every process and namespace is removed by `destroy()`, at exit, on SIGINT/SIGTERM/SIGHUP, and
 * (namespaces of a run that was killed) by the sweep at the next start.
 */
import { alive, removeNamespaces } from "./cleanup";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO_ROOT = path.resolve(__dirname, "..");

export interface CommandResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

export interface CommandOptions {
    readonly input?: string;
    readonly timeoutMs?: number;
    readonly env?: NodeJS.ProcessEnv;
    readonly cwd?: string;
}

/** Runs a command to completion; killed after `timeoutMs` (default 30 s). */
export function runCommand(argv: readonly string[], options: CommandOptions = {}): CommandResult {
    const r = spawnSync(argv[0], argv.slice(1), {
        input: options.input ?? "",
        timeout: options.timeoutMs ?? 30_000,
        killSignal: "SIGKILL",
        encoding: "utf8",
        env: options.env ?? process.env,
        cwd: options.cwd,
        maxBuffer: 64 * 1024 * 1024,
    });
    return { code: r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? `\n[${r.error.message}]` : "") };
}

export function describeCommand(argv: readonly string[], r: CommandResult): string {
    return `${argv.join(" ")} -> exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

function runOk(argv: readonly string[], options: CommandOptions = {}): string {
    const r = runCommand(argv, options);
    if (r.code !== 0) throw new Error(`command failed: ${describeCommand(argv, r)}`);
    return r.stdout;
}

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
        if (runCommand(["sh", "-c", `command -v ${tool}`]).code !== 0) return { problem: `${tool} not found (a Debian or Ubuntu machine unpacks the libreswan package)` };
    }
    const debs = `${target}-deb`;
    fs.rmSync(debs, { recursive: true, force: true });
    fs.mkdirSync(debs, { recursive: true, mode: 0o755 });
    const download = runCommand(["apt-get", "download", "libreswan", ...PLUTO_EXTRA_LIBRARIES], { cwd: debs, timeoutMs: 180_000 });
    const files = fs.readdirSync(debs).filter((f) => f.endsWith(".deb"));
    if (!files.some((f) => f.startsWith("libreswan_"))) {
        return { problem: `apt-get download libreswan failed: ${(download.stderr || download.stdout).trim().split("\n").slice(-3).join(" ")}` };
    }
    const staging = `${target}.partial`;
    fs.rmSync(staging, { recursive: true, force: true });
    for (const f of files) {
        const x = runCommand(["dpkg", "-x", path.join(debs, f), staging], { timeoutMs: 120_000 });
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
export function addconnCheck(root: string, file: string): CommandResult {
    return runCommand([libreswanTool(root, "addconn"), "--config", file, "--checkconfig"]);
}

/** Libreswan's algorithm parser on one `ike=` or `esp=` value; prints the canonical proposals. */
export function algparse(root: string, kind: "ike" | "esp", value: string, ikeVersion: 1 | 2, pfs: boolean): CommandResult {
    return runCommand([libreswanTool(root, "algparse"), ikeVersion === 1 ? "-v1" : "-v2", ...(pfs ? ["-pfs"] : []), `${kind}=${value}`], { timeoutMs: 10_000 });
}

/** Why pluto cannot run here (libraries, tools, privileges), or undefined. */
export function plutoUnavailableReason(root: string): string | undefined {
    if (process.platform !== "linux") return `needs Linux, this is ${process.platform}`;
    if (process.getuid?.() !== 0) return "needs root (network and mount namespaces)";
    for (const tool of ["ip", "unshare", "nsenter", "certutil", "iptables"]) {
        if (runCommand(["sh", "-c", `command -v ${tool}`]).code !== 0) return `${tool} not installed${tool === "certutil" ? " (libnss3-tools: ipsec initnss needs it)" : ""}`;
    }
    const pluto = libreswanTool(root, "pluto");
    if (!executable(pluto)) return `${pluto} not found`;
    const ldd = runCommand(["ldd", pluto], { env: plutoEnv(root) });
    const missing = ldd.stdout.split("\n").filter((l) => l.includes("not found")).map((l) => l.trim().split(" ")[0]);
    if (missing.length > 0) return `pluto's libraries not found: ${missing.join(", ")} (install them, or unpack ${PLUTO_EXTRA_LIBRARIES.join(" ")} next to libreswan)`;
    for (const fsType of ["overlay", "tmpfs"]) {
        if (!fs.readFileSync("/proc/filesystems", "utf8").split("\n").some((l) => l.trim().endsWith(fsType))) return `the kernel has no ${fsType} file system`;
    }
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// Cleanup registry
// ---------------------------------------------------------------------------------------------

const livePids = new Set<number>();
const liveNamespaces = new Set<string>();
const scratch = new Set<string>();
let handlersInstalled = false;

function kill(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(pid, signal);
    } catch {
        // gone
    }
}

/** Kills whatever runs in one of our namespaces, then deletes it (lab/cleanup.ts does both). */
function deleteNamespace(ns: string): void {
    if (!/^pvk-\d+-[a-z0-9-]+$/.test(ns)) throw new Error(`refusing to delete ${ns}: not a pvk- lab namespace`);
    removeNamespaces([ns]);
    liveNamespaces.delete(ns);
}

function cleanupAll(): void {
    for (const pid of livePids) kill(pid, "SIGKILL");
    livePids.clear();
    for (const ns of [...liveNamespaces]) deleteNamespace(ns);
    for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
    scratch.clear();
}

function installHandlers(): void {
    if (handlersInstalled) return;
    handlersInstalled = true;
    process.on("exit", cleanupAll);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(sig, () => {
            cleanupAll();
            process.exit(sig === "SIGINT" ? 130 : 143);
        });
    }
}

/** pvk- namespaces of lab runs whose process is gone (killed before cleaning up); deleted. */
export function sweepStaleLibreswanNamespaces(): string[] {
    const stale = runCommand(["ip", "netns", "list"]).stdout.split("\n").map((l) => l.split(" ")[0]).filter((n) => {
        const m = /^pvk-(\d+)-/.exec(n);
        return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
    });
    for (const ns of stale) deleteNamespace(ns);
    return stale;
}

/** Every pvk- namespace of this process still present (tests assert none is left). */
export function listLibreswanNamespaces(): string[] {
    return runCommand(["ip", "netns", "list"]).stdout.split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith(`pvk-${process.pid}-`));
}

// ---------------------------------------------------------------------------------------------
// Nodes: a network namespace plus a private mount namespace held by a sleeping process
// ---------------------------------------------------------------------------------------------

let counter = 0;

export interface NodeOptions {
    /** Unpacked libreswan to overlay onto /usr/libexec and /usr/sbin (an endpoint node). */
    readonly libreswanRoot?: string;
    /** Folders that get an empty private tmpfs (created through the /etc overlay when under /etc). */
    readonly tmpfs?: readonly string[];
    /** Addresses to put on lo (no dummy interfaces on this kernel). */
    readonly loAddresses?: readonly string[];
}

export class LabNode {
    readonly ns: string;
    readonly dir: string;
    private holder?: ChildProcess;
    private readonly daemons = new Map<string, { proc: ChildProcess; log: string[] }>();

    private constructor(label: string) {
        installHandlers();
        if (!/^[a-z][a-z0-9-]{0,15}$/.test(label)) throw new Error(`bad node label ${label}`);
        this.ns = `pvk-${process.pid}-${label}-${++counter}`;
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `pvk-${label}-`));
        scratch.add(this.dir);
        liveNamespaces.add(this.ns);
        runOk(["ip", "netns", "add", this.ns]);
        runOk(["ip", "-n", this.ns, "link", "set", "lo", "up"]);
    }

    /** A network namespace with a private mount namespace (tmpfs /run, copy-on-write /etc and /var/lib). */
    static async start(label: string, options: NodeOptions = {}): Promise<LabNode> {
        const node = new LabNode(label);
        try {
            for (const a of options.loAddresses ?? []) runOk(["ip", "-n", node.ns, "addr", "add", a, "dev", "lo"]);
            await node.startHolder(options);
        } catch (err) {
            node.destroy();
            throw err;
        }
        return node;
    }

    private holderScript(options: NodeOptions): string {
        const lines = [
            "set -eu",
            "mount -t tmpfs -o mode=0755 pvk-run /run",
            "mkdir -p /run/pvk/etc-u /run/pvk/etc-w /run/pvk/var-u /run/pvk/var-w /run/pluto",
            "mount -t overlay pvk-etc -o lowerdir=/etc,upperdir=/run/pvk/etc-u,workdir=/run/pvk/etc-w /etc",
            "mount -t overlay pvk-var -o lowerdir=/var/lib,upperdir=/run/pvk/var-u,workdir=/run/pvk/var-w /var/lib",
        ];
        if (options.libreswanRoot) {
            const root = options.libreswanRoot;
            if (!/^\/[A-Za-z0-9/._-]+$/.test(root)) throw new Error(`bad libreswan folder ${root}`);
            lines.push(
                // Read-only overlays (two lower layers, no upper): the package's files over the host's.
                `mount -t overlay pvk-libexec -o lowerdir=${root}/usr/libexec:/usr/libexec /usr/libexec`,
                `mount -t overlay pvk-sbin -o lowerdir=${root}/usr/sbin:/usr/sbin /usr/sbin`,
                "mkdir -p /etc/ipsec.d /var/lib/ipsec/nss",
                `cp ${root}/etc/ipsec.conf ${root}/etc/ipsec.secrets /etc/`,
                "chmod 0600 /etc/ipsec.secrets",
            );
        }
        for (const dir of options.tmpfs ?? []) {
            if (!/^\/[A-Za-z0-9/._-]+$/.test(dir)) throw new Error(`bad folder ${dir}`);
            lines.push(`mkdir -p ${dir}`, `mount -t tmpfs -o mode=0755 pvk-tmp ${dir}`);
        }
        lines.push("echo PVK-READY", "exec sleep 7200");
        return lines.join("\n");
    }

    private async startHolder(options: NodeOptions): Promise<void> {
        const argv = ["ip", "netns", "exec", this.ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", this.holderScript(options)];
        const holder = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
        this.holder = holder;
        if (holder.pid) livePids.add(holder.pid);
        let out = "";
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`node holder not ready after 10 s: ${out}`)), 10_000);
            holder.stdout?.on("data", (d: Buffer) => {
                out += d.toString();
                if (out.includes("PVK-READY")) {
                    clearTimeout(timer);
                    resolve();
                }
            });
            holder.stderr?.on("data", (d: Buffer) => (out += d.toString()));
            holder.on("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`node holder exited (${code}): ${out}`));
            });
        });
    }

    get holderPid(): number {
        if (!this.holder?.pid) throw new Error("node has no holder");
        return this.holder.pid;
    }

    /** argv running `cmd` in this node's network and mount namespaces. */
    argv(cmd: readonly string[]): string[] {
        return ["nsenter", "-t", String(this.holderPid), "-m", "-n", ...cmd];
    }

    run(cmd: readonly string[], options?: CommandOptions): CommandResult {
        return runCommand(this.argv(cmd), options);
    }

    runOk(cmd: readonly string[], options?: CommandOptions): string {
        return runOk(this.argv(cmd), options);
    }

    sh(script: string, options?: CommandOptions): CommandResult {
        return this.run(["bash", "-c", script], options);
    }

    writeFile(absPath: string, content: string, mode = "0644"): void {
        this.runOk(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"', "sh", absPath, mode], { input: content });
    }

    readFile(absPath: string): string {
        return this.runOk(["cat", absPath]);
    }

    /** Starts a long-running process in the node; its output is collected for `log(name)`. */
    spawnDaemon(name: string, cmd: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess {
        const argv = this.argv(cmd);
        const proc = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
        if (proc.pid) livePids.add(proc.pid);
        const log: string[] = [];
        proc.stdout?.on("data", (d: Buffer) => log.push(d.toString()));
        proc.stderr?.on("data", (d: Buffer) => log.push(d.toString()));
        this.daemons.set(name, { proc, log });
        return proc;
    }

    log(name: string): string {
        return this.daemons.get(name)?.log.join("") ?? "";
    }

    /** Stops a daemon (TERM, then KILL after 3 s) and waits until it is gone. */
    async stopDaemon(name: string): Promise<void> {
        const d = this.daemons.get(name);
        if (!d?.proc.pid) return;
        const proc = d.proc;
        const pid = d.proc.pid;
        if (proc.exitCode === null && proc.signalCode === null) {
            const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
            kill(pid, "SIGTERM");
            const timer = setTimeout(() => kill(pid, "SIGKILL"), 3000);
            await exited;
            clearTimeout(timer);
        }
        livePids.delete(pid);
    }

    /** Kills everything in the node, deletes the namespace and the scratch folder. */
    destroy(): void {
        for (const { proc } of this.daemons.values()) {
            if (proc.pid) {
                kill(proc.pid, "SIGKILL");
                livePids.delete(proc.pid);
            }
        }
        if (this.holder?.pid) livePids.delete(this.holder.pid);
        if (liveNamespaces.has(this.ns)) deleteNamespace(this.ns);
        fs.rmSync(this.dir, { recursive: true, force: true });
        scratch.delete(this.dir);
    }
}

/** A veth pair between two nodes, each end with an address (no link to the root namespace). */
export function link(a: LabNode, aAddr: string, b: LabNode, bAddr: string): void {
    const n = ++counter;
    const ea = `pvk${n}a`;
    const eb = `pvk${n}b`;
    runOk(["ip", "link", "add", ea, "netns", a.ns, "type", "veth", "peer", "name", eb, "netns", b.ns]);
    for (const [node, dev, addr] of [[a, ea, aAddr], [b, eb, bAddr]] as const) {
        runOk(["ip", "-n", node.ns, "addr", "add", addr, "dev", dev]);
        runOk(["ip", "-n", node.ns, "link", "set", dev, "up"]);
    }
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

export interface PlutoNodeOptions {
    readonly ike: 1 | 2;
    readonly loAddresses?: readonly string[];
    /** Extra private tmpfs folders (e.g. /etc/partner-vpn, /usr/local/sbin for the apply script). */
    readonly tmpfs?: readonly string[];
    /** Files put in place before pluto starts (absolute path -> content, mode). */
    readonly files?: readonly { path: string; content: string; mode: string }[];
}

/** An endpoint-like node with pluto running as on the endpoint (distribution paths, bootstrap's ipsec.conf). */
export class PlutoNode {
    /** Wraps a node started with `libreswanRoot: root`; `start` makes one. */
    constructor(readonly node: LabNode, readonly root: string) {}

    static async start(label: string, root: string, options: PlutoNodeOptions): Promise<PlutoNode> {
        const node = await LabNode.start(label, { libreswanRoot: root, loAddresses: options.loAddresses, tmpfs: options.tmpfs });
        const p = new PlutoNode(node, root);
        try {
            node.writeFile("/etc/ipsec.conf", bootstrapIpsecConf(options.ike));
            for (const f of options.files ?? []) node.writeFile(f.path, f.content, f.mode);
            node.runOk(["ipsec", "initnss"]);
            await p.startPluto();
        } catch (err) {
            node.destroy();
            throw err;
        }
        return p;
    }

    /** Starts pluto in the foreground (as ipsec.service runs it); resolves once whack answers. */
    async startPluto(): Promise<void> {
        const proc = this.node.spawnDaemon("pluto", ["/usr/libexec/ipsec/pluto", "--nofork", "--stderrlog", "--config", "/etc/ipsec.conf"], plutoEnv(this.root));
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
            if (proc.exitCode !== null) throw new Error(`pluto exited (${proc.exitCode}):\n${this.log}`);
            if (this.node.run(["ipsec", "whack", "--status"], { timeoutMs: 5000 }).code === 0) return;
            await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`pluto did not answer within 15 s:\n${this.log}`);
    }

    async stopPluto(): Promise<void> {
        await this.node.stopDaemon("pluto");
    }

    get log(): string {
        return this.node.log("pluto");
    }

    /** `ipsec whack --status` lines of one conn, without the `000 "name":` prefix. */
    connStatus(name: string): string[] {
        const status = this.node.runOk(["ipsec", "whack", "--status"]);
        const prefix = new RegExp(`^(000 )?"${name}":\\s*`);
        return status.split("\n").filter((l) => prefix.test(l)).map((l) => l.replace(prefix, ""));
    }

    /** The conn names pluto has loaded. */
    conns(): string[] {
        const status = this.node.runOk(["ipsec", "whack", "--status"]);
        const names = new Set<string>();
        for (const l of status.split("\n")) {
            const m = /^(?:000 )?"([^"]+)": \S+===/.exec(l);
            if (m) names.add(m[1]);
        }
        return [...names].sort();
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
        this.node.destroy();
    }
}

/** A lab-only strongswan.conf: userspace ESP (kernel-libipsec), since this kernel has no ESP. */
export const LAB_STRONGSWAN_CONF = [
    "charon {",
    "    load_modular = yes",
    "    plugins {",
    "        include /etc/strongswan.d/charon/*.conf",
    "        kernel-libipsec {",
    "            load = yes",
    "        }",
    "    }",
    "}",
    "",
].join("\n");

export const CHARON_PATH = "/usr/lib/ipsec/charon";

/** The partner's gateway: strongSwan's charon (kernel-libipsec) in a node with a private /run. */
export class CharonNode {
    private constructor(readonly node: LabNode) {}

    static async start(label: string, loAddresses: readonly string[]): Promise<CharonNode> {
        const node = await LabNode.start(label, { loAddresses });
        const c = new CharonNode(node);
        try {
            fs.writeFileSync(path.join(node.dir, "strongswan.conf"), LAB_STRONGSWAN_CONF);
            const proc = node.spawnDaemon("charon", ["env", `STRONGSWAN_CONF=${path.join(node.dir, "strongswan.conf")}`, CHARON_PATH]);
            const deadline = Date.now() + 15_000;
            for (;;) {
                if (proc.exitCode !== null) throw new Error(`charon exited (${proc.exitCode}):\n${node.log("charon")}`);
                if (node.run(["swanctl", "--stats"], { timeoutMs: 5000 }).code === 0) break;
                if (Date.now() > deadline) throw new Error(`charon did not answer within 15 s:\n${node.log("charon")}`);
                await new Promise((r) => setTimeout(r, 200));
            }
        } catch (err) {
            node.destroy();
            throw err;
        }
        return c;
    }

    /** Loads a swanctl.conf (connections and secrets) from a scratch folder. */
    load(swanctlConf: string): CommandResult {
        const dir = path.join(this.node.dir, `swanctl-${++counter}`);
        fs.mkdirSync(dir, { recursive: true });
        for (const d of ["x509", "x509ca", "x509ocsp", "x509aa", "x509ac", "x509crl", "pubkey", "private", "rsa", "ecdsa", "bliss", "pkcs8", "pkcs12"]) fs.mkdirSync(path.join(dir, d));
        fs.writeFileSync(path.join(dir, "swanctl.conf"), swanctlConf, { mode: 0o600 });
        return this.node.run(["swanctl", "--load-all", "--noprompt", "--file", path.join(dir, "swanctl.conf")]);
    }

    listSas(): string {
        return this.node.runOk(["swanctl", "--list-sas"]);
    }

    destroy(): void {
        this.node.destroy();
    }
}

/**
 * The seed's topology with an emulated EIP 1:1 NAT, for pluto vs. charon:
 * ep (our endpoint, 172.16.0.5, NAT address 192.0.2.23 on lo) -- aws (172.16.0.1 | 198.51.100.1,
 * DNAT/SNAT 198.51.100.1 <-> 172.16.0.5) -- pgw (partner gateway 198.51.100.2, hosts on lo).
 */
export interface IkeLab {
    readonly ep: PlutoNode;
    readonly aws: LabNode;
    readonly pgw: CharonNode;
    destroy(): void;
}

export const IKE_LAB = {
    privateIp: "172.16.0.5",
    tunnelIp: "198.51.100.1",
    natIp: "192.0.2.23",
    gatewayIp: "198.51.100.2",
    partnerHosts: ["203.0.113.7", "203.0.113.8"],
} as const;

export async function buildIkeLab(root: string, ike: 1 | 2, files: PlutoNodeOptions["files"], options: { startPluto?: boolean } = {}): Promise<IkeLab> {
    const made: { destroy(): void }[] = [];
    const teardown = () => {
        for (const m of made.reverse()) m.destroy();
    };
    try {
        const aws = await LabNode.start("aws");
        made.push(aws);
        const pgw = await CharonNode.start("pgw", IKE_LAB.partnerHosts.map((h) => `${h}/32`));
        made.push(pgw);
        // pluto binds IKE sockets to the addresses present when it starts: link ep first.
        const epNode = await LabNode.start("ep", { libreswanRoot: root, loAddresses: [`${IKE_LAB.natIp}/32`] });
        made.push(epNode);
        link(epNode, `${IKE_LAB.privateIp}/24`, aws, "172.16.0.1/24");
        link(aws, `${IKE_LAB.tunnelIp}/24`, pgw.node, `${IKE_LAB.gatewayIp}/24`);
        runOk(["ip", "-n", epNode.ns, "route", "add", "default", "via", "172.16.0.1"]);
        aws.runOk(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        aws.runOk(["iptables", "-w", "-t", "nat", "-A", "PREROUTING", "-d", IKE_LAB.tunnelIp, "-j", "DNAT", "--to-destination", IKE_LAB.privateIp]);
        aws.runOk(["iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", IKE_LAB.privateIp, "-j", "SNAT", "--to-source", IKE_LAB.tunnelIp]);
        epNode.writeFile("/etc/ipsec.conf", bootstrapIpsecConf(ike));
        for (const f of files ?? []) epNode.writeFile(f.path, f.content, f.mode);
        epNode.runOk(["ipsec", "initnss"]);
        const ep = new PlutoNode(epNode, root);
        if (options.startPluto !== false) await ep.startPluto();
        return { ep, aws, pgw, destroy: teardown };
    } catch (err) {
        teardown();
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
