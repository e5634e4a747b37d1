/**
 * Evaluates the real program under Pulumi's mocks (the only mock we accept: it stands in for the
 * AWS API) and records every resource it registers, with inputs and options. The mocked tests,
 * the offline plan, the lab and the benchmark all use this one module.
 *
 * Mocked cloud values are deterministic (derived from resource names) so two evaluations of the
 * same config agree byte for byte, which is what the change review relies on.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { SECRET_RUNTIME_KEYS } from "../core/config";
import { definePartnerVpnStack } from "./stack";

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
}

export interface Evaluation {
    readonly resources: readonly RecordedResource[];
    /** Stack outputs, resolved; secret outputs are revealed here (tests check they hold no secret). */
    readonly outputs: Record<string, unknown>;
    /** Data source calls (the AMI lookups) with their arguments, in call order. */
    readonly invokes: readonly { readonly token: string; readonly args: Record<string, unknown> }[];
}

export interface EvaluateOptions {
    /** Stack name; default `dev`. */
    readonly stack?: string;
    /** Config keys whose values are secret (as `pulumi config set --secret` marks them). Default: the stack's secret keys. */
    readonly secretKeys?: readonly string[];
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

function digest(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

/** A documentation-range address standing in for an AWS-assigned public IP. */
export function mockPublicIp(name: string): string {
    const n = parseInt(digest(name).slice(0, 8), 16) % (3 * 254);
    const nets = ["192.0.2", "198.51.100", "203.0.113"];
    return `${nets[Math.floor(n / 254)]}.${(n % 254) + 1}`;
}

export const MOCK_AMI = "ami-0a1b2c3d4e5f60718";

function mockState(type: string, name: string, inputs: Record<string, unknown>, id: string | undefined): { id: string; state: Record<string, unknown> } {
    const h = digest(`${type}/${name}`).slice(0, 17);
    switch (type) {
        case "aws:ec2/eip:Eip": {
            const allocationId = id ?? `eipalloc-${h}`;
            return { id: allocationId, state: { ...inputs, allocationId, publicIp: mockPublicIp(id ?? name) } };
        }
        case "aws:ec2/instance:Instance":
            return { id: `i-${h}`, state: { ...inputs, primaryNetworkInterfaceId: `eni-${h}`, arn: `arn:aws:ec2:::instance/i-${h}` } };
        case "aws:ec2/securityGroup:SecurityGroup":
            return { id: `sg-${h}`, state: inputs };
        case "aws:iam/role:Role":
        case "aws:iam/instanceProfile:InstanceProfile": {
            const physical = `${name}-${h.slice(0, 7)}`;
            const kind = type === "aws:iam/role:Role" ? "role" : "instance-profile";
            return { id: physical, state: { ...inputs, name: physical, arn: `arn:aws:iam::123456789012:${kind}/${physical}` } };
        }
        case "aws:sns/topic:Topic":
            return { id: `arn:aws:sns:eu-west-1:123456789012:${name}-${h.slice(0, 7)}`, state: { ...inputs, arn: `arn:aws:sns:eu-west-1:123456789012:${name}-${h.slice(0, 7)}` } };
        case "command:remote:Command":
            return { id: `cmd-${h}`, state: { ...inputs, stdout: "", stderr: "" } };
        default:
            return { id: id ?? `${name}-${h.slice(0, 8)}`, state: inputs };
    }
}

type Req = {
    getType(): string; getName(): string; getParent(): string; getProtect?(): boolean | undefined;
    getDeletebeforereplace?(): boolean; getIgnorechangesList?(): string[]; getAdditionalsecretoutputsList?(): string[];
    getDependenciesList?(): string[]; getReplaceonchangesList?(): string[];
};

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
        await pulumi.runtime.setMocks({
            newResource: (args) => {
                const key = `${args.type}::${args.name}`;
                const recorded = pending.get(key) ?? {};
                // The monitor passes "" (not undefined) when no existing id is being read.
                const existingId = args.id ? args.id : undefined;
                const { id, state } = mockState(args.type, args.name, args.inputs, existingId);
                resources.push({
                    type: args.type, name: args.name, urn: recorded.urn ?? "", parent: recorded.parent ?? "",
                    read: existingId !== undefined, inputs: args.inputs,
                    options: recorded.options ?? { protect: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], dependencies: [] },
                });
                return { id, state };
            },
            call: (args) => {
                invokes.push({ token: args.token, args: args.inputs as Record<string, unknown> });
                if (args.token === "aws:ec2/getAmi:getAmi") return { id: MOCK_AMI, imageId: MOCK_AMI, name: "mocked-ubuntu-image" };
                throw new Error(`unexpected invoke under mocks: ${args.token}`);
            },
        }, "partner-vpn", options.stack ?? "dev", false);
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
                });
                return original(req, cb);
            };
        }
        pulumi.runtime.setAllConfig({ ...config }, [...(options.secretKeys ?? SECRET_RUNTIME_KEYS)]);
        const outputs = definePartnerVpnStack();
        const resolved = (await resolve(outputs as unknown as pulumi.Input<Record<string, unknown>>)) as Record<string, unknown>;
        // Registrations whose inputs resolved last may still be in flight; the runtime exports
        // this wait (untyped) for exactly that.
        await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        return { resources, outputs: resolved, invokes };
    } finally {
        running = false;
    }
}
