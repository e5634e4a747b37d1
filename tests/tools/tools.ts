/**
 * Helpers for the renderer unit tests (tests/unit/render*.test.ts) and the real-tool tests
 * (tests/tools/*.test.ts):
 * - stack fixtures: the dev stacks parsed from Pulumi.dev*.yaml and validated by the real validator,
 *   plus variants (IKEv1, classic with a tcp proxy, inbound port mappings), rendered for one partner;
 * - `requireTool` / `requireRoot`: the one place that decides whether a tool test runs, skips with a
 *   printed reason, or (with REQUIRE_TOOLS=1) fails because its tool or privilege is missing;
 * - throwaway `pvt-` network namespaces and "nodes" (a network namespace plus a private mount
 *   namespace with tmpfs over /run and the endpoint's config folders), always torn down.
 * Nothing here touches the host's /etc, and no namespace is linked to the root namespace, so no
 * packet leaves them.
 */
import { alive, removeNamespaces } from "../../lab/cleanup";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { EndpointAddresses, PartnerModel, RenderedFile, StackModel } from "../../core/model";
import { contentHashes, renderApplyScript, renderEndpointFiles } from "../../core/render";
import { validateStackConfig } from "../../core/validate";
import { skipOrFail } from "../gates";
import { readStackConfig } from "../../program/stackFile";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

// ---------------------------------------------------------------------------------------------
// Stack fixtures
// ---------------------------------------------------------------------------------------------

/** Addresses the renderers get in every test: documentation ranges only. */
export const ADDRESSES: EndpointAddresses = { natIp: "192.0.2.23", tunnelIp: "198.51.100.1" };

/** A test PSK (never used outside tests). */
export const TEST_PSK = "pvt-test-key-Zq8wR2nX5vL0cT7y";

export type RawStack = Record<string, unknown>;

/** The plain `partner-vpn:` keys of a stack file in the repository (what the program validates). */
export function repoStackConfig(file: string): RawStack {
    return readStackConfig(path.join(REPO_ROOT, file));
}

/** Validates raw stack config with the real validator; throws with every issue when it is invalid. */
export function modelOf(raw: RawStack): StackModel {
    const result = validateStackConfig(raw);
    if (!result.ok) {
        throw new Error(`fixture does not validate:\n${result.errors.map((e) => `  ${e.path}: ${e.message}`).join("\n")}`);
    }
    return result.model;
}

/** A deep copy of the raw config with its first partner changed by `edit`. */
export function editFirstPartner(raw: RawStack, edit: (p: Record<string, unknown>) => void): RawStack {
    const copy = JSON.parse(JSON.stringify(raw)) as RawStack;
    const partners = copy.partners as Record<string, unknown>[];
    edit(partners[0]);
    return copy;
}

export const DEV = "Pulumi.dev.yaml";
export const DEV_CLASSIC = "Pulumi.dev-classic.yaml";

/** A value computed on first use: fixtures are built inside hooks and tests, not while mocha
 *  loads the files, so a fixture the validator rejects fails its own tests instead of the run. */
export function once<T>(make: () => T): () => T {
    let done = false;
    let value: T | undefined;
    return () => {
        if (!done) {
            value = make();
            done = true;
        }
        return value as T;
    };
}

export interface StackVariant {
    /** Short name for test titles and namespace names. */
    readonly name: string;
    /** Validated on first access. */
    readonly model: StackModel;
}

function variant(name: string, raw: () => RawStack): StackVariant {
    const model = once(() => modelOf(raw()));
    return {
        name,
        get model(): StackModel {
            return model();
        },
    };
}

/** IKEv1 with the legacy proposals partners still ask for (aes256-sha1-modp1024), allowed as weak. */
export function ikev1Raw(): RawStack {
    return editFirstPartner(repoStackConfig(DEV), (p) => {
        p.ike = {
            version: 1,
            ikeProposals: ["aes256-sha1-modp1024"],
            espProposals: ["aes256-sha1"],
            ikeLifetime: 86400,
            childLifetime: 28800,
            dpdDelay: 0,
            allowWeakAlgorithms: true,
        };
    });
}

/** classic-proxy with an http and a tcp proxy (stream module) and a partner-initiated tcp mapping. */
export function classicTcpRaw(): RawStack {
    return editFirstPartner(repoStackConfig(DEV_CLASSIC), (p) => {
        p.proxies = [
            { listenPort: 8080, protocol: "http", remoteHost: "110.220.10.7", remotePort: 80 },
            { listenPort: 15432, protocol: "tcp", remoteHost: "110.220.10.135", remotePort: 5432 },
        ];
        p.inbound = [{ from: ["110.220.10.7"], protocol: "tcp", port: 8443, target: "172.16.0.10", targetPort: 443 }];
    });
}

/** vpc-routing with port mappings of both protocols and a /28 partner network. */
export function inboundPortsRaw(): RawStack {
    return editFirstPartner(repoStackConfig(DEV), (p) => {
        p.remoteHosts = ["110.220.10.7", "110.220.10.9", "110.220.10.128/28"];
        p.inbound = [
            { from: ["110.220.10.7"], protocol: "tcp", port: 8443, target: "172.16.0.10", targetPort: 443 },
            { from: ["110.220.10.128/28"], protocol: "udp", port: 5060, target: "172.16.0.11" },
            { from: ["110.220.10.9"], target: "172.16.0.12" },
        ];
    });
}

/** The two dev stacks and the variants, each validated on first access of its model. */
export function stackVariants(): StackVariant[] {
    return [
        variant("dev", () => repoStackConfig(DEV)),
        variant("dev-classic", () => repoStackConfig(DEV_CLASSIC)),
        variant("ikev1", ikev1Raw),
        variant("classic-tcp", classicTcpRaw),
        variant("inbound-ports", inboundPortsRaw),
    ];
}

export interface RenderedPartner {
    readonly model: StackModel;
    readonly partner: PartnerModel;
    readonly files: RenderedFile[];
    readonly generation: string;
    readonly apply: string;
    /** The file with the given role-ish suffix of its path. */
    file(suffix: string): RenderedFile;
}

/** Renders everything for the first partner of a model (or the given partner model). */
export function renderPartner(model: StackModel, partner: PartnerModel = model.partners[0], psk = TEST_PSK): RenderedPartner {
    const files = renderEndpointFiles(model, partner, ADDRESSES, psk);
    const generation = contentHashes(files).generation;
    const apply = renderApplyScript(partner, files, generation);
    return {
        model,
        partner,
        files,
        generation,
        apply,
        file(suffix: string): RenderedFile {
            const found = files.find((f) => f.path.endsWith(suffix));
            if (!found) throw new Error(`no rendered file ends with ${suffix}: ${files.map((f) => f.path).join(", ")}`);
            return found;
        },
    };
}

/** A copy of a partner model with fields replaced, bypassing validation (for hostile-input tests). */
export function withPartner(partner: PartnerModel, changes: Record<string, unknown>): PartnerModel {
    return { ...partner, ...changes } as PartnerModel;
}

export function withIke(partner: PartnerModel, changes: Record<string, unknown>): PartnerModel {
    return { ...partner, ike: { ...partner.ike, ...changes } } as PartnerModel;
}

// ---------------------------------------------------------------------------------------------
// Running tools, skipping or failing when they are missing
// ---------------------------------------------------------------------------------------------

export { skipOrFail } from "../gates";

const SEARCH_DIRS = [...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/local/sbin", "/usr/sbin", "/sbin"];

/** The absolute path of an executable (a bare name is looked up in PATH and the sbin folders). */
export function findTool(name: string): string | undefined {
    const candidates = name.includes("/") ? [name] : SEARCH_DIRS.map((d) => path.join(d, name));
    return candidates.find((c) => {
        try {
            fs.accessSync(c, fs.constants.X_OK);
            return fs.statSync(c).isFile();
        } catch {
            return false;
        }
    });
}

/** Every named tool must be installed; otherwise skip (or fail with REQUIRE_TOOLS=1). */
export function requireTool(ctx: Mocha.Context, ...names: string[]): void {
    const missing = names.filter((n) => !findTool(n));
    if (missing.length > 0) skipOrFail(ctx, `tool${missing.length > 1 ? "s" : ""} not installed: ${missing.join(", ")}`);
}

/** A file the test needs (e.g. a loadable nginx module) must exist; otherwise skip or fail. */
export function requireFile(ctx: Mocha.Context, file: string, what: string): void {
    if (!fs.existsSync(file)) skipOrFail(ctx, `${what} not installed (${file})`);
}

let netnsProbe: string | undefined | null = null;

/** Root, and the right to create network namespaces and mount tmpfs (a container may deny it). */
export function requireRoot(ctx: Mocha.Context): void {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) skipOrFail(ctx, "not running as root (network namespaces and mounts need it)");
    requireTool(ctx, "ip", "unshare", "nsenter");
    if (netnsProbe === null) {
        const swept = sweepStaleTestNamespaces();
        if (swept.length > 0) console.log(`      [cleanup] removed namespaces left by an earlier, killed run: ${swept.join(", ")}`);
        const name = `pvt-probe-${process.pid}`;
        const add = run(["ip", "netns", "add", name]);
        if (add.code !== 0) {
            netnsProbe = `cannot create a network namespace: ${add.stderr.trim()}`;
        } else {
            const mount = run(["ip", "netns", "exec", name, "unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "pvt-probe", "/run"]);
            netnsProbe = mount.code === 0 ? undefined : `cannot mount tmpfs in a private mount namespace: ${mount.stderr.trim()}`;
            run(["ip", "netns", "del", name]);
        }
    }
    if (netnsProbe) skipOrFail(ctx, netnsProbe);
}

export interface RunResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

export interface RunOptions {
    readonly input?: string;
    readonly timeoutMs?: number;
    readonly env?: NodeJS.ProcessEnv;
    readonly cwd?: string;
}

/** Runs a command to completion, bounded in time (killed after `timeoutMs`, default 30 s). */
export function run(argv: readonly string[], options: RunOptions = {}): RunResult {
    const r = spawnSync(argv[0], argv.slice(1), {
        input: options.input ?? "",
        timeout: options.timeoutMs ?? 30_000,
        killSignal: "SIGKILL",
        encoding: "utf8",
        env: options.env ?? process.env,
        cwd: options.cwd,
        maxBuffer: 64 * 1024 * 1024,
    });
    const extra = r.error ? `\n[${r.error.message}]` : "";
    return { code: r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + extra };
}

export function describeRun(argv: readonly string[], r: RunResult): string {
    return `${argv.join(" ")} -> exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Like `run`, but throws with the command's output unless it exits 0. Returns stdout. */
export function runOk(argv: readonly string[], options: RunOptions = {}): string {
    const r = run(argv, options);
    if (r.code !== 0) throw new Error(`command failed: ${describeRun(argv, r)}`);
    return r.stdout;
}

// ---------------------------------------------------------------------------------------------
// Scratch folders and namespaces, with cleanup that also runs when the test process dies
// ---------------------------------------------------------------------------------------------

const scratchDirs = new Set<string>();
const liveNamespaces = new Set<string>();
const livePids = new Set<number>();
let exitHandler = false;

function cleanupEverything(): void {
    for (const pid of livePids) killPid(pid, "SIGKILL");
    livePids.clear();
    for (const ns of [...liveNamespaces]) deleteNamespace(ns);
    for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
    scratchDirs.clear();
}

/** Cleanup on normal exit and on SIGINT/SIGTERM/SIGHUP (Ctrl-C, a CI timeout), once per process. */
function installExitHandler(): void {
    if (exitHandler) return;
    exitHandler = true;
    process.on("exit", cleanupEverything);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(sig, () => {
            cleanupEverything();
            process.exit(sig === "SIGINT" ? 130 : 143);
        });
    }
}

/**
 * Deletes `pvt-<pid>-...` namespaces left by a test process that no longer exists (killed before
 * its cleanup ran), with whatever that run had started in them. Namespaces of live runs are kept.
 */
export function sweepStaleTestNamespaces(): string[] {
    const stale = run(["ip", "netns", "list"])
        .stdout.split("\n")
        .map((l) => l.split(" ")[0])
        .filter((n) => {
            const m = /^pvt-(\d+)-/.exec(n);
            return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
        });
    for (const ns of stale) deleteNamespace(ns);
    return stale;
}

/** A fresh scratch folder under the OS temp dir, removed by `removeScratch` or at exit. */
export function scratchDir(label: string): string {
    installExitHandler();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pvt-${label}-`));
    scratchDirs.add(dir);
    return dir;
}

export function removeScratch(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
    scratchDirs.delete(dir);
}

function killPid(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(pid, signal);
    } catch {
        // already gone
    }
}

/** Kills what still runs in one of OUR namespaces, then deletes it (lab/cleanup.ts does both). */
function deleteNamespace(ns: string): void {
    if (!ns.startsWith("pvt-")) throw new Error(`refusing to delete ${ns}: not a pvt- namespace`);
    removeNamespaces([ns]);
    liveNamespaces.delete(ns);
}

let nsCounter = 0;

/** A throwaway network namespace `pvt-<pid>-<label>-<n>` with only `lo` (up). */
export class TestNetns {
    readonly name: string;

    constructor(label: string) {
        installExitHandler();
        this.name = `pvt-${process.pid}-${label}-${++nsCounter}`;
        liveNamespaces.add(this.name);
        runOk(["ip", "netns", "add", this.name]);
        runOk(["ip", "-n", this.name, "link", "set", "lo", "up"]);
    }

    /** Puts an address on `lo` (no dummy interfaces on this kernel). */
    addLoAddress(cidr: string): void {
        runOk(["ip", "-n", this.name, "addr", "add", cidr, "dev", "lo"]);
    }

    argv(cmd: readonly string[]): string[] {
        return ["ip", "netns", "exec", this.name, ...cmd];
    }

    run(cmd: readonly string[], options?: RunOptions): RunResult {
        return run(this.argv(cmd), options);
    }

    runOk(cmd: readonly string[], options?: RunOptions): string {
        return runOk(this.argv(cmd), options);
    }

    destroy(): void {
        deleteNamespace(this.name);
    }
}

/** Every pvt- namespace currently on the machine (to assert none of ours is left behind). */
export function listTestNamespaces(): string[] {
    return run(["ip", "netns", "list"])
        .stdout.split("\n")
        .map((l) => l.split(" ")[0])
        .filter((n) => n.startsWith(`pvt-${process.pid}-`));
}

export interface NodeOptions {
    /** Folders that get an empty private tmpfs (created first if missing, through the /etc overlay). */
    readonly tmpfs?: readonly string[];
    /** Give /etc a copy-on-write overlay whose upper layer is in the node's /run tmpfs, so that
     *  missing folders (e.g. /etc/partner-vpn) can be created without touching the host's /etc. */
    readonly overlayEtc?: boolean;
    /** Mount a private tmpfs over /etc/swanctl holding a copy of the distribution's layout
     *  (swanctl.conf with `include conf.d/*.conf`, the credential folders), with conf.d empty. */
    readonly distroSwanctl?: boolean;
    /** Addresses to put on `lo`. */
    readonly loAddresses?: readonly string[];
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

export const CHARON = "/usr/lib/ipsec/charon";

/**
 * A throwaway endpoint-like node: a `pvt-` network namespace plus a private mount namespace held
 * open by a sleeping holder process, with a fresh tmpfs on /run (charon's vici socket and pid,
 * nginx's pid, the apply's stage and lock) and the requested private folders. Every command runs
 * in both namespaces through `nsenter -t <holder>`.
 */
export class TestNode {
    readonly netns: TestNetns;
    readonly dir: string;
    private holder?: ChildProcess;
    private charon?: ChildProcess;
    private charonLog = "";

    private constructor(label: string) {
        this.netns = new TestNetns(label);
        this.dir = scratchDir(label);
    }

    static async start(label: string, options: NodeOptions = {}): Promise<TestNode> {
        const node = new TestNode(label);
        try {
            for (const a of options.loAddresses ?? []) node.netns.addLoAddress(a);
            await node.startHolder(options);
        } catch (err) {
            node.destroy();
            throw err;
        }
        return node;
    }

    get holderPid(): number {
        if (!this.holder?.pid) throw new Error("node has no holder");
        return this.holder.pid;
    }

    private holderScript(options: NodeOptions): string {
        const lines = ["set -eu", "mount -t tmpfs -o mode=0755 pvt-run /run"];
        if (options.overlayEtc) {
            lines.push(
                "mkdir -p /run/pvt/etc-upper /run/pvt/etc-work",
                "mount -t overlay pvt-etc -o lowerdir=/etc,upperdir=/run/pvt/etc-upper,workdir=/run/pvt/etc-work /etc",
            );
        }
        for (const dir of options.tmpfs ?? []) {
            if (!/^\/[A-Za-z0-9/._-]+$/.test(dir)) throw new Error(`bad folder ${dir}`);
            if (!options.overlayEtc || !dir.startsWith("/etc/")) lines.push(`[ -d ${dir} ] || { echo "missing mount point ${dir}" >&2; exit 1; }`);
            else lines.push(`mkdir -p ${dir}`);
            lines.push(`mount -t tmpfs -o mode=0755 pvt-tmp ${dir}`);
        }
        if (options.distroSwanctl) {
            lines.push(
                "mkdir -p /run/pvt/swanctl-orig",
                "cp -a /etc/swanctl/. /run/pvt/swanctl-orig/",
                "mount -t tmpfs -o mode=0755 pvt-swanctl /etc/swanctl",
                "cp -a /run/pvt/swanctl-orig/. /etc/swanctl/",
                "rm -rf /run/pvt/swanctl-orig",
                "find /etc/swanctl/conf.d -mindepth 1 -delete",
                "grep -q '^include conf.d/\\*.conf' /etc/swanctl/swanctl.conf || echo 'include conf.d/*.conf' >/etc/swanctl/swanctl.conf",
            );
        }
        lines.push("echo PVT-READY", "exec sleep 3600");
        return lines.join("\n");
    }

    private async startHolder(options: NodeOptions): Promise<void> {
        const argv = this.netns.argv(["unshare", "--mount", "--propagation", "private", "sh", "-c", this.holderScript(options)]);
        const holder = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
        this.holder = holder;
        if (holder.pid) livePids.add(holder.pid);
        let out = "";
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`node holder not ready after 10 s: ${out}`)), 10_000);
            const onData = (d: Buffer): void => {
                out += d.toString();
                if (out.includes("PVT-READY")) {
                    clearTimeout(timer);
                    resolve();
                }
            };
            holder.stdout?.on("data", onData);
            holder.stderr?.on("data", (d: Buffer) => (out += d.toString()));
            holder.on("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`node holder exited (${code}): ${out}`));
            });
        });
    }

    /** argv running `cmd` inside this node's network and mount namespaces. */
    argv(cmd: readonly string[]): string[] {
        return ["nsenter", "-t", String(this.holderPid), "-m", "-n", ...cmd];
    }

    run(cmd: readonly string[], options?: RunOptions): RunResult {
        return run(this.argv(cmd), options);
    }

    runOk(cmd: readonly string[], options?: RunOptions): string {
        return runOk(this.argv(cmd), options);
    }

    /** A shell snippet run with bash inside the node. */
    sh(script: string, options?: RunOptions): RunResult {
        return this.run(["bash", "-c", script], options);
    }

    shOk(script: string, options?: RunOptions): string {
        return this.runOk(["bash", "-c", script], options);
    }

    /** Writes a file as the node sees it. */
    writeFile(absPath: string, content: string, mode = "0644"): void {
        this.runOk(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"', "sh", absPath, mode], { input: content });
    }

    readFile(absPath: string): string {
        return this.runOk(["cat", absPath]);
    }

    exists(absPath: string): boolean {
        return this.run(["test", "-e", absPath]).code === 0;
    }

    /**
     * Starts charon in the node with the lab strongswan.conf; resolves once vici answers.
     * `withoutPlugins` keeps those installed plugins from loading (an endpoint missing a package).
     */
    async startCharon(withoutPlugins: readonly string[] = []): Promise<void> {
        const conf = path.join(this.dir, "strongswan.conf");
        const disabled = withoutPlugins.map((p) => `        ${p} {\n            load = no\n        }\n`).join("");
        fs.writeFileSync(conf, LAB_STRONGSWAN_CONF.replace("        kernel-libipsec {", `${disabled}        kernel-libipsec {`));
        const argv = this.argv(["env", `STRONGSWAN_CONF=${conf}`, CHARON]);
        const charon = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
        this.charon = charon;
        if (charon.pid) livePids.add(charon.pid);
        charon.stdout?.on("data", (d: Buffer) => (this.charonLog += d.toString()));
        charon.stderr?.on("data", (d: Buffer) => (this.charonLog += d.toString()));
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
            if (charon.exitCode !== null) throw new Error(`charon exited (${charon.exitCode}):\n${this.charonLog}`);
            if (this.run(["swanctl", "--stats"], { timeoutMs: 5000 }).code === 0) return;
            await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`charon did not answer on vici within 15 s:\n${this.charonLog}`);
    }

    get charonOutput(): string {
        return this.charonLog;
    }

    /** Stops charon (TERM, then KILL) and waits until it is gone. */
    async stopCharon(): Promise<void> {
        const charon = this.charon;
        if (!charon?.pid) return;
        if (charon.exitCode === null && charon.signalCode === null) {
            const exited = new Promise<void>((resolve) => charon.once("exit", () => resolve()));
            killPid(charon.pid, "SIGTERM");
            const timer = setTimeout(() => charon.pid && killPid(charon.pid, "SIGKILL"), 3000);
            await exited;
            clearTimeout(timer);
        }
        livePids.delete(charon.pid);
        this.charon = undefined;
    }

    /** Kills everything in the node (charon, nginx, the holder), deletes the namespace and scratch. */
    destroy(): void {
        if (this.charon?.pid) {
            killPid(this.charon.pid, "SIGKILL");
            livePids.delete(this.charon.pid);
        }
        if (this.holder?.pid) livePids.delete(this.holder.pid);
        this.netns.destroy();
        removeScratch(this.dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Output helpers
// ---------------------------------------------------------------------------------------------

/** `iptables-save -t nat` without the timestamp comments and packet counters, for comparisons. */
export function normalizeSave(save: string): string {
    return save
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .map((l) => l.replace(/\[\d+:\d+\]$/, "[0:0]"))
        .join("\n");
}

/** The `-A` rules of one chain in an iptables-save dump, in order. */
export function chainRules(save: string, chain: string): string[] {
    return save.split("\n").filter((l) => l.startsWith(`-A ${chain} `));
}

export interface ListedConn {
    readonly name: string;
    readonly header: string;
    readonly children: { name: string; local: string; remote: string; header: string }[];
}

/** Parses `swanctl --list-conns` into connections and their children with traffic selectors. */
export function parseListConns(text: string): ListedConn[] {
    const conns: ListedConn[] = [];
    let conn: ListedConn | undefined;
    let child: ListedConn["children"][number] | undefined;
    for (const line of text.split("\n")) {
        const top = /^(\S+): (.*)$/.exec(line);
        if (top) {
            conn = { name: top[1], header: top[2], children: [] };
            conns.push(conn);
            child = undefined;
            continue;
        }
        const ch = /^ {2}(\S+): (TUNNEL|TRANSPORT|PASS|DROP|BEET).*$/.exec(line);
        if (ch && conn) {
            child = { name: ch[1], local: "", remote: "", header: line.trim() };
            conn.children.push(child);
            continue;
        }
        const ts = /^ {4}(local|remote): +(.*)$/.exec(line);
        if (ts && child) child[ts[1] as "local" | "remote"] = ts[2].trim();
    }
    return conns;
}

export interface SwanctlSection {
    readonly values: Record<string, string>;
    readonly sections: Record<string, SwanctlSection>;
    /** Section names in order of appearance. */
    readonly order: string[];
}

/**
 * A strict reader for the subset of swanctl.conf syntax the renderer emits: `name {`, `key = value`,
 * `}` and `#` comments, one per line. Throws on anything else, on unbalanced braces and on a
 * section or key defined twice (swanctl would silently merge them).
 */
export function parseSwanctl(text: string): SwanctlSection {
    const root: SwanctlSection = { values: {}, sections: {}, order: [] };
    const stack: SwanctlSection[] = [root];
    text.split("\n").forEach((raw, i) => {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) return;
        const top = stack[stack.length - 1];
        let m: RegExpExecArray | null;
        if ((m = /^([A-Za-z0-9._-]+) \{$/.exec(line))) {
            if (m[1] in top.sections) throw new Error(`line ${i + 1}: section ${m[1]} defined twice`);
            const section: SwanctlSection = { values: {}, sections: {}, order: [] };
            top.sections[m[1]] = section;
            top.order.push(m[1]);
            stack.push(section);
        } else if (line === "}") {
            if (stack.length === 1) throw new Error(`line ${i + 1}: unbalanced }`);
            stack.pop();
        } else if ((m = /^([A-Za-z0-9_-]+) = (.*)$/.exec(line))) {
            if (m[1] in top.values) throw new Error(`line ${i + 1}: ${m[1]} set twice`);
            top.values[m[1]] = m[2];
        } else {
            throw new Error(`line ${i + 1}: unexpected ${JSON.stringify(raw)}`);
        }
    });
    if (stack.length !== 1) throw new Error(`${stack.length - 1} section(s) left open`);
    return root;
}

/** The text of one `name { ... }` block (with its closing brace) inside a rendered config. */
export function blockText(text: string, name: string): string {
    const lines = text.split("\n");
    const start = lines.findIndex((l) => l.trim() === `${name} {`);
    if (start < 0) throw new Error(`no block ${name}`);
    let depth = 0;
    for (let i = start; i < lines.length; i++) {
        if (lines[i].trim().endsWith("{")) depth++;
        if (lines[i].trim() === "}") depth--;
        if (depth === 0) return lines.slice(start, i + 1).join("\n");
    }
    throw new Error(`block ${name} is not closed`);
}

export interface ViciSection {
    readonly values: Record<string, string | string[]>;
    readonly sections: Record<string, ViciSection>;
}

/** Parses `swanctl ... --pretty` output (vici messages) into sections, values and lists. */
export function parseViciPretty(text: string): ViciSection[] {
    const messages: ViciSection[] = [];
    const stack: ViciSection[] = [];
    let list: string[] | undefined;
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "") continue;
        let m: RegExpExecArray | null;
        if (list) {
            if (line === "]") list = undefined;
            else list.push(line);
        } else if (stack.length === 0) {
            if (/ \{$/.test(line)) {
                const msg: ViciSection = { values: {}, sections: {} };
                messages.push(msg);
                stack.push(msg);
            }
        } else if ((m = /^(.+) \{$/.exec(line))) {
            const s: ViciSection = { values: {}, sections: {} };
            stack[stack.length - 1].sections[m[1]] = s;
            stack.push(s);
        } else if (line === "}") {
            stack.pop();
        } else if ((m = /^(\S+) = \[$/.exec(line))) {
            list = [];
            stack[stack.length - 1].values[m[1]] = list;
        } else if ((m = /^(\S+) = (.*)$/.exec(line))) {
            stack[stack.length - 1].values[m[1]] = m[2];
        } else {
            throw new Error(`unexpected vici line ${JSON.stringify(raw)}`);
        }
    }
    return messages;
}
