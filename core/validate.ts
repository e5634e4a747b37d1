/**
 * Stack config -> validated model. Reports every problem at once, each with its field path, and
 * never throws on bad input: callers stop before creating anything when `ok` is false.
 */
import { cidrContains, cidrsOverlap, hostOf } from "./addresses";
import { parseProposal } from "./algorithms";
import { DEFAULTS, RESERVED_PORTS } from "./config";
import { FieldReader, PARTNER_DOMAIN, PUBLIC, SSH_SOURCE, VPC_ADDRESS, type Raw, type ValidationIssue } from "./fields";
import type {
    BastionModel, EndpointModel, IkeModel, InboundMappingModel, IpsecDaemon, Mode, NetworkModel,
    PartnerModel, ProxyModel, StackModel,
} from "./model";
import { validatePartnerSecrets } from "./secrets";

export type { ValidationIssue } from "./fields";
export { formatIssue } from "./fields";

export type ValidationResult =
    | { readonly ok: true; readonly model: StackModel; readonly warnings: readonly ValidationIssue[] }
    | { readonly ok: false; readonly errors: readonly ValidationIssue[]; readonly warnings: readonly ValidationIssue[] };

/** Partner names become iptables chains `PVPN-<name>-POST` (28 characters at most) and file names. */
export const PARTNER_NAME = /^[a-z]([a-z0-9-]{0,16}[a-z0-9])?$/;
const AWS_ID = (prefix: string) => new RegExp(`^${prefix}-[0-9a-f]{8,17}$`);
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const IKE_ID = /^[A-Za-z0-9@._:-]{1,128}$/;

/** Keys people use when they paste a PSK into the partner entry. */
const MISPLACED_SECRET_KEYS = ["psk", "secret", "preSharedKey", "sharedSecret"];

const MODES: readonly Mode[] = ["vpc-routing", "classic-proxy"];
const DAEMONS: readonly IpsecDaemon[] = ["strongswan", "libreswan"];

export const TOP_LEVEL_KEYS = ["mode", "network", "endpoint", "partners", "allowDocumentationAddresses"] as const;

/**
 * Validates plain stack config (the `partner-vpn:` keys, prefix removed) and, when given, the
 * secret keys. `secrets` is optional so the plan can validate without them.
 */
export function validateStackConfig(raw: unknown, secrets?: { psks?: unknown; sshPrivateKey?: unknown }): ValidationResult {
    const top = raw as Raw | undefined;
    const docs = typeof top?.allowDocumentationAddresses === "boolean" ? top.allowDocumentationAddresses : false;
    const r = new FieldReader(docs);
    const cfg = r.object("", raw, [...TOP_LEVEL_KEYS], true) ?? {};
    r.boolean("allowDocumentationAddresses", cfg.allowDocumentationAddresses, false);
    const mode = r.oneOf("mode", cfg.mode, MODES);
    const network = readNetwork(r, cfg.network, mode);
    const endpoint = readEndpoint(r, cfg.endpoint);
    const partnerList = r.list("partners", cfg.partners, true, 1) ?? [];
    const partners = partnerList.map((p, i) => readPartner(r, `partners[${i}]`, p, mode, network, endpoint));
    checkAcrossPartners(r, partners, mode);
    if (secrets) {
        const names = partners.flatMap((p) => (p ? [p.name] : []));
        validatePartnerSecrets(r, names, secrets.psks, secrets.sshPrivateKey);
    }
    if (r.errors.length > 0 || !mode || !network || !endpoint || partners.some((p) => !p)) {
        return { ok: false, errors: r.errors, warnings: r.warnings };
    }
    return { ok: true, model: { mode, network, endpoint, partners: partners as PartnerModel[] }, warnings: r.warnings };
}

function stringList(r: FieldReader, path: string, value: unknown, read: (p: string, v: unknown) => string | undefined, min = 0): string[] {
    const list = r.list(path, value, min > 0, min) ?? [];
    return list.map((v, i) => read(`${path}[${i}]`, v)).filter((v): v is string => v !== undefined);
}

function readNetwork(r: FieldReader, value: unknown, mode: Mode | undefined): NetworkModel | undefined {
    const n = r.object("network", value, ["vpcId", "subnetId", "subnetCidr", "internalCidrs", "routeTableIds"], true);
    if (!n) return undefined;
    const vpcId = r.string("network.vpcId", n.vpcId, true, AWS_ID("vpc"), "a VPC id (vpc-...)");
    const subnetId = r.string("network.subnetId", n.subnetId, true, AWS_ID("subnet"), "a subnet id (subnet-...)");
    const subnetCidr = r.cidr("network.subnetCidr", n.subnetCidr, VPC_ADDRESS, false);
    const internalCidrs = stringList(r, "network.internalCidrs", n.internalCidrs, (p, v) => r.cidr(p, v, VPC_ADDRESS, false), 1);
    const routeTableIds = stringList(r, "network.routeTableIds", n.routeTableIds, (p, v) => r.string(p, v, true, AWS_ID("rtb"), "a route table id (rtb-...)"));
    if (mode === "classic-proxy" && routeTableIds.length > 0) {
        r.error("network.routeTableIds", "routes are not used in classic-proxy mode (instances reach partners through the proxy); remove routeTableIds or use mode vpc-routing");
    }
    if (!vpcId || !subnetId || !subnetCidr || internalCidrs.length === 0) return undefined;
    return { vpcId, subnetId, subnetCidr, internalCidrs, routeTableIds };
}

function readEndpoint(r: FieldReader, value: unknown): EndpointModel | undefined {
    const keys = ["instanceType", "ami", "amiOwner", "amiNameFilter", "sshUser", "keyName", "adminCidrs", "bastion", "rootVolumeGiB", "ipsecDaemon"];
    const e = r.object("endpoint", value, keys, false) ?? {};
    const instanceType = r.string("endpoint.instanceType", e.instanceType, false, /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "an EC2 instance type (e.g. t3.micro)") ?? DEFAULTS.instanceType;
    const ami = r.string("endpoint.ami", e.ami, false, AWS_ID("ami"), "an AMI id (ami-...)");
    const amiOwner = r.string("endpoint.amiOwner", e.amiOwner, false, /^([0-9]{12}|amazon|self|aws-marketplace)$/, "an AWS account id or alias") ?? DEFAULTS.amiOwner;
    const amiNameFilter = r.string("endpoint.amiNameFilter", e.amiNameFilter, false, /^[A-Za-z0-9*?./_ ()-]{1,128}$/, "an AMI name pattern") ?? DEFAULTS.amiNameFilter;
    const sshUser = r.string("endpoint.sshUser", e.sshUser, false, /^[a-z_][a-z0-9_-]{0,31}$/, "a Unix user name") ?? DEFAULTS.sshUser;
    const keyName = r.string("endpoint.keyName", e.keyName, false, /^[\x20-\x7e]{1,255}$/, "an EC2 key pair name");
    const adminCidrs = stringList(r, "endpoint.adminCidrs", e.adminCidrs, (p, v) => r.cidr(p, v, SSH_SOURCE, false));
    adminCidrs.forEach((c, i) => {
        if (c === "0.0.0.0/0") r.warn(`endpoint.adminCidrs[${i}]`, "SSH is open to the whole internet; prefer your office CIDRs or a bastion");
    });
    const bastion = readBastion(r, e.bastion);
    const rootVolumeGiB = r.integer("endpoint.rootVolumeGiB", e.rootVolumeGiB, 8, 1024, DEFAULTS.rootVolumeGiB);
    const ipsecDaemon = r.oneOf("endpoint.ipsecDaemon", e.ipsecDaemon, DAEMONS, DEFAULTS.ipsecDaemon);
    if (rootVolumeGiB === undefined || ipsecDaemon === undefined) return undefined;
    return { instanceType, ami, amiOwner, amiNameFilter, sshUser, keyName, adminCidrs, bastion, rootVolumeGiB, ipsecDaemon };
}

function readBastion(r: FieldReader, value: unknown): BastionModel | undefined {
    const b = r.object("endpoint.bastion", value, ["host", "user", "port"], false);
    if (!b) return undefined;
    const host = r.string("endpoint.bastion.host", b.host, true, HOSTNAME, "a host name or IPv4 address");
    const user = r.string("endpoint.bastion.user", b.user, false, /^[a-z_][a-z0-9_-]{0,31}$/, "a Unix user name") ?? DEFAULTS.bastionUser;
    const port = r.integer("endpoint.bastion.port", b.port, 1, 65535, DEFAULTS.sshPort);
    return host && port ? { host, user, port } : undefined;
}

function readProposals(r: FieldReader, path: string, value: unknown, kind: "ike" | "esp", fallback: readonly string[], allowWeak: boolean): string[] {
    if (value === undefined || value === null) return [...fallback];
    const list = stringList(r, path, value, (p, v) => r.string(p, v, true), 1);
    return list.filter((text, i) => {
        const parsed = parseProposal(kind, text);
        if (!parsed.ok) return r.error(`${path}[${i}]`, `"${text}": ${parsed.problem}`) ?? false;
        if (parsed.proposal.weak.length > 0) {
            const weak = parsed.proposal.weak.join(", ");
            if (!allowWeak) return r.error(`${path}[${i}]`, `"${text}" uses weak algorithms (${weak}); agree stronger ones with the partner, or set ike.allowWeakAlgorithms: true if they cannot`) ?? false;
            r.warn(`${path}[${i}]`, `"${text}" uses weak algorithms (${weak}), accepted because allowWeakAlgorithms is true`);
        }
        return true;
    });
}

function readIke(r: FieldReader, path: string, value: unknown): IkeModel | undefined {
    const keys = ["version", "ikeProposals", "espProposals", "ikeLifetime", "childLifetime", "dpdDelay", "allowWeakAlgorithms"];
    const k = r.object(path, value, keys, false) ?? {};
    const version = r.oneOf(`${path}.version`, k.version, [1, 2] as const, DEFAULTS.ikeVersion);
    const allowWeakAlgorithms = r.boolean(`${path}.allowWeakAlgorithms`, k.allowWeakAlgorithms, false);
    const ikeProposals = readProposals(r, `${path}.ikeProposals`, k.ikeProposals, "ike", DEFAULTS.ikeProposals, allowWeakAlgorithms);
    const espProposals = readProposals(r, `${path}.espProposals`, k.espProposals, "esp", DEFAULTS.espProposals, allowWeakAlgorithms);
    const ikeLifetime = r.integer(`${path}.ikeLifetime`, k.ikeLifetime, 300, 86400, DEFAULTS.ikeLifetime);
    const childLifetime = r.integer(`${path}.childLifetime`, k.childLifetime, 300, 86400, DEFAULTS.childLifetime);
    const dpdDelay = r.integer(`${path}.dpdDelay`, k.dpdDelay, 0, 300, DEFAULTS.dpdDelay);
    if (dpdDelay !== undefined && dpdDelay > 0 && dpdDelay < 5) r.error(`${path}.dpdDelay`, `${dpdDelay} is too short; expected 0 (off) or 5 to 300 seconds`);
    if (ikeLifetime !== undefined && childLifetime !== undefined && childLifetime > ikeLifetime) {
        r.error(`${path}.childLifetime`, `${childLifetime} exceeds ikeLifetime ${ikeLifetime}; a phase 2 lifetime is at most the phase 1 lifetime`);
    }
    if (!version || !ikeLifetime || !childLifetime || dpdDelay === undefined) return undefined;
    return { version, ikeProposals, espProposals, ikeLifetime, childLifetime, dpdDelay, allowWeakAlgorithms };
}

function readEip(r: FieldReader, path: string, value: unknown): { allocationId?: string; publicIp?: string } {
    const e = r.object(path, value, ["allocationId", "publicIp"], false) ?? {};
    const allocationId = r.string(`${path}.allocationId`, e.allocationId, false, AWS_ID("eipalloc"), "an Elastic IP allocation id (eipalloc-...)");
    const publicIp = e.publicIp === undefined ? undefined : r.ipv4(`${path}.publicIp`, e.publicIp, PUBLIC);
    if (e.publicIp !== undefined && e.allocationId === undefined) r.error(`${path}.publicIp`, "is only meaningful with allocationId (the address of an existing allocation)");
    return { allocationId, publicIp };
}

function readPartner(r: FieldReader, path: string, value: unknown, mode: Mode | undefined, network: NetworkModel | undefined, endpoint: EndpointModel | undefined): PartnerModel | undefined {
    const keys = ["name", "privateIp", "gatewayIp", "remoteId", "remoteHosts", "ike", "natEip", "tunnelEip", "inbound", "proxies", "ipsecDaemon"];
    const raw = value as Raw | undefined;
    const misplacedSecrets = raw && typeof raw === "object" ? MISPLACED_SECRET_KEYS.filter((k) => k in raw) : [];
    for (const key of misplacedSecrets) {
        const name = typeof raw?.name === "string" ? raw.name : "<name>";
        r.error(`${path}.${key}`, `a pre-shared key does not belong in the plain partner list (it would be stored and shown in clear); remove it and run: pulumi config set --secret --path 'psks.${name}' '<key>'`);
    }
    const p = r.object(path, value, [...keys, ...misplacedSecrets], true);
    if (!p) return undefined;
    const name = r.string(`${path}.name`, p.name, true, PARTNER_NAME, "a lowercase DNS label of at most 18 characters (letters, digits, '-'; it names iptables chains)");
    const privateIp = r.ipv4(`${path}.privateIp`, p.privateIp, VPC_ADDRESS);
    const gatewayIp = r.ipv4(`${path}.gatewayIp`, p.gatewayIp, PUBLIC);
    const remoteId = r.string(`${path}.remoteId`, p.remoteId, false, IKE_ID, "an IKE identity (an address, FQDN or user@FQDN)") ?? gatewayIp;
    const remoteHosts = stringList(r, `${path}.remoteHosts`, p.remoteHosts, (q, v) => r.cidr(q, v, PARTNER_DOMAIN, true), 1);
    const ike = readIke(r, `${path}.ike`, p.ike);
    const natEip = readEip(r, `${path}.natEip`, p.natEip);
    const tunnelEip = readEip(r, `${path}.tunnelEip`, p.tunnelEip);
    const ipsecDaemon = r.oneOf(`${path}.ipsecDaemon`, p.ipsecDaemon, DAEMONS, endpoint?.ipsecDaemon ?? DEFAULTS.ipsecDaemon);

    if (network && privateIp) {
        if (!cidrContains(network.subnetCidr, privateIp)) r.error(`${path}.privateIp`, `"${privateIp}" is outside network.subnetCidr ${network.subnetCidr}`);
        const reservedHost = hostOf(network.subnetCidr).split(".").map(Number);
        const last = Number(privateIp.split(".")[3]);
        if (cidrContains(network.subnetCidr, privateIp) && reservedHost[3] <= last && last < reservedHost[3] + 4) {
            r.error(`${path}.privateIp`, `"${privateIp}" is one of the first four addresses of ${network.subnetCidr}, which AWS reserves`);
        }
    }
    remoteHosts.forEach((h, i) => {
        const clash = network?.internalCidrs.find((c) => cidrsOverlap(c, h));
        if (clash) r.error(`${path}.remoteHosts[${i}]`, `"${h}" overlaps our internal CIDR ${clash}; the partner's encryption domain must be outside our address space`);
        if (network && cidrsOverlap(network.subnetCidr, h)) r.error(`${path}.remoteHosts[${i}]`, `"${h}" overlaps network.subnetCidr ${network.subnetCidr}`);
        remoteHosts.slice(0, i).forEach((other) => {
            if (cidrsOverlap(other, h)) r.error(`${path}.remoteHosts[${i}]`, `"${h}" overlaps "${other}" listed before it`);
        });
    });
    if (gatewayIp && network?.internalCidrs.some((c) => cidrContains(c, gatewayIp))) r.error(`${path}.gatewayIp`, `"${gatewayIp}" is inside our internal CIDRs`);

    const inbound = readInbound(r, `${path}.inbound`, p.inbound, remoteHosts, network, privateIp);
    const proxies = readProxies(r, `${path}.proxies`, p.proxies, remoteHosts, mode);
    if (!name || !privateIp || !gatewayIp || !remoteId || remoteHosts.length === 0 || !ike || !ipsecDaemon || !inbound || !proxies) return undefined;
    return { name, privateIp, gatewayIp, remoteId, remoteHosts, ike, natEip, tunnelEip, inbound, proxies, ipsecDaemon };
}

function readInbound(r: FieldReader, path: string, value: unknown, remoteHosts: string[], network: NetworkModel | undefined, privateIp: string | undefined): InboundMappingModel[] | undefined {
    const list = r.list(path, value, false) ?? [];
    const out: InboundMappingModel[] = [];
    let bad = false;
    const seen = new Map<string, number>();
    list.forEach((item, i) => {
        const q = `${path}[${i}]`;
        const m = r.object(q, item, ["from", "protocol", "port", "target", "targetPort"], true);
        if (!m) return void (bad = true);
        const from = m.from === undefined ? remoteHosts : stringList(r, `${q}.from`, m.from, (fp, v) => r.cidr(fp, v, PARTNER_DOMAIN, true), 1);
        from.forEach((f, j) => {
            if (m.from !== undefined && !remoteHosts.some((h) => cidrContains(h, f))) r.error(`${q}.from[${j}]`, `"${f}" is not inside this partner's remoteHosts`);
        });
        const protocol = r.oneOf(`${q}.protocol`, m.protocol, ["tcp", "udp", "all"] as const, "all");
        const port = m.port === undefined ? undefined : r.integer(`${q}.port`, m.port, 1, 65535);
        if (protocol === "all" && m.port !== undefined) r.error(`${q}.port`, "a port needs protocol tcp or udp (protocol all forwards every port)");
        const targetPort = m.targetPort === undefined ? undefined : r.integer(`${q}.targetPort`, m.targetPort, 1, 65535);
        if (m.targetPort !== undefined && m.port === undefined) r.error(`${q}.targetPort`, "needs port (the port on the NAT address that maps to it)");
        const target = r.ipv4(`${q}.target`, m.target, VPC_ADDRESS);
        if (target && network && !network.internalCidrs.some((c) => cidrContains(c, target))) {
            r.error(`${q}.target`, `"${target}" is outside network.internalCidrs (${network.internalCidrs.join(", ")}); DNAT only to our own instances`);
        }
        if (target && target === privateIp) r.error(`${q}.target`, `"${target}" is the endpoint's own privateIp; a DNAT target must be another instance`);
        for (const f of from) {
            const key = `${f}|${protocol}|${port ?? "*"}`;
            const k = seen.get(key);
            if (k !== undefined) r.error(q, `maps the same traffic (${f}, ${protocol}${port ? ` port ${port}` : ""}) as ${path}[${k}]`);
            else seen.set(key, i);
        }
        if (!protocol || !target || (m.port !== undefined && port === undefined) || (m.targetPort !== undefined && targetPort === undefined)) return void (bad = true);
        out.push({ from, protocol, port, target, targetPort });
    });
    return bad ? undefined : out;
}

function readProxies(r: FieldReader, path: string, value: unknown, remoteHosts: string[], mode: Mode | undefined): ProxyModel[] | undefined {
    const list = r.list(path, value, false) ?? [];
    if (mode === "vpc-routing" && list.length > 0) {
        r.error(path, "proxies are only used in classic-proxy mode; in vpc-routing mode instances reach partner hosts through routes");
    }
    const out: ProxyModel[] = [];
    const ports = new Map<number, number>();
    let bad = false;
    list.forEach((item, i) => {
        const q = `${path}[${i}]`;
        const x = r.object(q, item, ["listenPort", "protocol", "remoteHost", "remotePort"], true);
        if (!x) return void (bad = true);
        const listenPort = r.integer(`${q}.listenPort`, x.listenPort, 1, 65535);
        if (listenPort !== undefined && RESERVED_PORTS.includes(listenPort)) r.error(`${q}.listenPort`, `${listenPort} is used by the endpoint itself (SSH 22, IKE 500, NAT-T 4500); pick another port`);
        if (listenPort !== undefined && ports.has(listenPort)) r.error(`${q}.listenPort`, `${listenPort} is already used by ${path}[${ports.get(listenPort)}]`);
        if (listenPort !== undefined && !ports.has(listenPort)) ports.set(listenPort, i);
        const protocol = r.oneOf(`${q}.protocol`, x.protocol, ["http", "tcp"] as const, "http");
        const remoteHost = r.ipv4(`${q}.remoteHost`, x.remoteHost, PARTNER_DOMAIN);
        if (remoteHost && !remoteHosts.some((h) => cidrContains(h, remoteHost))) r.error(`${q}.remoteHost`, `"${remoteHost}" is not inside this partner's remoteHosts`);
        const remotePort = x.remotePort === undefined && protocol === "http" ? DEFAULTS.httpRemotePort : r.integer(`${q}.remotePort`, x.remotePort, 1, 65535);
        if (listenPort === undefined || !protocol || !remoteHost || remotePort === undefined) return void (bad = true);
        out.push({ listenPort, protocol, remoteHost, remotePort });
    });
    return bad ? undefined : out;
}

function checkAcrossPartners(r: FieldReader, partners: (PartnerModel | undefined)[], mode: Mode | undefined): void {
    partners.forEach((p, i) => {
        if (!p) return;
        partners.slice(0, i).forEach((q, j) => {
            if (!q) return;
            if (q.name === p.name) r.error(`partners[${i}].name`, `"${p.name}" is already used by partners[${j}]; partner names must be unique`);
            if (q.privateIp === p.privateIp) r.error(`partners[${i}].privateIp`, `"${p.privateIp}" is already used by partners[${j}] (${q.name})`);
            for (const kind of ["natEip", "tunnelEip"] as const) {
                for (const other of ["natEip", "tunnelEip"] as const) {
                    if (p[kind].allocationId && p[kind].allocationId === q[other].allocationId) {
                        r.error(`partners[${i}].${kind}.allocationId`, `"${p[kind].allocationId}" is already used by partners[${j}].${other}`);
                    }
                }
            }
            if (mode === "vpc-routing") {
                p.remoteHosts.forEach((h, k) => {
                    const clash = q.remoteHosts.find((o) => cidrsOverlap(o, h));
                    if (clash) r.error(`partners[${i}].remoteHosts[${k}]`, `"${h}" overlaps "${clash}" of partners[${j}] (${q.name}); one route table cannot send both to different endpoints`);
                });
            }
        });
        if (p.natEip.allocationId && p.natEip.allocationId === p.tunnelEip.allocationId) {
            r.error(`partners[${i}].natEip.allocationId`, "the NAT and tunnel Elastic IPs must be different allocations");
        }
    });
}
