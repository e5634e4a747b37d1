/**
 * Evaluates the real program under Pulumi's mocks (the only mock we accept: it stands in for the
 * AWS API) and records every resource it registers, with inputs and options. The mocked tests,
 * the offline plan, the lab and the benchmark all use this one module.
 *
 * Values AWS assigns are handed out as the placeholders the offline plan prints, naming the
 * resource and attribute they will come from (`<known after pulumi up: bigcorp-endpoint.id>`), so
 * nothing downstream has to recognise or map back a made-up id. The one exception is a public IP:
 * the renderers need a real address, so an Elastic IP gets a stand-in from 240.0.0.0/4 (reserved:
 * no valid config holds one), numbered in registration order, and the evaluation lists each
 * stand-in with the placeholder it stands for. Both are deterministic, so two evaluations of the
 * same config agree byte for byte, which is what the change review relies on.
 */
import * as pulumi from "@pulumi/pulumi";
import { addressAt } from "../core/addresses";
import { SECRET_RUNTIME_KEYS } from "../core/config";
import type { RenderedFile } from "../core/model";
import type { PartnerVpn } from "../components/partnerVpn";
import { buildPartnerVpnStack } from "./stack";

/** How the runtime marks a secret inside deserialized inputs. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface ResourceOptionsRecord {
    readonly protect: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly ignoreChanges: readonly string[];
    /** Property paths whose change replaces the resource (e.g. `tags["partner-vpn:os"]`). */
    readonly replaceOnChanges: readonly string[];
    readonly additionalSecretOutputs: readonly string[];
    readonly dependencies: readonly string[];
}

/** What a value AWS assigns is shown as until `pulumi up`: the resource and attribute it comes from. */
export function unknownValue(resource: string, attribute: string): string {
    return `<known after pulumi up: ${resource}.${attribute}>`;
}

/** What a looked-up AMI is shown as: the lookup, since the image is chosen at the first up. */
export function lookedUpAmi(nameFilter: string, owner: string): string {
    return `<looked up at first up: newest "${nameFilter}" owned by ${owner}, then ignored>`;
}

/** An address the mocks gave an Elastic IP, and the placeholder it stands for. */
export interface AddressStandIn {
    readonly address: string;
    readonly placeholder: string;
}

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** URN of the parent, "" for the stack's own children. */
    readonly parent: string;
    /** True for existing resources read with `.get` (never created or deleted by us). */
    readonly read: boolean;
    /** Inputs as registered; secret values stay wrapped (see isSecretValue / revealSecrets). */
    readonly inputs: Record<string, unknown>;
    readonly options: ResourceOptionsRecord;
    /** Input name -> URNs of the resources its value was computed from, as registered with the engine. */
    readonly inputDependencies: Readonly<Record<string, readonly string[]>>;
}

export interface Evaluation {
    readonly resources: readonly RecordedResource[];
    /** Stack outputs, resolved; secret outputs are revealed here (tests check they hold no secret). */
    readonly outputs: Record<string, unknown>;
    /** Data source calls (the AMI lookups) with their arguments, in call order. */
    readonly invokes: readonly { readonly token: string; readonly args: Record<string, unknown> }[];
    /** Per partner, every file its endpoint receives, as the program rendered them (the PSK file revealed). */
    readonly endpointFiles: Readonly<Record<string, readonly RenderedFile[]>>;
    /** The addresses handed out for Elastic IPs, in registration order. */
    readonly addressStandIns: readonly AddressStandIn[];
}

export interface EvaluateOptions {
    /** Stack name; default `dev`. */
    readonly stack?: string;
    /** Config keys whose values are secret (as `pulumi config set --secret` marks them). Default: the stack's secret keys. */
    readonly secretKeys?: readonly string[];
    /** The program to run. Default: ours (program/stack.ts); the tests also run examples/. */
    readonly program?: () => ProgramResult;
    /** Project name in URNs. Default `partner-vpn`. */
    readonly project?: string;
    /** What a remote command printed on stdout, by resource name (the command provider's part
     *  under mocks: the program reads the apply's status lines from it). Default: nothing. */
    readonly commandStdout?: (name: string) => string | undefined;
}

/** What a program under evaluation returns: its stack outputs, and the PartnerVpn components it made. */
export interface ProgramResult {
    readonly outputs: object;
    readonly components: readonly PartnerVpn[];
}

export function isSecretValue(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** A copy of a value with every secret wrapper replaced by its content. */
export function revealSecrets(value: unknown): unknown {
    if (isSecretValue(value)) return revealSecrets(value.value);
    if (Array.isArray(value)) return value.map(revealSecrets);
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSecrets(v)]));
    }
    return value;
}

/** A copy of a value with every secret replaced by a marker: what a reader of state would see. */
export function redactSecrets(value: unknown, marker = "[secret]"): unknown {
    if (isSecretValue(value)) return marker;
    if (Array.isArray(value)) return value.map((v) => redactSecrets(v, marker));
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, marker)]));
    }
    return value;
}

/** Stand-in public IPs: the n-th Elastic IP registered gets the n-th address of this block. */
const STAND_IN_BLOCK = "240.0.0.0/4";

function mockState(
    type: string, name: string, inputs: Record<string, unknown>, id: string | undefined, standIn: (placeholder: string) => string, stdout: (name: string) => string | undefined,
): { id: string; state: Record<string, unknown> } {
    const unknown = (attribute: string) => unknownValue(name, attribute);
    switch (type) {
        case "aws:ec2/eip:Eip": {
            const allocationId = id ?? unknown("allocationId");
            return { id: allocationId, state: { ...inputs, allocationId, publicIp: standIn(unknown("publicIp")) } };
        }
        case "aws:ec2/instance:Instance":
            return { id: unknown("id"), state: { ...inputs, primaryNetworkInterfaceId: unknown("primaryNetworkInterfaceId"), arn: unknown("arn") } };
        case "aws:iam/role:Role":
        case "aws:iam/instanceProfile:InstanceProfile":
            // AWS names them (a prefix from the resource name): the id is the name.
            return { id: unknown("name"), state: { ...inputs, name: unknown("name"), arn: unknown("arn") } };
        case "aws:sns/topic:Topic":
            return { id: unknown("arn"), state: { ...inputs, arn: unknown("arn") } };
        case "command:remote:Command":
            return { id: unknown("id"), state: { ...inputs, stdout: stdout(name) ?? "", stderr: "" } };
        default:
            return { id: id ?? unknown("id"), state: inputs };
    }
}

type Req = {
    getType(): string; getName(): string; getParent(): string; getProtect?(): boolean | undefined;
    getDeletebeforereplace?(): boolean; getIgnorechangesList?(): string[]; getAdditionalsecretoutputsList?(): string[];
    getDependenciesList?(): string[]; getReplaceonchangesList?(): string[];
    getPropertydependenciesMap?(): { forEach(fn: (deps: { getUrnsList(): string[] }, key: string) => void): void };
};

/** The registered per-input dependencies (inputs that depend on nothing left out). */
function inputDependencies(req: Req): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    req.getPropertydependenciesMap?.().forEach((deps, key) => {
        const urns = deps.getUrnsList();
        if (urns.length > 0) out[key] = [...urns];
    });
    return out;
}

/** A getAmi call answered with what the plan shows for it: the lookup itself. */
function mockAmiLookup(inputs: Record<string, unknown>): string {
    const filters = (inputs.filters as { name: string; values: string[] }[] | undefined) ?? [];
    const nameFilter = filters.find((f) => f.name === "name")?.values.join(",") ?? "*";
    const owners = (inputs.owners as string[] | undefined) ?? [];
    return lookedUpAmi(nameFilter, owners.join(","));
}

/** Resolves an Output (or plain value, or nested structure of them) to its value. */
export function resolve<T>(value: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
    return new Promise((done) => pulumi.output(value).apply((v) => { done(v); return v; }));
}

let running = false;

/**
 * Runs the program once with the given runtime config (full keys, string values as in a stack
 * file) and returns what it registered. Evaluations are serialised: the runtime is global.
 */
export async function evaluateProgram(config: Readonly<Record<string, string>>, options: EvaluateOptions = {}): Promise<Evaluation> {
    if (running) throw new Error("evaluateProgram: an evaluation is already running in this process");
    running = true;
    try {
        const resources: RecordedResource[] = [];
        const invokes: { token: string; args: Record<string, unknown> }[] = [];
        const pending = new Map<string, Partial<RecordedResource>>();
        const addressStandIns: AddressStandIn[] = [];
        const standIn = (placeholder: string) => {
            const address = addressAt(STAND_IN_BLOCK, addressStandIns.length + 1) as string;
            addressStandIns.push({ address, placeholder });
            return address;
        };
        await pulumi.runtime.setMocks({
            newResource: (args) => {
                const key = `${args.type}::${args.name}`;
                const recorded = pending.get(key) ?? {};
                // The monitor passes "" (not undefined) when no existing id is being read.
                const existingId = args.id ? args.id : undefined;
                const { id, state } = mockState(args.type, args.name, args.inputs, existingId, standIn, options.commandStdout ?? (() => undefined));
                resources.push({
                    type: args.type, name: args.name, urn: recorded.urn ?? "", parent: recorded.parent ?? "",
                    read: existingId !== undefined, inputs: args.inputs,
                    options: recorded.options ?? { protect: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], dependencies: [] },
                    inputDependencies: recorded.inputDependencies ?? {},
                });
                return { id, state };
            },
            call: (args) => {
                invokes.push({ token: args.token, args: args.inputs as Record<string, unknown> });
                if (args.token === "aws:ec2/getAmi:getAmi") {
                    const ami = mockAmiLookup(args.inputs);
                    return { id: ami, imageId: ami, name: ami };
                }
                throw new Error(`unexpected invoke under mocks: ${args.token}`);
            },
        }, options.project ?? "partner-vpn", options.stack ?? "dev", false);
        // Record resource options, which the mocks API does not pass to newResource.
        const monitor = pulumi.runtime.getMonitor() as unknown as Record<string, (req: Req, cb: unknown) => Promise<void>> & {
            newUrn(parent: string, type: string, name: string): string;
        };
        for (const method of ["registerResource", "readResource"]) {
            const original = monitor[method].bind(monitor);
            monitor[method] = (req: Req, cb: unknown) => {
                pending.set(`${req.getType()}::${req.getName()}`, {
                    urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
                    parent: req.getParent(),
                    options: {
                        protect: req.getProtect?.() ?? false,
                        deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
                        ignoreChanges: req.getIgnorechangesList?.() ?? [],
                        replaceOnChanges: req.getReplaceonchangesList?.() ?? [],
                        additionalSecretOutputs: req.getAdditionalsecretoutputsList?.() ?? [],
                        dependencies: req.getDependenciesList?.() ?? [],
                    },
                    inputDependencies: inputDependencies(req),
                });
                return original(req, cb);
            };
        }
        pulumi.runtime.setAllConfig({ ...config }, [...(options.secretKeys ?? SECRET_RUNTIME_KEYS)]);
        const { outputs, components } = (options.program ?? buildPartnerVpnStack)();
        const resolved = (await resolve(outputs as unknown as pulumi.Input<Record<string, unknown>>)) as Record<string, unknown>;
        const files = await Promise.all(components.map((c) => resolve(c.endpointFiles)));
        const endpointFiles = Object.fromEntries(components.map((c, i) => [c.partnerName, files[i] as RenderedFile[]]));
        // Registrations whose inputs resolved last may still be in flight; the runtime exports
        // this wait (untyped) for exactly that.
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        return { resources, outputs: resolved, invokes, endpointFiles, addressStandIns };
    } finally {
        running = false;
    }
}
