/**
 * A stack file (Pulumi.<stack>.yaml format) turned into a lab: the topology to build, the partner's
 * side of each agreement, and the test servers. The stack config is validated by the project's own
 * validator; the lab then refuses any address in it outside the documentation and private ranges,
 * so a real stack file can never make the lab send a packet towards a real network.
 */
import * as crypto from "crypto";
import { ENDPOINT_OSES, OS_IMAGES } from "../core/os";
import { addressAt, cidrBounds, cidrContains, classify, hostOf, isIpv4, parseCidr, prefixOf, toCidr } from "../core/addresses";
import type { PartnerModel, StackModel } from "../core/model";
import { pskProblem } from "../core/secrets";
import { formatIssue, validateStackConfig } from "../core/validate";
import { plainConfig, readStackFile, withoutSecrets } from "../program/stackFile";
import type { PartnerSideParams } from "./partnerSide";
import type { Listener } from "./servers";
import { checkLabSpec, LabPartnerSpec, LabSpec } from "./topology";

/** Ports every lab test server listens on (HTTP and raw TCP), on partner hosts and instances. */
export const LAB_HTTP_PORT = 80;
export const LAB_TCP_PORT = 7000;

export interface LabPartnerPlan {
    readonly name: string;
    /** One address per remote host of the config (the host itself, or the first host of a network). */
    readonly hostAddresses: readonly string[];
    /** Every other partner address the config names (proxy targets, inbound sources inside a
     *  network): they exist on the partner's side too, with servers, or nginx could not reach them. */
    readonly namedAddresses: readonly string[];
    /** A partner host that is not in the config: the add-a-host change adds it. */
    readonly spareHost: string;
    /** The partner's side of the agreement, without the PSK (generated per run). */
    readonly partnerSide: Omit<PartnerSideParams, "psk">;
}

export interface LabFixture {
    readonly source: string;
    /** Runtime config as read from the stack file (no secrets). */
    readonly values: Readonly<Record<string, string>>;
    readonly model: StackModel;
    readonly spec: LabSpec;
    readonly partners: readonly LabPartnerPlan[];
}

const ALLOWED = ["documentation", "private"];

/** Every IPv4 address or CIDR anywhere in the config, with its path. */
function addressesIn(value: unknown, path: string, out: Array<[string, string]>): Array<[string, string]> {
    if (typeof value === "string") {
        if (isIpv4(value) || parseCidr(value)) out.push([path, value]);
    } else if (Array.isArray(value)) {
        value.forEach((v, i) => addressesIn(v, `${path}[${i}]`, out));
    } else if (value !== null && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) addressesIn(v, path ? `${path}.${k}` : k, out);
    }
    return out;
}

/** Refuses every address (and both ends of every CIDR) outside the documentation and private ranges. */
export function refuseNonLabAddresses(config: Record<string, unknown>): void {
    const problems: string[] = [];
    for (const [path, text] of addressesIn(config, "", [])) {
        const { first, last } = cidrBounds(toCidr(text));
        const kinds = [...new Set([classify(first), classify(last)])];
        if (!kinds.every((k) => ALLOWED.includes(k))) {
            problems.push(`${path}: ${text} is ${kinds.join("/")}; the lab uses only documentation (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and private addresses`);
        }
    }
    if (problems.length) throw new Error(`the lab refuses this config:\n  ${problems.join("\n  ")}`);
}

/** The address the lab's servers use for a partner host or network. */
export function labHostAddress(cidr: string): string {
    const c = toCidr(cidr);
    if (prefixOf(c) >= 31) return hostOf(c);
    return addressAt(c, 1) as string;
}

function firstFree(cidr: string, used: Set<string>, fromOffset: number, allowed: (ip: string) => boolean = () => true): string | undefined {
    const size = 2 ** (32 - prefixOf(cidr));
    for (let i = fromOffset; i < size - 1 && i < fromOffset + 4096; i++) {
        const ip = addressAt(cidr, i) as string;
        if (!used.has(ip) && allowed(ip)) return ip;
    }
    return undefined;
}

function required(value: string | undefined, message: string): string {
    if (value === undefined) throw new Error(`the lab cannot map this config: ${message}`);
    return value;
}

function slash24(ip: string): string {
    return `${ip.split(".").slice(0, 3).join(".")}.0/24`;
}

/** Maps a validated stack model to the lab's topology. Throws with a clear message when it cannot. */
export function labSpecFor(model: StackModel): { spec: LabSpec; partners: LabPartnerPlan[] } {
    if (model.endpoint.bastion) {
        throw new Error("the lab cannot map this config: endpoint.bastion is set but the lab has no bastion node; list the lab admin node in endpoint.adminCidrs instead");
    }
    const daemons = new Set(model.partners.map((p) => p.ipsecDaemon));
    if (daemons.size > 1) {
        throw new Error("the lab cannot map this config: it mixes strongSwan and Libreswan partners; the lab runs one IPsec daemon per stack file (Libreswan is proven by the bootstrap and reboot checks only: lab/README.md)");
    }
    const subnet = model.network.subnetCidr;
    const used = new Set<string>(model.partners.flatMap((p) => [p.privateIp, p.gatewayIp, p.natEip.publicIp ?? "", p.tunnelEip.publicIp ?? ""]));
    const routerIp = addressAt(subnet, 1) as string;
    used.add(routerIp);
    const adminCidr = model.endpoint.adminCidrs.find((c) => cidrContains(subnet, c));
    const adminIp = required(
        adminCidr && (prefixOf(adminCidr) === 32 ? hostOf(adminCidr) : firstFree(adminCidr, used, 1)),
        `endpoint.adminCidrs must include an address inside network.subnetCidr ${subnet} for the lab's admin node (e.g. 172.16.0.250/32)`,
    );
    used.add(adminIp);
    const targets = [...new Set(model.partners.flatMap((p) => p.inbound.map((m) => m.target)))];
    for (const t of targets) if (!cidrContains(subnet, t)) throw new Error(`the lab cannot map this config: inbound target ${t} is outside network.subnetCidr ${subnet}; the lab places instances on that subnet only`);
    const internal = (ip: string) => model.network.internalCidrs.some((c) => cidrContains(c, ip));
    // The client of the outbound checks: an instance inside internalCidrs (the SNAT sources).
    const instances = targets.length > 0 ? targets : [required(firstFree(subnet, used, 10, internal), `no free address inside ${subnet} and internalCidrs for an instance`)];
    instances.forEach((i) => used.add(i));

    const gateways = [...new Set(model.partners.map((p) => p.gatewayIp))];
    const internetCidr = slash24(gateways[0]);
    const outside = gateways.filter((g) => !cidrContains(internetCidr, g));
    if (outside.length) throw new Error(`the lab cannot map this config: partner gateways ${gateways.join(", ")} must share one documentation /24 (the lab's one "internet" subnet)`);
    const igwInternetIp = required(firstFree(internetCidr, used, 1), `no free address in ${internetCidr} for the lab's internet gateway`);

    const hostsInUse = model.partners.flatMap((p) => p.remoteHosts);
    const partners: LabPartnerPlan[] = [];
    const specs: LabPartnerSpec[] = model.partners.map((p) => {
        const where = `partner ${p.name}`;
        const natIp = required(p.natEip.publicIp, `${where}: natEip needs {allocationId, publicIp} with the lab's NAT IP, so the rendered config uses it`);
        const tunnelIp = required(p.tunnelEip.publicIp, `${where}: tunnelEip needs {allocationId, publicIp} with the lab's tunnel IP, so the rendered config uses it`);
        const hostAddresses = p.remoteHosts.map(labHostAddress);
        const spareHost = required(
            firstFree(slash24(hostAddresses[0]), used, 1, (ip) => !hostsInUse.some((h) => cidrContains(h, ip))),
            `${where}: no free address next to ${hostAddresses[0]} for the host the add-a-host change adds`,
        );
        used.add(spareHost);
        const named = [...p.proxies.map((x) => x.remoteHost), ...p.inbound.flatMap((m) => m.from.map(labHostAddress))];
        const namedAddresses = [...new Set(named)].filter((a) => !hostAddresses.includes(a) && a !== spareHost);
        partners.push({ name: p.name, hostAddresses, namedAddresses, spareHost, partnerSide: partnerSideFor(p, natIp, tunnelIp, spareHost) });
        return { name: p.name, privateIp: p.privateIp, tunnelIp, natIp, gatewayIp: p.gatewayIp, remoteHosts: [...hostAddresses, ...namedAddresses, spareHost] };
    });
    const spec: LabSpec = { mode: model.mode, subnetCidr: subnet, routerIp, internetCidr, igwInternetIp, adminIp, instances, partners: specs };
    checkLabSpec(spec);
    return { spec, partners };
}

/** The partner's side, from the agreement: its gateway and identity, its hosts (and the spare one). */
function partnerSideFor(p: PartnerModel, natIp: string, tunnelIp: string, spareHost: string): Omit<PartnerSideParams, "psk"> {
    return {
        connName: `to-${p.name}`,
        localAddress: p.gatewayIp,
        localId: p.remoteId,
        remoteAddress: tunnelIp,
        remoteId: tunnelIp,
        localHosts: [...p.remoteHosts.map(toCidr), `${spareHost}/32`],
        remoteTs: `${natIp}/32`,
        ikeVersion: p.ike.version,
        ikeProposals: p.ike.ikeProposals,
        espProposals: p.ike.espProposals,
        childPerHost: true,
        startAction: "none",
        dpdDelay: 10,
    };
}

/** The validated model of runtime config values (secrets aside); throws with every problem listed. */
export function modelFor(values: Readonly<Record<string, string>>, source = "the config"): StackModel {
    const config = plainConfig(values);
    const result = validateStackConfig(config);
    if (!result.ok) throw new Error(`${source}: the stack config is invalid:\n  ${result.errors.map(formatIssue).join("\n  ")}`);
    refuseNonLabAddresses(config);
    return result.model;
}

/** Reads, validates and maps a stack file. Throws with every problem listed. */
/**
 * A stack file as a lab fixture. `os` (`npm run lab -- --os debian-12`) puts every endpoint on that
 * OS (endpoint.os, partner overrides dropped). An endpoint OS the lab does not boot is refused here,
 * before anything is built.
 */
export function loadLabFixture(file: string, options: { os?: string } = {}): LabFixture {
    // Encrypted values are not in `values`; plain-text secrets are dropped: the lab makes its own.
    const plain = withoutSecrets(readStackFile(file).values).values;
    if (options.os !== undefined) {
        const endpoint = plain["partner-vpn:endpoint"] ? JSON.parse(plain["partner-vpn:endpoint"]) as Record<string, unknown> : {};
        plain["partner-vpn:endpoint"] = JSON.stringify({ ...endpoint, os: options.os });
        if (plain["partner-vpn:partners"]) {
            const partners = JSON.parse(plain["partner-vpn:partners"]) as Record<string, unknown>[];
            plain["partner-vpn:partners"] = JSON.stringify(partners.map(({ os: _dropped, ...rest }) => rest));
        }
    }
    const model = modelFor(plain, file);
    model.partners.forEach((p, i) => {
        if (!OS_IMAGES[p.os].bootedInLab) {
            throw new Error(`${file}: partners[${i}] (${p.name}) runs ${p.os}, which the lab does not boot (it boots ${ENDPOINT_OSES.filter((o) => OS_IMAGES[o].bootedInLab).join(", ")}); run it with --os debian-13`);
        }
    });
    return { source: file, values: plain, model, ...labSpecFor(model) };
}

/** A fresh random PSK the project's validator accepts (never written to disk by the lab). */
export function labPsk(): string {
    for (let i = 0; i < 20; i++) {
        const psk = crypto.randomBytes(30).toString("base64url").slice(0, 40);
        if (!pskProblem(psk)) return psk;
    }
    throw new Error("could not generate an acceptable PSK");
}

/** The stack config with one host added to a partner (and, in classic-proxy mode, an http proxy to it). */
export function withAddedHost(values: Readonly<Record<string, string>>, partner: string, host: string): Record<string, string> {
    const key = "partner-vpn:partners";
    const partners = JSON.parse(values[key]) as Array<Record<string, unknown>>;
    const p = partners.find((x) => x.name === partner);
    if (!p) throw new Error(`no partner ${partner} in the config`);
    p.remoteHosts = [...(p.remoteHosts as string[]), host];
    if (values["partner-vpn:mode"] === "classic-proxy") {
        const proxies = (p.proxies as Array<{ listenPort: number }> | undefined) ?? [];
        const listenPort = Math.max(8079, ...proxies.map((x) => x.listenPort)) + 1;
        p.proxies = [...proxies, { listenPort, protocol: "http", remoteHost: host, remotePort: LAB_HTTP_PORT }];
    }
    return { ...values, [key]: JSON.stringify(partners) };
}

/** Test servers: every partner host (and spare) answers on the standard ports and every proxied port. */
export function partnerListeners(model: PartnerModel | undefined, plan: LabPartnerPlan): Listener[] {
    const out = new Map<string, Listener>();
    const add = (l: Listener) => out.set(`${l.address}:${l.port}`, l);
    for (const h of [...plan.hostAddresses, ...plan.namedAddresses, plan.spareHost]) {
        add({ kind: "http", address: h, port: LAB_HTTP_PORT, name: `partner ${h}` });
        add({ kind: "tcp", address: h, port: LAB_TCP_PORT, name: `partner ${h}` });
    }
    for (const x of model?.proxies ?? []) add({ kind: x.protocol, address: x.remoteHost, port: x.remotePort, name: `partner ${x.remoteHost}` });
    return [...out.values()];
}

/** Test servers on an instance: the standard ports and every mapped inbound target port (HTTP). */
export function instanceListeners(model: StackModel, ip: string): Listener[] {
    const out = new Map<number, Listener>();
    out.set(LAB_HTTP_PORT, { kind: "http", address: ip, port: LAB_HTTP_PORT, name: `instance ${ip}` });
    out.set(LAB_TCP_PORT, { kind: "tcp", address: ip, port: LAB_TCP_PORT, name: `instance ${ip}` });
    for (const p of model.partners) {
        for (const m of p.inbound) {
            const port = m.targetPort ?? m.port;
            if (m.target === ip && m.protocol === "tcp" && port !== undefined && !out.has(port)) out.set(port, { kind: "http", address: ip, port, name: `instance ${ip}` });
        }
    }
    return [...out.values()];
}
