/**
 * The lab topology, all in `pvl-<id>-*` network namespaces with no link or route to the root
 * namespace:
 *
 *   inst1, inst2, adm --+                                   +-- pgw-<partner> (198.51.100.2,
 *   ep-<partner> -------+-- [sw-vpc bridge] -- igw -- [sw-net bridge] --+    hosts on lo, charon)
 *     (172.16.0.5, NAT IP on lo,    172.16.0.1 | 198.51.100.1
 *      charon, sshd)                 1:1 NAT tunnel EIP <-> endpoint private IP
 *
 * igw emulates AWS's internet gateway for an Elastic IP association: it DNATs the tunnel EIP to
 * the endpoint's private IP and SNATs the private IP to the EIP. The endpoint therefore negotiates
 * IKE from its private address while the partner sees the EIP, exactly as on EC2, which makes
 * NAT-T (`encap = yes`) real. In vpc-routing mode each instance gets a route per partner host via
 * the endpoint (the VPC route table the program creates); in classic-proxy mode it gets none.
 */
import * as path from "path";
import { classify, cidrContains } from "../core/addresses";
import { Mode } from "../core/model";
import { bootEndpoint, BootedEndpoint, containerProcess, LAB_DEVIATIONS } from "./container";
import type { LabImage } from "./image";
import { runSync, waitFor } from "./exec";
import { addAddress, addRoute, connectToBridge, ipIn } from "./netns";
import { inNode, LabNode, runInNodeOk, startPrivateMounts } from "./node";
import { discardLab, withLabSkeleton } from "./skeleton";
import { generateSshKeys, LabSshd, LabSshKeys, startSshd } from "./sshd";
import { Charon, startCharon, stopCharon, swanctl } from "./strongswan";

/** Waits until charon in the node answers on its vici socket. */
export async function waitForVici(node: LabNode, timeoutMs = 30_000): Promise<void> {
    await waitFor(`charon's vici socket in ${node.name}`, async () => ((await swanctl(node, ["--stats"], 3000)).code === 0 ? true : undefined), timeoutMs, 200);
}

export interface LabPartnerSpec {
    /** Short name, [a-z0-9-], at most 16 characters (it is part of namespace names). */
    readonly name: string;
    /** The endpoint's address on the VPC subnet: its IKE local address. */
    readonly privateIp: string;
    /** The Elastic IP associated with the endpoint (igw maps it 1:1 to privateIp). */
    readonly tunnelIp: string;
    /** The never-attached Elastic IP our traffic is source-NATed to. */
    readonly natIp: string;
    /** The partner gateway's public address. */
    readonly gatewayIp: string;
    /** The partner's hosts (addresses), put on the partner gateway's lo. */
    readonly remoteHosts: readonly string[];
}

export interface LabSpec {
    readonly mode: Mode;
    readonly subnetCidr: string;
    /** igw's address on the subnet: the instances' and endpoints' default gateway. */
    readonly routerIp: string;
    readonly internetCidr: string;
    /** igw's address on the "internet": the partner gateways' default gateway. */
    readonly igwInternetIp: string;
    /** The admin node (bastion role) on the subnet, where ssh to the endpoints starts. */
    readonly adminIp: string;
    /** Our internal instances (DNAT targets; clients in vpc-routing mode). */
    readonly instances: readonly string[];
    readonly partners: readonly LabPartnerSpec[];
}

/** The seed's topology with documentation addresses for everything public. */
export function defaultLabSpec(overrides: Partial<LabSpec> = {}): LabSpec {
    return {
        mode: "vpc-routing",
        subnetCidr: "172.16.0.0/24",
        routerIp: "172.16.0.1",
        internetCidr: "198.51.100.0/24",
        igwInternetIp: "198.51.100.1",
        adminIp: "172.16.0.250",
        instances: ["172.16.0.10", "172.16.0.11"],
        partners: [
            {
                name: "bigcorp",
                privateIp: "172.16.0.5",
                tunnelIp: "192.0.2.10",
                natIp: "192.0.2.23",
                gatewayIp: "198.51.100.2",
                remoteHosts: ["203.0.113.7", "203.0.113.135"],
            },
        ],
        ...overrides,
    };
}

export interface LabPartner {
    readonly spec: LabPartnerSpec;
    /** Our endpoint: private mounts, charon, sshd. */
    readonly ep: LabNode;
    /** The partner's gateway: private mounts, charon, the partner hosts' servers. */
    readonly pgw: LabNode;
    /** Replaced by `restartEndpointCharon`. */
    epCharon?: Charon;
    pgwCharon?: Charon;
    readonly sshd?: LabSshd;
    /** Set when the endpoint is a booted image (then no lab charon or sshd: the image's own). */
    readonly booted?: BootedEndpoint;
}

export interface LabInstance {
    readonly ip: string;
    readonly node: LabNode;
}

export interface Lab {
    readonly id: string;
    readonly dir: string;
    readonly spec: LabSpec;
    readonly igw: LabNode;
    readonly admin: LabNode;
    readonly instances: readonly LabInstance[];
    readonly partners: readonly LabPartner[];
    readonly keys: LabSshKeys;
    /** Every namespace of this lab, switches included. */
    readonly namespaces: readonly string[];
    /** Lab-only deviations from production, to print with the lab's results. */
    readonly notes: readonly string[];
}

export interface BuildOptions {
    /** Start charon in every endpoint and partner gateway (default true). */
    readonly charon?: boolean;
    /** Start sshd in every endpoint (default true). */
    readonly sshd?: boolean;
    /** Parent of the lab's scratch folder (default the OS temp dir). */
    readonly scratchRoot?: string;
    /** Boot this image as every endpoint (systemd, the image's sshd; its login user gets the lab's
     *  key and sudo). Without it an endpoint is a namespace node with the host's charon and sshd. */
    readonly endpointImage?: { readonly image: LabImage; readonly user: string };
}

function prefixOf(cidr: string): number {
    return Number(cidr.split("/")[1]);
}

/** Refuses any address that could leave the lab's documentation and private ranges. */
export function checkLabSpec(spec: LabSpec): void {
    const problems: string[] = [];
    const mustBe = (what: string, address: string, kinds: string[]): void => {
        const bare = address.split("/")[0];
        let kind: string;
        try {
            kind = classify(bare);
        } catch {
            kind = "invalid";
        }
        if (!kinds.includes(kind)) problems.push(`${what} ${address} is ${kind}, must be ${kinds.join(" or ")}`);
    };
    mustBe("subnetCidr", spec.subnetCidr, ["private"]);
    mustBe("internetCidr", spec.internetCidr, ["documentation"]);
    mustBe("igwInternetIp", spec.igwInternetIp, ["documentation"]);
    for (const [what, ip] of [["routerIp", spec.routerIp], ["adminIp", spec.adminIp], ...spec.instances.map((i) => ["instance", i])]) {
        mustBe(what, ip, ["private"]);
        if (!cidrContains(spec.subnetCidr, ip)) problems.push(`${what} ${ip} is outside ${spec.subnetCidr}`);
    }
    for (const p of spec.partners) {
        if (!/^[a-z0-9-]{1,16}$/.test(p.name)) problems.push(`partner name ${p.name} must match [a-z0-9-]{1,16}`);
        mustBe(`${p.name}.privateIp`, p.privateIp, ["private"]);
        if (!cidrContains(spec.subnetCidr, p.privateIp)) problems.push(`${p.name}.privateIp is outside ${spec.subnetCidr}`);
        for (const [what, ip] of [["tunnelIp", p.tunnelIp], ["natIp", p.natIp], ["gatewayIp", p.gatewayIp]]) mustBe(`${p.name}.${what}`, ip, ["documentation"]);
        if (!cidrContains(spec.internetCidr, p.gatewayIp)) problems.push(`${p.name}.gatewayIp is outside ${spec.internetCidr}`);
        for (const h of p.remoteHosts) mustBe(`${p.name} host`, h, ["documentation"]);
    }
    if (problems.length) throw new Error(`lab spec refused:\n  ${problems.join("\n  ")}`);
}

/** igw: the subnet router plus the EIP association's 1:1 NAT, one DNAT/SNAT pair per endpoint. */
function configureIgw(igw: LabNode, spec: LabSpec): void {
    addAddress(igw.ns, "vpc0", `${spec.routerIp}/${prefixOf(spec.subnetCidr)}`);
    addAddress(igw.ns, "inet0", `${spec.igwInternetIp}/${prefixOf(spec.internetCidr)}`);
    const ipt = (args: string[]): string => runSync(inNode(igw, ["iptables", "-w", "5", ...args]));
    for (const p of spec.partners) {
        // An EIP inside the "internet" subnet must be answered for by ARP: igw holds it as /32.
        if (cidrContains(spec.internetCidr, p.tunnelIp)) addAddress(igw.ns, "inet0", `${p.tunnelIp}/32`);
        ipt(["-t", "nat", "-A", "PREROUTING", "-i", "inet0", "-d", `${p.tunnelIp}/32`, "-j", "DNAT", "--to-destination", p.privateIp]);
        ipt(["-t", "nat", "-A", "POSTROUTING", "-o", "inet0", "-s", `${p.privateIp}/32`, "-j", "SNAT", "--to-source", p.tunnelIp]);
    }
}

/** Builds the whole lab. On any failure everything built so far is torn down before rethrowing. */
export async function buildLab(spec: LabSpec = defaultLabSpec(), options: BuildOptions = {}): Promise<Lab> {
    checkLabSpec(spec);
    return withLabSkeleton(async ({ id, dir, namespaces, swVpc, swNet, igw, node }) => {
        configureIgw(igw, spec);

        const subnetLen = prefixOf(spec.subnetCidr);
        const admin = node("adm");
        connectToBridge(swVpc.ns, "br0", "adm", admin.ns, "eth0");
        addAddress(admin.ns, "eth0", `${spec.adminIp}/${subnetLen}`);
        addRoute(admin.ns, "default", spec.routerIp);

        const instances: LabInstance[] = spec.instances.map((ip, i) => {
            const n = node(`inst${i + 1}`);
            connectToBridge(swVpc.ns, "br0", `inst${i + 1}`, n.ns, "eth0");
            addAddress(n.ns, "eth0", `${ip}/${subnetLen}`);
            addRoute(n.ns, "default", spec.routerIp);
            if (spec.mode === "vpc-routing") {
                for (const p of spec.partners) for (const h of p.remoteHosts) addRoute(n.ns, `${h.split("/")[0]}/32`, p.privateIp);
            }
            return { ip, node: n };
        });

        const keys = generateSshKeys(path.join(dir, "ssh"));
        const partners: LabPartner[] = [];
        const booted = options.endpointImage;
        const notes = booted
            ? [
                `every endpoint boots ${booted.image.os} (${booted.image.release}, debootstrap image ${path.basename(booted.image.dir)}) under systemd-nspawn in its namespace; the lab does cloud-init's part (user ${booted.user} with the key pair's key and passwordless sudo, host name).`,
                ...LAB_DEVIATIONS.map((d) => `lab deviation: ${d.why}${d.path ? ` (${d.path})` : ""}`),
            ]
            : ["strongSwan uses kernel-libipsec (userspace ESP over TUN): this kernel has no ESP (lab only)."];
        for (const [i, p] of spec.partners.entries()) {
            const ep = node(`ep-${p.name}`, true);
            connectToBridge(swVpc.ns, "br0", `ep${i}`, ep.ns, "eth0");
            addAddress(ep.ns, "eth0", `${p.privateIp}/${subnetLen}`);
            addRoute(ep.ns, "default", spec.routerIp);
            // libipsec quirk: it refuses a CHILD_SA unless an address of the local TS is local.
            addAddress(ep.ns, "lo", `${p.natIp}/32`);
            notes.push(
                `${p.name}: NAT IP ${p.natIp} is on the endpoint's lo (libipsec quirk, lab only; production must not). ` +
                    "libipsec's routes then give endpoint-originated traffic the NAT IP as source; emulateXfrmSourceSelection() undoes that.",
            );

            const pgw = node(`pgw-${p.name}`, true);
            connectToBridge(swNet.ns, "br0", `pgw${i}`, pgw.ns, "eth0");
            addAddress(pgw.ns, "eth0", `${p.gatewayIp}/${prefixOf(spec.internetCidr)}`);
            addRoute(pgw.ns, "default", spec.igwInternetIp);
            for (const h of p.remoteHosts) addAddress(pgw.ns, "lo", `${h.split("/")[0]}/32`);
            notes.push(`${p.name}: partner hosts ${p.remoteHosts.join(", ")} are on the partner gateway's lo (libipsec quirk).`);

            await startPrivateMounts(pgw);
            const wantCharon = options.charon ?? true;
            const pgwCharon = wantCharon ? await startCharon(pgw) : undefined;
            if (booted) {
                const endpoint = await bootEndpoint(ep, booted.image, booted.user, keys.clientPublicKey);
                partners.push({ spec: p, ep, pgw, pgwCharon, booted: endpoint });
                continue;
            }
            await startPrivateMounts(ep);
            const epCharon = wantCharon ? await startCharon(ep) : undefined;
            const sshd = options.sshd ?? true ? await startSshd(ep, p.privateIp, keys) : undefined;
            partners.push({ spec: p, ep, pgw, epCharon, pgwCharon, sshd });
        }
        return { id, dir, spec, igw, admin, instances, partners, keys, namespaces, notes };
    }, options.scratchRoot);
}

/** Tears down one lab: its processes, namespaces and scratch folder. Idempotent. */
export function teardownLab(lab: Lab, options: { keepDir?: boolean } = {}): void {
    // A booted endpoint's processes live in its namespace: they go with it, and systemd-nspawn exits.
    discardLab(lab.namespaces, lab.dir, options.keepDir);
    for (const p of lab.partners) p.booted?.nspawn.stop(1000).catch(() => undefined);
}

export function partnerOf(lab: Lab, name: string): LabPartner {
    const p = lab.partners.find((x) => x.spec.name === name);
    if (!p) throw new Error(`no partner ${name} in the lab`);
    return p;
}

/**
 * Stops and starts charon on our endpoint: on a booted endpoint `systemctl restart
 * strongswan.service` (charon-systemd), else the lab's own charon. Either way the new charon has
 * no partner config loaded until `swanctl --load-all` runs again (the unit loads /etc/swanctl).
 */
export async function restartEndpointCharon(partner: LabPartner): Promise<Charon | undefined> {
    if (partner.booted) {
        await runInNodeOk(partner.ep, ["systemctl", "restart", "strongswan.service"], { timeoutMs: 60_000 });
        await waitForVici(partner.ep);
        return undefined;
    }
    if (partner.epCharon) await stopCharon(partner.epCharon);
    partner.epCharon = await startCharon(partner.ep);
    return partner.epCharon;
}

/** The host pid of our endpoint's charon (the lab's, or charon-systemd in the booted image). */
export function endpointCharonPid(partner: LabPartner): number {
    if (partner.booted) {
        const pid = containerProcess(partner.booted, "charon-systemd");
        if (pid === undefined) throw new Error(`no charon-systemd running in ${partner.ep.name}`);
        return pid;
    }
    if (!partner.epCharon) throw new Error(`no charon in ${partner.ep.name}`);
    return partner.epCharon.process.pid;
}

/**
 * kernel-libipsec's routes (table 220) carry `src <NAT IP>`, so traffic the endpoint itself
 * originates (nginx in classic-proxy) already leaves with the NAT IP and never needs the SNAT
 * rule; on a production endpoint (kernel XFRM, NAT IP not local) it leaves with the private IP
 * and the SNAT rule rewrites it. This rewrites the lab's routes to `src <private IP>` so the SNAT
 * rule is exercised (and a no-SNAT negative control fails) for endpoint-originated traffic too.
 * charon reinstalls the route when a CHILD_SA is (re)established: call again after that.
 * Returns the routes rewritten.
 */
export async function emulateXfrmSourceSelection(partner: LabPartner): Promise<string[]> {
    const routes = (await runInNodeOk(partner.ep, ["ip", "route", "show", "table", "220"])).split("\n").filter((l) => / src /.test(l));
    const rewritten: string[] = [];
    for (const route of routes) {
        const m = /^(\S+) dev (\S+).* src (\S+)/.exec(route.trim());
        if (!m || m[3] === partner.spec.privateIp) continue;
        await runInNodeOk(partner.ep, ["ip", "route", "replace", m[1], "dev", m[2], "table", "220", "proto", "static", "src", partner.spec.privateIp]);
        rewritten.push(`${m[1]} dev ${m[2]} src ${partner.spec.privateIp}`);
    }
    return rewritten;
}

/** iptables in a node (waits for the xtables lock, bounded). */
export function iptablesIn(node: LabNode, args: readonly string[]): Promise<string> {
    return runInNodeOk(node, ["iptables", "-w", "5", ...args]);
}

/** A quick look at a node's addresses and routes, for failure messages. */
export function describeNode(node: LabNode): string {
    return [ipIn(node.ns, ["-br", "addr"]), ipIn(node.ns, ["route"])].join("\n");
}
