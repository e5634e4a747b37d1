/**
 * Helpers for the renderer unit tests (tests/unit/render*.test.ts) and the real-tool tests
 * (tests/tools/*.test.ts):
 * - stack fixtures: the dev stacks parsed from Pulumi.dev*.yaml and validated by the real validator,
 *   plus variants (IKEv1, classic with a tcp proxy, inbound port mappings), rendered for one partner;
 * - `requireTool` / `requireRoot`: the one place that decides whether a tool test runs, skips with a
 *   printed reason, or (with REQUIRE_TOOLS=1) fails because its tool or privilege is missing;
 * - throwaway lab nodes (lab/node.ts) in `pvt-<pid>-` network namespaces, with the lab's private
 *   mounts, torn down by the lab's cleanup registry (lab/cleanup.ts), also at exit and on signals.
 * Nothing here touches the host's /etc, and no namespace is linked to the root namespace, so no
 * packet leaves them.
 */
import * as fs from "fs";
import * as path from "path";
import { createScratchDir, listOwnNamespaces, removeScratchDir, sweepDeadRunNamespaces, TEST_NAMESPACE_PREFIX } from "../../lab/cleanup";
import { runSyncResult as run } from "../../lab/exec";
import { addAddress } from "../../lab/netns";
import { createNode, destroyNode, type LabNode, type PrivateMounts, startPrivateMounts } from "../../lab/node";
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
        const swept = sweepDeadRunNamespaces(TEST_NAMESPACE_PREFIX);
        if (swept.length > 0) console.log(`      [cleanup] removed namespaces left by an earlier, killed run: ${swept.join(", ")}`);
        const name = `${TEST_NAMESPACE_PREFIX}${process.pid}-probe`;
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

// The lab's runner (lab/exec.ts), under the names the tool tests use: synchronous, bounded.
export { describeRun, runSyncResult as run, runSync as runOk, type RunOptions, type RunResult } from "../../lab/exec";
export { CHARON_BINARY as CHARON } from "../../lab/strongswan";

// ---------------------------------------------------------------------------------------------
// Scratch folders and nodes: the lab's (lab/node.ts), in pvt-<pid>- namespaces, cleaned up by the
// lab's registry (lab/cleanup.ts) also when the test process dies
// ---------------------------------------------------------------------------------------------

/** A fresh scratch folder under the OS temp dir, removed by `removeScratch` or at exit. */
export function scratchDir(label: string): string {
    return createScratchDir(`${TEST_NAMESPACE_PREFIX}${label}-`);
}

export const removeScratch = removeScratchDir;

let nodeCounter = 0;

/** A throwaway network-only node `pvt-<pid>-<label>-<n>` with only `lo` (up). */
export function createTestNetns(label: string): LabNode {
    const name = `${label}-${++nodeCounter}`;
    return createNode(String(process.pid), name, scratchDir(name), { prefix: TEST_NAMESPACE_PREFIX });
}

/** Every pvt- namespace of this process still present (to assert none of ours is left behind). */
export function listTestNamespaces(): string[] {
    return listOwnNamespaces(TEST_NAMESPACE_PREFIX);
}

export interface TestNodeOptions extends PrivateMounts {
    /** /etc/swanctl as the distribution ships it (swanctl.conf with `include conf.d/*.conf`, the
     *  credential folders), with conf.d emptied of the host's files. */
    readonly distroSwanctl?: boolean;
    /** Addresses to put on `lo` (no dummy interfaces on this kernel). */
    readonly loAddresses?: readonly string[];
}

/**
 * A throwaway endpoint-like node: a lab node (lab/node.ts) in a `pvt-` namespace with its private
 * mounts (tmpfs /run, copy-on-write /etc, /usr/local/sbin, /var/log, /var/lib) and the requested
 * private folders. Destroyed with `destroyNode`, or by the registry at exit.
 */
export async function startTestNode(label: string, options: TestNodeOptions = {}): Promise<LabNode> {
    const node = createTestNetns(label);
    try {
        for (const a of options.loAddresses ?? []) addAddress(node.ns, "lo", a);
        const setup = options.distroSwanctl
            ? [
                  "find /etc/swanctl/conf.d -mindepth 1 -delete",
                  "grep -q '^include conf.d/\\*.conf' /etc/swanctl/swanctl.conf || echo 'include conf.d/*.conf' >/etc/swanctl/swanctl.conf",
              ]
            : [];
        await startPrivateMounts(node, { ...options, setup: [...setup, ...(options.setup ?? [])] });
    } catch (err) {
        destroyNode(node);
        throw err;
    }
    return node;
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
