/**
 * The offline plan as data: what `--json` prints, what the text view and the change review read.
 * Everything in it is safe to show: secrets are redacted and mocked cloud values are placeholders.
 */
import type { ResourceOptionsRecord } from "../program/mocks";

export interface PlannedResource {
    readonly type: string;
    readonly name: string;
    /** The URN Pulumi gives it (parent type chain included), as `pulumi state` commands take it. */
    readonly urn: string;
    /** The parent's URN, "" for the stack's own children. */
    readonly parent: string;
    /** The partner whose component it belongs to; undefined for stack-level resources. */
    readonly partner?: string;
    /** Read with `.get` (an adopted allocation): never created or deleted by Pulumi. */
    readonly read: boolean;
    /** Inputs as registered; secrets as "[secret]", mocked values as `<known after pulumi up: ...>`. */
    readonly inputs: Record<string, unknown>;
    readonly options: ResourceOptionsRecord;
    /** Input name -> URNs of the resources its value comes from, as registered with the engine. */
    readonly inputDependencies: Readonly<Record<string, readonly string[]>>;
}

export interface PlannedFile {
    /** Absolute path on the endpoint. */
    readonly path: string;
    readonly mode: string;
    /** The rendered content; the PSK redacted, unknown addresses as placeholders. */
    readonly content: string;
    /** True for the file that carries the PSK (its key is redacted here). */
    readonly secret: boolean;
}

export interface PlannedScript {
    /** File name in the plan's output folder. */
    readonly name: string;
    /** The remote command that runs it (the script arrives on stdin). */
    readonly command: string;
    readonly content: string;
}

export interface PlannedAddress {
    /** The address, when given in config (an adopted EIP with `publicIp`). */
    readonly ip?: string;
    /** What to show: the address, or its placeholder. */
    readonly shown: string;
    /** The Elastic IP resource it comes from. */
    readonly resource: string;
    /** `eipalloc-...` when an existing allocation is adopted. */
    readonly adoptedAllocationId?: string;
    /** The stack output that holds it after `pulumi up`, e.g. `natIps.bigcorp`. */
    readonly stackOutput: string;
}

export interface PartnerPlan {
    readonly name: string;
    /** The endpoint's OS (`partners[].os`, else `endpoint.os`). */
    readonly os: string;
    /** Its AMI: pinned id, or how it is looked up for that OS. */
    readonly ami: { readonly pinned: boolean; readonly shown: string };
    readonly privateIp: string;
    /** The standby's private IP when the partner has an active/standby pair. */
    readonly standbyIp?: string;
    readonly gatewayIp: string;
    readonly addresses: { readonly nat: PlannedAddress; readonly tunnel: PlannedAddress };
    readonly resources: readonly PlannedResource[];
    /** Every file the endpoint receives from the apply command. */
    readonly files: readonly PlannedFile[];
    /** The apply script (rendered from the redacted files) and the bootstrap script. */
    readonly scripts: readonly PlannedScript[];
}

export interface PlanSummary {
    readonly partners: number;
    /** Every resource the program registers, components included. */
    readonly resources: number;
    readonly resourcesByType: Readonly<Record<string, number>>;
    /** EC2 instances: one per partner, two per active/standby pair. */
    readonly endpoints: number;
    /** Elastic IPs (created or adopted), plus one auto-assigned address per active/standby pair:
     *  AWS bills each public IPv4 address by the hour. */
    readonly publicIpv4Addresses: number;
    /** Partners with an active/standby pair (two instances each). */
    readonly pairs: number;
}

export interface StackPlan {
    readonly stack: string;
    /** The stack file, as named to the user (with `@ ref` for a git version). */
    readonly source: string;
    readonly mode: string;
    /** The stack's AMI (`endpoint.os`'s): pinned id, or how it is looked up; partners may differ. */
    readonly ami: { readonly pinned: boolean; readonly shown: string };
    /** About the stack file: encrypted values the plan cannot read. */
    readonly notes: readonly string[];
    /** Validator warnings, and secrets found in plain text in the stack file. */
    readonly warnings: readonly string[];
    readonly partners: readonly PartnerPlan[];
    /** Resources outside any partner component (none today). */
    readonly stackResources: readonly PlannedResource[];
    readonly summary: PlanSummary;
}
