/**
 * Stack file -> offline plan. Validates the plain config first (so an invalid one is reported
 * with every field path and nothing else happens), then evaluates the real program under the
 * mocks with placeholder secrets, and turns what it registered (and the files it rendered) into a
 * StackPlan that is safe to print: secrets redacted, stand-in addresses and hashes of the
 * placeholder PSK replaced by placeholders. The mocks already hand out placeholders for ids.
 */
import type { EndpointImageModel, StackModel } from "../core/model";
import { contentHashes } from "../core/render";
import { formatIssue, validateStackConfig, type ValidationIssue } from "../core/validate";
import { argsPath } from "../components/partnerVpnArgs";
import { evaluateProgram, isSecretValue, lookedUpAmi, revealSecrets, unknownValue, type Evaluation, type RecordedResource } from "../program/mocks";
import { plainConfig } from "../program/stackFile";
import { plannedEndpoint } from "./endpointFiles";
import { containsSecret, type PlaceholderSecrets } from "./placeholderSecrets";
import { Placeholders } from "./placeholders";
import type { PartnerPlan, PlannedAddress, PlannedResource, PlanSummary, StackPlan } from "./types";

export const COMPONENT_TYPE = "partner-vpn:index:PartnerVpn";
export const EIP_TYPE = "aws:ec2/eip:Eip";
export const INSTANCE_TYPE = "aws:ec2/instance:Instance";

export interface PlanRequest {
    readonly stack: string;
    /** How to name the stack file in the output. */
    readonly source: string;
    /** Runtime config from the stack file, secret keys removed (see stackSource.loadConfig). */
    readonly values: Readonly<Record<string, string>>;
    /** What the reader should know about the stack file (encrypted values), and what to fix. */
    readonly notes: readonly string[];
    readonly warnings: readonly string[];
    readonly secrets: PlaceholderSecrets;
}

export type PlanOutcome =
    | { readonly ok: true; readonly plan: StackPlan; readonly model: StackModel }
    | { readonly ok: false; readonly errors: readonly ValidationIssue[]; readonly warnings: readonly ValidationIssue[] };

/** Validates the plain keys only: the secrets are the plan's own placeholders, checked by the program. */
export function validatePlainConfig(values: Readonly<Record<string, string>>) {
    return validateStackConfig(plainConfig(values));
}

export async function planStack(req: PlanRequest): Promise<PlanOutcome> {
    const validation = validatePlainConfig(req.values);
    if (!validation.ok) return { ok: false, errors: validation.errors, warnings: validation.warnings };
    const model = validation.model;
    const warnings = [...validation.warnings.map(formatIssue), ...req.warnings];
    const names = model.partners.map((p) => p.name);
    const evaluation = await quietly(warnings, names, () => evaluateProgram({ ...req.values, ...req.secrets.configValues(names) }, { stack: req.stack }));
    return { ok: true, model, plan: buildPlan(req, model, evaluation, warnings) };
}

/**
 * The runtime prints the program's `pulumi.log.warn` lines itself when no engine is attached; the
 * plan reports the same validator warnings in its own output, so drop exactly those duplicates.
 * Each component logs them as `<partner>: <path in its args>: ...` (`partner.ike`, not `partners[0].ike`).
 */
async function quietly<T>(known: readonly string[], partners: readonly string[], run: () => Promise<T>): Promise<T> {
    const lines = new Set(known.flatMap((w) => [w, ...partners.map((p) => `${p}: ${argsPath(w.replace(/^partners\[\d+\]/, "partners[0]"))}`)]));
    const original = console.warn;
    console.warn = (...args: unknown[]) => {
        const text = args.map(String).join(" ");
        if (!lines.has(text.replace(/^warning: \[runtime\] /, ""))) original(...args);
    };
    try {
        return await run();
    } finally {
        console.warn = original;
    }
}

function buildPlan(req: PlanRequest, model: StackModel, evaluation: Evaluation, warnings: string[]): StackPlan {
    const forms = req.secrets.forms();
    const imageOf = (image: EndpointImageModel) => image.ami
        ? { pinned: true, shown: image.ami }
        : { pinned: false, shown: lookedUpAmi(image.amiNameFilter, image.amiOwner) };
    const ami = imageOf(model.endpoint);
    const stackWide = new Placeholders().addStandIns(evaluation.addressStandIns);

    const located = locate(evaluation.resources, req.stack);
    const partners = model.partners.map((partner): PartnerPlan => {
        const own = located.filter((l) => l.partner === partner.name);
        const addresses = {
            nat: plannedAddress(partner.name, "nat", partner.natEip, own),
            tunnel: plannedAddress(partner.name, "tunnel", partner.tunnelEip, own),
        };
        // The files the program rendered for its apply command (once per evaluation). The hashes
        // derived from the placeholder PSK change with every run's random key, so they are labelled.
        const rendered = evaluation.endpointFiles[partner.name];
        if (!rendered) throw new Error(`plan: the program rendered no endpoint files for ${partner.name}`);
        const placeholders = stackWide.extend();
        // Each OS's lookup is mocked as the lookup itself: the partner's AMI shows as its image's.
        const partnerAmi = imageOf(partner.image);
        placeholders.addExact(contentHashes(rendered).secrets, "[secret: hash of the PSK file]");
        placeholders.addExact(outputOf(evaluation, "appliedGenerations", partner.name), "<generation: hash of every file, PSK included>");

        const endpoint = plannedEndpoint(model, partner, rendered, req.secrets.pskFor(partner.name), placeholders);
        return {
            name: partner.name,
            os: partner.os,
            ami: partnerAmi,
            privateIp: partner.privateIp,
            ...(partner.ha ? { standbyIp: partner.ha.privateIp } : {}),
            gatewayIp: partner.gatewayIp,
            addresses,
            resources: own.map((l) => planned(l, placeholders, forms)),
            files: endpoint.files,
            scripts: endpoint.scripts,
        };
    });
    const stackResources = located.filter((l) => l.partner === undefined).map((l) => planned(l, stackWide, forms));
    return { stack: req.stack, source: req.source, mode: model.mode, ami, notes: [...req.notes], warnings, partners, stackResources, summary: summarise(evaluation.resources, model) };
}

function outputOf(evaluation: Evaluation, output: string, partner: string): string {
    const map = evaluation.outputs[output] as Record<string, unknown> | undefined;
    const value = map?.[partner];
    if (typeof value !== "string") throw new Error(`plan: the program's ${output} output has no address for ${partner}`);
    return value;
}

function plannedAddress(partner: string, role: "nat" | "tunnel", config: { allocationId?: string; publicIp?: string }, own: readonly Located[]): PlannedAddress {
    const eip = own.find((l) => l.resource.type === EIP_TYPE && l.resource.name === `${partner}-${role}-eip`);
    const resource = eip?.resource.name ?? `${partner}-${role}-eip`;
    return {
        ip: config.publicIp,
        shown: config.publicIp ?? unknownValue(resource, "publicIp"),
        resource,
        adoptedAllocationId: config.allocationId,
        stackOutput: `${role === "nat" ? "natIps" : "tunnelIps"}.${partner}`,
    };
}

interface Located {
    readonly resource: RecordedResource;
    readonly urn: string;
    readonly partner?: string;
}

/** Proper URNs (the parent's type chain included) and the partner each resource belongs to. */
function locate(resources: readonly RecordedResource[], stack: string): Located[] {
    const byUrn = new Map<string, Located>();
    const out: Located[] = [];
    for (const r of resources) {
        const project = r.urn.split("::")[1] ?? "partner-vpn";
        const parent = r.parent ? byUrn.get(r.parent) : undefined;
        // The mocks record the runtime's URNs; rebuild one only if a recording lacks it.
        const chain = parent ? `${parent.urn.split("::")[2]}$${r.type}` : r.type;
        const urn = r.urn || `urn:pulumi:${stack}::${project}::${chain}::${r.name}`;
        const partner = r.type === COMPONENT_TYPE ? r.name : parent?.partner;
        const located = { resource: r, urn, partner };
        byUrn.set(urn, located);
        if (r.urn) byUrn.set(r.urn, located);
        out.push(located);
    }
    return sortByRole(out);
}

/** Display order: what exists first comes first, as in the component. Stable within a type. */
const TYPE_ORDER = [COMPONENT_TYPE, EIP_TYPE, "aws:ec2/securityGroup:SecurityGroup", INSTANCE_TYPE, "aws:ec2/eipAssociation:EipAssociation", "aws:ec2/route:Route", "command:remote:Command"];

function sortByRole(list: Located[]): Located[] {
    const rank = (l: Located) => {
        const i = TYPE_ORDER.indexOf(l.resource.type);
        return i < 0 ? TYPE_ORDER.length : i;
    };
    // Commands: bootstrap before apply, the order they run in.
    const commandRank = (l: Located) => (l.resource.name.endsWith("-bootstrap") ? 0 : 1);
    return list.map((l, i) => ({ l, i })).sort((a, b) => rank(a.l) - rank(b.l) || commandRank(a.l) - commandRank(b.l) || a.i - b.i).map((x) => x.l);
}

const SECRET_FIELD = /^(privateKey|password|secret|psk)$/i;

/** Inputs made safe to show: secret strings become "[secret]"; a secret object keeps its shape. */
export function safeValue(value: unknown, placeholders: Placeholders, forms: readonly string[], insideSecret = false, key = ""): unknown {
    if (isSecretValue(value)) {
        const inner = revealSecrets(value.value);
        return inner !== null && typeof inner === "object" ? safeValue(inner, placeholders, forms, true) : "[secret]";
    }
    if (Array.isArray(value)) return value.map((v) => safeValue(v, placeholders, forms, insideSecret));
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, safeValue(v, placeholders, forms, insideSecret, k)]));
    }
    if (typeof value === "string") {
        if ((insideSecret && SECRET_FIELD.test(key)) || containsSecret(value, forms)) return "[secret]";
        return placeholders.text(value);
    }
    return value;
}

function planned(l: Located, placeholders: Placeholders, forms: readonly string[]): PlannedResource {
    const r = l.resource;
    return {
        type: r.type, name: r.name, urn: l.urn, parent: r.parent, partner: l.partner, read: r.read,
        inputs: safeValue(r.inputs, placeholders, forms) as Record<string, unknown>,
        options: r.options,
        inputDependencies: r.inputDependencies,
    };
}

function summarise(resources: readonly RecordedResource[], model: StackModel): PlanSummary {
    const resourcesByType: Record<string, number> = {};
    for (const r of resources) resourcesByType[r.type] = (resourcesByType[r.type] ?? 0) + 1;
    return {
        partners: model.partners.length,
        resources: resources.length,
        resourcesByType,
        endpoints: resourcesByType[INSTANCE_TYPE] ?? 0,
        // A pair's member that does not hold the tunnel EIP has an auto-assigned public address
        // (components/instance.ts); AWS bills it like an EIP.
        publicIpv4Addresses: (resourcesByType[EIP_TYPE] ?? 0) + model.partners.filter((p) => p.ha).length,
        pairs: model.partners.filter((p) => p.ha).length,
    };
}
