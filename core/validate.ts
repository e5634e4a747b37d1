/**
 * Stack config -> validated model. Reports every problem at once, each with its field path, and
 * never throws on bad input: callers stop before creating anything when `ok` is false.
 *
 * Checks that depend on another field (a DNAT target inside internalCidrs, a proxy host inside
 * remoteHosts) run only when that field is itself valid, so one mistake is reported once, at its
 * own path, and does not cascade into follow-on errors elsewhere.
 */
import { cidrBounds, cidrContains, cidrsOverlap, hostOf, isIpv4, prefixOf } from "./addresses";
import { parseProposal } from "./algorithms";
import { libreswanProposalList } from "./libreswanProposals";
import { DEFAULTS, PLAIN_CONFIG_KEYS, RESERVED_PORTS, SECRET_CONFIG_KEYS } from "./config";
import { FieldReader, PARTNER_DOMAIN, PUBLIC, SSH_SOURCE, VPC_ADDRESS, show, type Raw, type ValidationIssue } from "./fields";
import type {
    BastionModel, EndpointModel, IkeModel, InboundMappingModel, IpsecDaemon, Mode, NetworkModel,
    PartnerModel, ProxyModel, StackModel,
} from "./model";
import { checkHaAcrossPartners, readEndpointHa, readPartnerHa } from "./ha";
import { readMonitoring } from "./monitoring";
import { ENDPOINT_OSES, DEFAULT_ENDPOINT_OS, OS_IMAGES, type EndpointOs } from "./os";
import { validatePartnerSecrets } from "./secrets";

export type { ValidationIssue } from "./fields";
export { formatIssue } from "./fields";

export type ValidationResult =
    | { readonly ok: true; readonly model: StackModel; readonly warnings: readonly ValidationIssue[] }
    | { readonly ok: false; readonly errors: readonly ValidationIssue[]; readonly warnings: readonly ValidationIssue[] };

/** Partner names become iptables chains `PVPN-<name>-POST` (28 characters at most) and file names. */
export const PARTNER_NAME = /^[a-z]([a-z0-9-]{0,16}[a-z0-9])?$/;
export const PARTNER_NAME_MAX = 18;
/** AWS resource ids: the prefix and 8 (older resources) or 17 lowercase hex digits. */
const AWS_ID = (prefix: string) => new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`);
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IKE_ID = /^[A-Za-z0-9@._:-]{1,128}$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Text made of digits and dots only: meant as an IPv4 address, so it must be a valid one. */
const LOOKS_NUMERIC = /^[0-9.]+$/;

/** Keys people use when they paste a PSK into the partner entry (compared lowercase, without '-' and '_'). */
const MISPLACED_SECRET_KEYS = ["psk", "psks", "secret", "presharedkey", "presharedsecret", "sharedsecret", "sharedkey", "key", "password"];

const MODES: readonly Mode[] = ["vpc-routing", "classic-proxy"];
const DAEMONS: readonly IpsecDaemon[] = ["strongswan", "libreswan"];


/**
 * Validates plain stack config (the `partner-vpn:` keys, prefix removed) and, when given, the
 * secret keys. `secrets` is optional so the plan can validate without them.
 */
export function validateStackConfig(raw: unknown, secrets?: { psks?: unknown; sshPrivateKey?: unknown }): ValidationResult {
    const top = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as Raw) : undefined;
    const docs = top?.allowDocumentationAddresses === true;
    const r = new FieldReader(docs);
    // The secret keys are validated from the `secrets` argument, never from the plain config.
    const secretKeys = top ? SECRET_CONFIG_KEYS.filter((k) => k in top) : [];
    for (const key of secretKeys) {
        r.error(key, `is a secret key and does not belong in the plain config; expected it in validateStackConfig's secrets argument (set it with pulumi config set --secret)`);
    }
    const cfg = r.object("", raw, [...PLAIN_CONFIG_KEYS, ...secretKeys], true) ?? {};
    if (r.boolean("allowDocumentationAddresses", cfg.allowDocumentationAddresses, false)) {
        r.warn("allowDocumentationAddresses", "documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are accepted as public addresses: for labs and tests only");
    }
    const mode = r.oneOf("mode", cfg.mode, MODES);
    const { model: network, scope } = readNetwork(r, cfg.network, mode);
    const { model: endpoint, explicit } = readEndpoint(r, cfg.endpoint);
    const partnerList = r.list("partners", cfg.partners, true, 1) ?? [];
    const read = partnerList.map((p, i) => readPartner(r, `partners[${i}]`, p, mode, scope, endpoint, explicit));
    const partners = read.map((p) => p.model);
    checkAcrossPartners(r, partners, mode);
    checkHaAcrossPartners(r, partners);
    const monitoring = readMonitoring(r, cfg.monitoring);
    if (secrets) {
        // Every valid name, also of partners with other mistakes, so their PSKs are still checked
        // and not reported as keys of unknown partners.
        const names = read.flatMap((p) => (p.name ? [p.name] : []));
        validatePartnerSecrets(r, names, secrets.psks, secrets.sshPrivateKey, names.length === partnerList.length);
    }
    if (r.errors.length > 0 || !mode || !network || !endpoint || !monitoring || partners.some((p) => !p)) {
        return { ok: false, errors: r.errors, warnings: r.warnings };
    }
    return { ok: true, model: { mode, network, endpoint, partners: partners as PartnerModel[], monitoring }, warnings: r.warnings };
}

/** A list read item by item: `items` keeps each item's index (undefined where it was invalid). */
interface ReadList {
    readonly items: readonly (string | undefined)[];
    readonly values: string[];
    /** The list itself and every item were valid, so checks against it are meaningful. */
    readonly complete: boolean;
}

function readList(r: FieldReader, path: string, value: unknown, read: (p: string, v: unknown) => string | undefined, min = 0): ReadList {
    const before = r.errors.length;
    const list = r.list(path, value, min > 0, min);
    const items = (list ?? []).map((v, i) => read(`${path}[${i}]`, v));
    const values = items.filter((v): v is string => v !== undefined);
    return { items, values, complete: r.errors.length === before };
}

/** Reports an item equal to an earlier one; `same` decides equality (default: identical text). */
function noDuplicates(r: FieldReader, path: string, items: readonly (string | undefined)[], what: string, same = (a: string, b: string) => a === b): void {
    items.forEach((item, i) => {
        if (item === undefined) return;
        const j = items.findIndex((other, k) => k < i && other !== undefined && same(other, item));
        if (j >= 0) r.error(`${path}[${i}]`, `${show(item)} duplicates ${path}[${j}]; list each ${what} once`);
    });
}

/** Reports a CIDR that overlaps an earlier one in the same list (duplicates are named as such). */
function noOverlaps(r: FieldReader, path: string, items: readonly (string | undefined)[], what: string): void {
    items.forEach((item, i) => {
        if (item === undefined) return;
        const j = items.findIndex((other, k) => k < i && other !== undefined && cidrsOverlap(other, item));
        if (j < 0) return;
        const other = items[j] as string;
        if (other === item) r.error(`${path}[${i}]`, `"${item}" duplicates ${path}[${j}]; list each ${what} once`);
        else r.error(`${path}[${i}]`, `"${item}" overlaps "${other}" (${path}[${j}]); expected ${what}s that do not overlap`);
    });
}

/** AWS reserves the first four addresses and the last one of every subnet. */
function awsReserved(subnetCidr: string, address: string): string | undefined {
    if (!cidrContains(subnetCidr, address)) return undefined;
    const { first, last } = cidrBounds(subnetCidr);
    if (cidrContains(`${first}/30`, address)) return `one of the first four addresses of ${subnetCidr}, which AWS reserves (network, VPC router, DNS, future use)`;
    if (address === last) return `the last address of ${subnetCidr}, which AWS reserves`;
    return undefined;
}

/** What partner checks need of the network: present whenever these two fields are valid, even
 *  if another network field is not, so that partner mistakes are still reported. */
type NetworkScope = Pick<NetworkModel, "subnetCidr" | "internalCidrs"> & { readonly subnetId?: string };

function readNetwork(r: FieldReader, value: unknown, mode: Mode | undefined): { model?: NetworkModel; scope?: NetworkScope } {
    const n = r.object("network", value, ["vpcId", "subnetId", "subnetCidr", "internalCidrs", "routeTableIds"], true);
    if (!n) return {};
    const vpcId = r.string("network.vpcId", n.vpcId, true, AWS_ID("vpc"), "a VPC id (vpc- and 8 or 17 hex digits)");
    const subnetId = r.string("network.subnetId", n.subnetId, true, AWS_ID("subnet"), "a subnet id (subnet- and 8 or 17 hex digits)");
    let subnetCidr = r.cidr("network.subnetCidr", n.subnetCidr, VPC_ADDRESS, false);
    if (subnetCidr && (prefixOf(subnetCidr) < 16 || prefixOf(subnetCidr) > 28)) {
        subnetCidr = r.error("network.subnetCidr", `"${subnetCidr}" has prefix length /${prefixOf(subnetCidr)}; an AWS subnet is /16 to /28`);
    }
    const internal = readList(r, "network.internalCidrs", n.internalCidrs, (p, v) => r.cidr(p, v, VPC_ADDRESS, false), 1);
    noOverlaps(r, "network.internalCidrs", internal.items, "internal CIDR");
    const routeTables = readList(r, "network.routeTableIds", n.routeTableIds, (p, v) => r.string(p, v, true, AWS_ID("rtb"), "a route table id (rtb- and 8 or 17 hex digits)"));
    noDuplicates(r, "network.routeTableIds", routeTables.items, "route table");
    if (mode === "classic-proxy" && routeTables.values.length > 0) {
        r.error("network.routeTableIds", "routes are not used in classic-proxy mode (instances reach partners through the proxy); expected no routeTableIds, or use mode vpc-routing");
    }
    if (mode === "vpc-routing" && n.routeTableIds === undefined) {
        r.warn("network.routeTableIds", "no route tables: in vpc-routing mode partner traffic reaches the endpoint only through routes you manage elsewhere");
    }
    const scope = subnetCidr && internal.complete ? { subnetCidr, internalCidrs: internal.values, subnetId } : undefined;
    if (!vpcId || !subnetId || !scope || !routeTables.complete) return { scope };
    return { scope, model: { vpcId, subnetId, subnetCidr: scope.subnetCidr, internalCidrs: scope.internalCidrs, routeTableIds: routeTables.values } };
}

/** Which image and login settings the config names itself (rather than taking them from `os`). */
interface ExplicitImage {
    /** Config paths of `endpoint.ami`, `amiOwner`, `amiNameFilter` where set: they describe one image. */
    readonly imagePaths: readonly string[];
    readonly sshUser: boolean;
}

function readEndpoint(r: FieldReader, value: unknown): { model?: EndpointModel; explicit: ExplicitImage } {
    const keys = ["instanceType", "os", "ami", "amiOwner", "amiNameFilter", "sshUser", "keyName", "adminCidrs", "bastion", "rootVolumeGiB", "ipsecDaemon", "ha"];
    const before = r.errors.length;
    const e = r.object("endpoint", value, keys, false) ?? {};
    const instanceType = r.string("endpoint.instanceType", e.instanceType, false, /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "an EC2 instance type (e.g. t3.micro)") ?? DEFAULTS.instanceType;
    const os = r.oneOf("endpoint.os", e.os, ENDPOINT_OSES, DEFAULT_ENDPOINT_OS);
    const image = OS_IMAGES[os ?? DEFAULT_ENDPOINT_OS];
    const ami = r.string("endpoint.ami", e.ami, false, AWS_ID("ami"), "an AMI id (ami- and 8 or 17 hex digits)");
    const amiOwner = r.string("endpoint.amiOwner", e.amiOwner, false, /^([0-9]{12}|amazon|self|aws-marketplace)$/, "an AWS account id (12 digits) or amazon, self, aws-marketplace") ?? image.amiOwner;
    const amiNameFilter = r.string("endpoint.amiNameFilter", e.amiNameFilter, false, /^[A-Za-z0-9*?./_ ()-]{1,128}$/, "an AMI name pattern") ?? image.amiNameFilter;
    const sshUser = r.string("endpoint.sshUser", e.sshUser, false, UNIX_USER, "a Unix user name") ?? image.sshUser;
    const explicit: ExplicitImage = {
        imagePaths: (["ami", "amiOwner", "amiNameFilter"] as const).filter((k) => e[k] !== undefined && e[k] !== null).map((k) => `endpoint.${k}`),
        sshUser: e.sshUser !== undefined && e.sshUser !== null,
    };
    const keyName = r.string("endpoint.keyName", e.keyName, false, /^[\x20-\x7e]{1,255}$/, "an EC2 key pair name");
    const admin = readList(r, "endpoint.adminCidrs", e.adminCidrs, (p, v) => r.cidr(p, v, SSH_SOURCE, false));
    noOverlaps(r, "endpoint.adminCidrs", admin.items, "admin CIDR");
    admin.items.forEach((c, i) => {
        if (c === "0.0.0.0/0") r.warn(`endpoint.adminCidrs[${i}]`, "SSH is open to the whole internet; prefer your office CIDRs or a bastion");
    });
    const bastion = readBastion(r, e.bastion);
    // The remote commands must be able to reach sshd, and the security group opens SSH only to
    // adminCidrs and the bastion's group: with neither, every push would time out after creation.
    if (admin.items.length === 0 && r.errors.length === before) {
        if (!bastion) {
            r.error("endpoint", "the remote commands need SSH access to the endpoints: set endpoint.bastion (with its securityGroupId) or endpoint.adminCidrs");
        } else if (!bastion.securityGroupId) {
            r.error("endpoint.bastion.securityGroupId", "is required when endpoint.adminCidrs is empty: the endpoints accept SSH only from the bastion's security group (or list the bastion's address in adminCidrs)");
        }
    }
    const rootVolumeGiB = r.integer("endpoint.rootVolumeGiB", e.rootVolumeGiB, 8, 1024, DEFAULTS.rootVolumeGiB);
    const ipsecDaemon = r.oneOf("endpoint.ipsecDaemon", e.ipsecDaemon, DAEMONS, DEFAULTS.ipsecDaemon);
    const ha = readEndpointHa(r, e.ha);
    if (r.errors.length > before || rootVolumeGiB === undefined || ipsecDaemon === undefined || os === undefined) return { explicit };
    const model: EndpointModel = { instanceType, os, ami, amiOwner, amiNameFilter, sshUser, keyName, adminCidrs: admin.values, bastion, rootVolumeGiB, ipsecDaemon };
    return { model: ha ? { ...model, ha } : model, explicit };
}

/** A partner's OS, image and login user: the endpoint's, or (for a partner on another OS) that
 *  OS's official image and user. An image named in config fits one OS only. */
function readPartnerOs(r: FieldReader, path: string, value: unknown, endpoint: EndpointModel | undefined, explicit: ExplicitImage): Pick<PartnerModel, "os" | "image" | "sshUser"> | undefined {
    const os: EndpointOs | undefined = r.oneOf(`${path}.os`, value, ENDPOINT_OSES, endpoint?.os ?? DEFAULT_ENDPOINT_OS);
    if (!os || !endpoint) return undefined;
    if (os === endpoint.os) {
        const image = endpoint.ami === undefined ? { amiOwner: endpoint.amiOwner, amiNameFilter: endpoint.amiNameFilter } : { ami: endpoint.ami, amiOwner: endpoint.amiOwner, amiNameFilter: endpoint.amiNameFilter };
        return { os, image, sshUser: endpoint.sshUser };
    }
    if (explicit.imagePaths.length > 0) {
        r.error(`${path}.os`, `"${os}" differs from endpoint.os "${endpoint.os}", but ${explicit.imagePaths.join(", ")} name one image for "${endpoint.os}"; expected no image settings in endpoint (each OS then boots its official image), or this partner on "${endpoint.os}"`);
        return undefined;
    }
    const own = OS_IMAGES[os];
    return { os, image: { amiOwner: own.amiOwner, amiNameFilter: own.amiNameFilter }, sshUser: explicit.sshUser ? endpoint.sshUser : own.sshUser };
}

function readBastion(r: FieldReader, value: unknown): BastionModel | undefined {
    const b = r.object("endpoint.bastion", value, ["host", "user", "port", "securityGroupId"], false);
    if (!b) return undefined;
    let host = r.string("endpoint.bastion.host", b.host, true, undefined, "a host name or IPv4 address");
    if (host !== undefined && (LOOKS_NUMERIC.test(host) ? !isIpv4(host) : !DNS_NAME.test(host))) {
        const hint = host.includes("@") ? "; put the user in endpoint.bastion.user" : host.includes(":") ? "; put the port in endpoint.bastion.port" : "";
        host = r.error("endpoint.bastion.host", `${show(host)} is not a host name or IPv4 address${hint}`);
    }
    const user = r.string("endpoint.bastion.user", b.user, false, UNIX_USER, "a Unix user name") ?? DEFAULTS.bastionUser;
    const port = r.integer("endpoint.bastion.port", b.port, 1, 65535, DEFAULTS.sshPort);
    const securityGroupId = r.string("endpoint.bastion.securityGroupId", b.securityGroupId, false, AWS_ID("sg"), "a security group id (sg- and 8 or 17 hex digits)");
    if (!host || !port) return undefined;
    return securityGroupId === undefined ? { host, user, port } : { host, user, port, securityGroupId };
}

function readProposals(r: FieldReader, path: string, value: unknown, kind: "ike" | "esp", fallback: readonly string[], allowWeak: boolean, version: 1 | 2 | undefined): string[] | undefined {
    if (value === undefined || value === null) return [...fallback];
    const list = readList(r, path, value, (p, v) => r.string(p, v, true, undefined, "a proposal such as aes256-sha256-modp2048"), 1);
    let bad = !list.complete;
    list.items.forEach((text, i) => {
        if (text === undefined) return;
        const parsed = parseProposal(kind, text, version);
        if (!parsed.ok) {
            r.error(`${path}[${i}]`, `"${text}": ${parsed.problem}`);
            bad = true;
            return;
        }
        if (parsed.proposal.weak.length > 0) {
            const weak = parsed.proposal.weak.join(", ");
            if (allowWeak) {
                r.warn(`${path}[${i}]`, `"${text}" uses weak algorithms (${weak}), accepted because allowWeakAlgorithms is true`);
            } else {
                r.error(`${path}[${i}]`, `"${text}" uses weak algorithms (${weak}); expected strong ones agreed with the partner, or set ike.allowWeakAlgorithms: true if they cannot`);
                bad = true;
            }
        }
    });
    noDuplicates(r, path, list.items, "proposal");
    return bad ? undefined : list.values;
}

function readIke(r: FieldReader, path: string, value: unknown): IkeModel | undefined {
    const keys = ["version", "ikeProposals", "espProposals", "ikeLifetime", "childLifetime", "dpdDelay", "allowWeakAlgorithms"];
    const before = r.errors.length;
    const k = r.object(path, value, keys, false) ?? {};
    const version = r.oneOf(`${path}.version`, k.version, [1, 2] as const, DEFAULTS.ikeVersion);
    const allowWeakAlgorithms = r.boolean(`${path}.allowWeakAlgorithms`, k.allowWeakAlgorithms, false);
    const ikeProposals = readProposals(r, `${path}.ikeProposals`, k.ikeProposals, "ike", DEFAULTS.ikeProposals, allowWeakAlgorithms, version);
    const espProposals = readProposals(r, `${path}.espProposals`, k.espProposals, "esp", DEFAULTS.espProposals, allowWeakAlgorithms, version);
    const ikeLifetime = r.integer(`${path}.ikeLifetime`, k.ikeLifetime, 300, 86400, DEFAULTS.ikeLifetime);
    const childLifetime = r.integer(`${path}.childLifetime`, k.childLifetime, 300, 86400, DEFAULTS.childLifetime);
    const dpdDelay = r.integer(`${path}.dpdDelay`, k.dpdDelay, 0, 300, DEFAULTS.dpdDelay);
    if (dpdDelay !== undefined && dpdDelay > 0 && dpdDelay < 5) r.error(`${path}.dpdDelay`, `${dpdDelay} is too short; expected 0 (off) or 5 to 300 seconds`);
    if (ikeLifetime !== undefined && childLifetime !== undefined && childLifetime > ikeLifetime) {
        r.error(`${path}.childLifetime`, `${childLifetime} exceeds ikeLifetime ${ikeLifetime}; expected a phase 2 lifetime of at most the phase 1 lifetime`);
    }
    if (r.errors.length > before || !version || !ikeProposals || !espProposals || !ikeLifetime || !childLifetime || dpdDelay === undefined) return undefined;
    return { version, ikeProposals, espProposals, ikeLifetime, childLifetime, dpdDelay, allowWeakAlgorithms };
}

/**
 * What Libreswan cannot do although strongSwan can: some proposals (core/libreswanProposals.ts)
 * and identities with characters Libreswan's files give a meaning. Reported at the partner's own
 * fields, whether the daemon came from the partner or from endpoint.ipsecDaemon.
 */
function checkLibreswan(r: FieldReader, path: string, ike: IkeModel | undefined, remoteId: string | undefined): void {
    const why = "(ipsecDaemon is libreswan)";
    for (const kind of ["ike", "esp"] as const) {
        if (!ike) break;
        const field = `${path}.ike.${kind === "ike" ? "ikeProposals" : "espProposals"}`;
        const list = kind === "ike" ? ike.ikeProposals : ike.espProposals;
        const t = libreswanProposalList(kind, list, ike.version);
        if (t.ok) continue;
        for (const problem of t.problems) {
            if (problem.index === undefined) r.error(field, `${problem.problem} ${why}`);
            else r.error(`${field}[${problem.index}]`, `"${list[problem.index]}" ${problem.problem} ${why}`);
        }
    }
    if (remoteId !== undefined && (remoteId.includes(":") || /@.*@/.test(remoteId) || remoteId.endsWith("@"))) {
        r.error(`${path}.remoteId`, `${show(remoteId)} is not an identity Libreswan reads literally; expected an IPv4 address, FQDN or user@FQDN without ':' ${why}`);
    }
}

function readEip(r: FieldReader, path: string, value: unknown): { allocationId?: string; publicIp?: string } {
    const e = r.object(path, value, ["allocationId", "publicIp"], false) ?? {};
    const allocationId = r.string(`${path}.allocationId`, e.allocationId, false, AWS_ID("eipalloc"), "an Elastic IP allocation id (eipalloc- and 8 or 17 hex digits)");
    const publicIp = e.publicIp === undefined ? undefined : r.ipv4(`${path}.publicIp`, e.publicIp, PUBLIC);
    if (e.publicIp !== undefined && e.allocationId === undefined) r.error(`${path}.publicIp`, "is only meaningful with allocationId (the address of an existing allocation); expected allocationId as well, or no publicIp");
    return { allocationId, publicIp };
}

function readName(r: FieldReader, path: string, value: unknown): string | undefined {
    const expected = `a lowercase DNS label of at most ${PARTNER_NAME_MAX} characters (letters, digits, '-'; it names iptables chains PVPN-<name>-POST)`;
    const name = r.string(path, value, true, undefined, expected);
    if (name === undefined || PARTNER_NAME.test(name)) return name;
    let hint = "";
    if (name.length > PARTNER_NAME_MAX) hint = `; it is ${name.length} characters`;
    else if (PARTNER_NAME.test(name.toLowerCase())) hint = `; did you mean "${name.toLowerCase()}"?`;
    else if (PARTNER_NAME.test(name.toLowerCase().replace(/[_. ]/g, "-"))) hint = `; did you mean "${name.toLowerCase().replace(/[_. ]/g, "-")}"?`;
    return r.error(path, `${show(name)} is not ${expected}${hint}`);
}

/** One partner entry: its model when fully valid, and its name whenever that alone is valid. */
interface ReadPartner {
    readonly name?: string;
    readonly model?: PartnerModel;
}

function readPartner(r: FieldReader, path: string, value: unknown, mode: Mode | undefined, network: NetworkScope | undefined, endpoint: EndpointModel | undefined, explicit: ExplicitImage): ReadPartner {
    const keys = ["name", "privateIp", "gatewayIp", "remoteId", "remoteHosts", "ike", "natEip", "tunnelEip", "inbound", "proxies", "ipsecDaemon", "os", "pathMtu", "ha"];
    const before = r.errors.length;
    const raw = value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Raw) : undefined;
    const misplacedSecrets = raw ? Object.keys(raw).filter((k) => MISPLACED_SECRET_KEYS.includes(k.toLowerCase().replace(/[-_]/g, ""))) : [];
    for (const key of misplacedSecrets) {
        const name = typeof raw?.name === "string" && PARTNER_NAME.test(raw.name) ? raw.name : "<name>";
        r.error(`${path}.${key}`, `a pre-shared key does not belong in the plain partner list (it would be stored and shown in clear); expected it in the secret psks object: remove it and run: pulumi config set --secret --path 'psks.${name}' '<key>'`);
    }
    const p = r.object(path, value, [...keys, ...misplacedSecrets], true);
    if (!p) return {};
    const name = readName(r, `${path}.name`, p.name);
    const privateIp = r.ipv4(`${path}.privateIp`, p.privateIp, VPC_ADDRESS);
    const gatewayIp = r.ipv4(`${path}.gatewayIp`, p.gatewayIp, PUBLIC);
    let remoteId = r.string(`${path}.remoteId`, p.remoteId, false, IKE_ID, "an IKE identity (an IPv4 address, FQDN or user@FQDN)");
    if (remoteId !== undefined && LOOKS_NUMERIC.test(remoteId) && !isIpv4(remoteId)) {
        remoteId = r.error(`${path}.remoteId`, `${show(remoteId)} is not an IPv4 address; expected an IKE identity (an IPv4 address, FQDN or user@FQDN)`);
    } else if (p.remoteId === undefined || p.remoteId === null) {
        remoteId = gatewayIp;
    }
    const hosts = readList(r, `${path}.remoteHosts`, p.remoteHosts, (q, v) => r.cidr(q, v, PARTNER_DOMAIN, true), 1);
    const ike = readIke(r, `${path}.ike`, p.ike);
    const natEip = readEip(r, `${path}.natEip`, p.natEip);
    const tunnelEip = readEip(r, `${path}.tunnelEip`, p.tunnelEip);
    const ipsecDaemon = r.oneOf(`${path}.ipsecDaemon`, p.ipsecDaemon, DAEMONS, endpoint?.ipsecDaemon ?? DEFAULTS.ipsecDaemon);
    if (ipsecDaemon === "libreswan") checkLibreswan(r, path, ike, remoteId);
    const machine = readPartnerOs(r, path, p.os, endpoint, explicit);
    // 1280: IPv6's minimum link MTU, far below any internet path in practice; above 1500 an AWS
    // internet gateway does not carry.
    const pathMtu = r.integer(`${path}.pathMtu`, p.pathMtu, 1280, 1500, DEFAULTS.pathMtu);
    const pair = readPartnerHa(r, `${path}.ha`, p.ha, { mode, network, endpoint, ipsecDaemon, privateIp });

    if (network && privateIp) {
        if (!cidrContains(network.subnetCidr, privateIp)) r.error(`${path}.privateIp`, `"${privateIp}" is outside network.subnetCidr ${network.subnetCidr}; expected an address inside it`);
        const reserved = awsReserved(network.subnetCidr, privateIp);
        if (reserved) r.error(`${path}.privateIp`, `"${privateIp}" is ${reserved}; expected a usable host address of the subnet`);
    }
    noOverlaps(r, `${path}.remoteHosts`, hosts.items, "partner host or network");
    const ours = [natEip.publicIp, tunnelEip.publicIp].filter((x): x is string => x !== undefined);
    hosts.items.forEach((h, i) => {
        if (h === undefined) return;
        const q = `${path}.remoteHosts[${i}]`;
        const clash = network?.internalCidrs.find((c) => cidrsOverlap(c, h));
        if (clash) r.error(q, `"${h}" overlaps our internal CIDR ${clash}; expected the partner's encryption domain outside our address space`);
        else if (network && cidrsOverlap(network.subnetCidr, h)) r.error(q, `"${h}" overlaps network.subnetCidr ${network.subnetCidr}; expected the partner's encryption domain outside our address space`);
        if (gatewayIp && cidrContains(h, gatewayIp)) {
            r.error(q, `"${h}" contains the partner's gatewayIp ${gatewayIp}; expected the encryption domain to exclude the VPN gateway itself (its IKE and ESP packets would be routed into the tunnel)`);
        }
        const own = ours.find((o) => cidrContains(h, o));
        if (own) r.error(q, `"${h}" contains our own Elastic IP ${own}; expected only the partner's hosts`);
    });
    if (gatewayIp && network) {
        const inside = [...network.internalCidrs, network.subnetCidr].find((c) => cidrContains(c, gatewayIp));
        if (inside) r.error(`${path}.gatewayIp`, `"${gatewayIp}" is inside our own ${inside}; expected the partner's public VPN gateway address`);
    }
    if (gatewayIp && ours.includes(gatewayIp)) r.error(`${path}.gatewayIp`, `"${gatewayIp}" is one of our own Elastic IPs (natEip/tunnelEip); expected the partner's VPN gateway address`);
    if (natEip.publicIp && natEip.publicIp === tunnelEip.publicIp) {
        r.error(`${path}.tunnelEip.publicIp`, `"${tunnelEip.publicIp}" is also natEip.publicIp; expected two different Elastic IPs`);
    }

    const remoteHosts = hosts.complete ? hosts.values : undefined;
    const inbound = readInbound(r, `${path}.inbound`, p.inbound, remoteHosts, network, privateIp);
    const proxies = readProxies(r, `${path}.proxies`, p.proxies, remoteHosts, mode);
    if (mode === "classic-proxy" && proxies && proxies.length === 0) {
        r.warn(`${path}.proxies`, "is empty: in classic-proxy mode our instances reach a partner only through proxies, so only partner-initiated inbound traffic will flow");
    }
    if (r.errors.length > before || !name || !privateIp || !gatewayIp || !remoteId || !remoteHosts || !ike || !ipsecDaemon || !inbound || !proxies || !machine || pathMtu === undefined || !pair.ok) return { name };
    const model: PartnerModel = { name, privateIp, gatewayIp, remoteId, remoteHosts, ike, natEip, tunnelEip, inbound, proxies, ipsecDaemon, pathMtu, ...machine };
    return { name, model: pair.ha ? { ...model, ha: pair.ha } : model };
}

/** Two inbound mappings match the same packets when sources, protocols and ports all intersect. */
function mappingsClash(a: InboundMappingModel, b: InboundMappingModel): boolean {
    const sources = a.from.some((f) => b.from.some((g) => cidrsOverlap(f, g)));
    const protocols = a.protocol === b.protocol || a.protocol === "all" || b.protocol === "all";
    const ports = a.port === undefined || b.port === undefined || a.port === b.port;
    return sources && protocols && ports;
}

function readInbound(r: FieldReader, path: string, value: unknown, remoteHosts: string[] | undefined, network: NetworkScope | undefined, privateIp: string | undefined): InboundMappingModel[] | undefined {
    const before = r.errors.length;
    const list = r.list(path, value, false) ?? [];
    const out: { index: number; mapping: InboundMappingModel }[] = [];
    list.forEach((item, i) => {
        const q = `${path}[${i}]`;
        const itemBefore = r.errors.length;
        const m = r.object(q, item, ["from", "protocol", "port", "target", "targetPort"], true);
        if (!m) return;
        let from = remoteHosts ?? [];
        if (m.from === null) {
            r.error(`${q}.from`, "is empty; expected a list of partner hosts, or no from key at all to accept every remoteHosts entry");
        } else if (m.from !== undefined) {
            const f = readList(r, `${q}.from`, m.from, (fp, v) => r.cidr(fp, v, PARTNER_DOMAIN, true), 1);
            noOverlaps(r, `${q}.from`, f.items, "source");
            f.items.forEach((h, j) => {
                if (h !== undefined && remoteHosts && !remoteHosts.some((rh) => cidrContains(rh, h))) {
                    r.error(`${q}.from[${j}]`, `"${h}" is not inside this partner's remoteHosts; expected one of ${remoteHosts.join(", ")} or a part of one`);
                }
            });
            from = f.values;
        }
        const protocol = r.oneOf(`${q}.protocol`, m.protocol, ["tcp", "udp", "all"] as const, "all");
        let port: number | undefined;
        if (m.port === null) r.error(`${q}.port`, "is empty; expected a port from 1 to 65535, or no port key at all (protocol all forwards every port)");
        else if (m.port !== undefined) port = r.integer(`${q}.port`, m.port, 1, 65535);
        if (protocol === "all" && m.port !== undefined && m.port !== null) r.error(`${q}.port`, "a port needs protocol tcp or udp (protocol all forwards every port); expected protocol: tcp or protocol: udp");
        let targetPort: number | undefined;
        if (m.targetPort !== undefined) {
            targetPort = r.integer(`${q}.targetPort`, m.targetPort, 1, 65535);
            if (m.port === undefined || m.port === null) r.error(`${q}.targetPort`, "needs port (the port on the NAT address that maps to it); expected port as well, or no targetPort");
        }
        const target = r.ipv4(`${q}.target`, m.target, VPC_ADDRESS);
        if (target && network) {
            if (!network.internalCidrs.some((c) => cidrContains(c, target))) {
                r.error(`${q}.target`, `"${target}" is outside network.internalCidrs (${network.internalCidrs.join(", ")}); expected one of our own instances (DNAT only to them)`);
            }
            const reserved = awsReserved(network.subnetCidr, target);
            if (reserved) r.error(`${q}.target`, `"${target}" is ${reserved}; expected an instance's address`);
            const edge = reserved ? undefined : network.internalCidrs.find((c) => prefixOf(c) <= 30 && [cidrBounds(c).first, cidrBounds(c).last].includes(target));
            if (edge) r.error(`${q}.target`, `"${target}" is the network or broadcast address of ${edge}; expected an instance's address`);
        }
        if (target && target === privateIp) r.error(`${q}.target`, `"${target}" is the endpoint's own privateIp; expected another instance as DNAT target`);
        if (r.errors.length > itemBefore || !protocol || !target || !remoteHosts) return;
        const mapping: InboundMappingModel = { from, protocol, port, target, targetPort: targetPort ?? port };
        const clash = out.find((o) => mappingsClash(o.mapping, mapping));
        if (clash) {
            r.error(q, `matches the same partner traffic as ${path}[${clash.index}] (overlapping from, protocol and port); expected each packet to have one DNAT target`);
            return;
        }
        out.push({ index: i, mapping });
    });
    return r.errors.length > before ? undefined : out.map((o) => o.mapping);
}

function readProxies(r: FieldReader, path: string, value: unknown, remoteHosts: string[] | undefined, mode: Mode | undefined): ProxyModel[] | undefined {
    const before = r.errors.length;
    const list = r.list(path, value, false) ?? [];
    if (mode === "vpc-routing" && list.length > 0) {
        r.error(path, "proxies are only used in classic-proxy mode; in vpc-routing mode instances reach partner hosts through routes; expected no proxies, or mode classic-proxy");
    }
    const out: ProxyModel[] = [];
    const ports = new Map<number, number>();
    list.forEach((item, i) => {
        const q = `${path}[${i}]`;
        const x = r.object(q, item, ["listenPort", "protocol", "remoteHost", "remotePort"], true);
        if (!x) return;
        const listenPort = r.integer(`${q}.listenPort`, x.listenPort, 1, 65535);
        if (listenPort !== undefined && RESERVED_PORTS.includes(listenPort)) r.error(`${q}.listenPort`, `${listenPort} is used by the endpoint itself (SSH 22, IKE 500, NAT-T 4500); expected another port`);
        else if (listenPort !== undefined && ports.has(listenPort)) r.error(`${q}.listenPort`, `${listenPort} is already used by ${path}[${ports.get(listenPort)}]; expected a port of its own`);
        if (listenPort !== undefined && !ports.has(listenPort)) ports.set(listenPort, i);
        const protocol = typeof x.protocol === "string" && x.protocol.toLowerCase() === "https"
            ? r.error(`${q}.protocol`, `${show(x.protocol)} is not one of http, tcp; for an HTTPS service expected protocol tcp (the proxy passes TLS through unchanged)`)
            : r.oneOf(`${q}.protocol`, x.protocol, ["http", "tcp"] as const, "http");
        const remoteHost = r.ipv4(`${q}.remoteHost`, x.remoteHost, PARTNER_DOMAIN);
        const within = remoteHost && remoteHosts?.find((h) => cidrContains(h, remoteHost));
        if (remoteHost && remoteHosts && !within) {
            r.error(`${q}.remoteHost`, `"${remoteHost}" is not inside this partner's remoteHosts; expected one of ${remoteHosts.map(hostOfHostCidr).join(", ")} or an address inside one`);
        } else if (remoteHost && within && prefixOf(within) <= 30 && [cidrBounds(within).first, cidrBounds(within).last].includes(remoteHost)) {
            r.error(`${q}.remoteHost`, `"${remoteHost}" is the network or broadcast address of ${within}; expected a host`);
        }
        const remotePort = (x.remotePort === undefined || x.remotePort === null) && protocol === "http"
            ? DEFAULTS.httpRemotePort
            : r.integer(`${q}.remotePort`, x.remotePort, 1, 65535);
        if (listenPort === undefined || !protocol || !remoteHost || remotePort === undefined) return;
        out.push({ listenPort, protocol, remoteHost, remotePort });
    });
    return r.errors.length > before ? undefined : out;
}

/** `1.2.3.4/32` -> `1.2.3.4`; networks stay CIDRs. For messages. */
function hostOfHostCidr(cidr: string): string {
    return cidr.endsWith("/32") ? hostOf(cidr) : cidr;
}

function checkAcrossPartners(r: FieldReader, partners: (PartnerModel | undefined)[], mode: Mode | undefined): void {
    partners.forEach((p, i) => {
        if (!p) return;
        partners.slice(0, i).forEach((q, j) => {
            if (!q) return;
            if (q.name === p.name) r.error(`partners[${i}].name`, `"${p.name}" is already used by partners[${j}]; expected unique partner names`);
            if (q.privateIp === p.privateIp) r.error(`partners[${i}].privateIp`, `"${p.privateIp}" is already used by partners[${j}] (${q.name}); expected one endpoint address per partner`);
            if (q.gatewayIp === p.gatewayIp) r.warn(`partners[${i}].gatewayIp`, `"${p.gatewayIp}" is also the gateway of partners[${j}] (${q.name}); two tunnels to one gateway are unusual, check it is not a copy-paste`);
            for (const kind of ["natEip", "tunnelEip"] as const) {
                for (const other of ["natEip", "tunnelEip"] as const) {
                    if (p[kind].allocationId && p[kind].allocationId === q[other].allocationId) {
                        r.error(`partners[${i}].${kind}.allocationId`, `"${p[kind].allocationId}" is already used by partners[${j}].${other}; expected an allocation of its own`);
                    }
                    if (p[kind].publicIp && p[kind].publicIp === q[other].publicIp) {
                        r.error(`partners[${i}].${kind}.publicIp`, `"${p[kind].publicIp}" is already used by partners[${j}].${other}; expected an address of its own`);
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
        partners.forEach((q, j) => {
            if (!q || j === i) return;
            p.inbound.forEach((m, k) => {
                if (m.target === q.privateIp) r.error(`partners[${i}].inbound[${k}].target`, `"${m.target}" is the endpoint of partners[${j}] (${q.name}); expected one of our own instances, not a VPN endpoint`);
            });
        });
        if (p.natEip.allocationId && p.natEip.allocationId === p.tunnelEip.allocationId) {
            r.error(`partners[${i}].natEip.allocationId`, "is also tunnelEip.allocationId; expected different allocations for the NAT and tunnel Elastic IPs");
        }
    });
}
