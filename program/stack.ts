/**
 * The whole program: read and validate the stack config, stop with every problem listed before a
 * single resource exists, then one PartnerVpn component per partner. Returns the stack outputs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, runtimeKey } from "../core/config";
import type { EndpointImageModel } from "../core/model";
import { formatIssue, validateStackConfig } from "../core/validate";
import { createAlarmTopic } from "../components/monitoring";
import { PartnerVpn, type PartnerHandoff } from "../components/partnerVpn";
import { parseConfigValue, plainConfig } from "./stackFile";

export interface StackOutputs {
    readonly mode: string;
    readonly partners: Record<string, pulumi.Output<PartnerHandoff>>;
    readonly natIps: Record<string, pulumi.Output<string>>;
    readonly tunnelIps: Record<string, pulumi.Output<string>>;
    readonly appliedGenerations: Record<string, pulumi.Output<string>>;
    /** Per partner, its CloudWatch alarm names (README: "See every tunnel"). */
    readonly alarms: Record<string, pulumi.Output<string[]>>;
}

function readSecret(key: string): unknown {
    // Read through the runtime (not Config.get, which warns on secrets); the value is only
    // validated here and enters resources wrapped in pulumi.secret.
    const value = pulumi.runtime.getConfig(runtimeKey(key));
    return value === undefined ? undefined : parseConfigValue(value);
}

/** The pinned AMI, or one lookup per distinct image (partners on the same OS share it). */
function imageAmi(image: EndpointImageModel, lookups: Map<string, pulumi.Output<string>>): pulumi.Input<string> {
    if (image.ami) return image.ami;
    const key = `${image.amiOwner} ${image.amiNameFilter}`;
    const known = lookups.get(key);
    if (known) return known;
    const id = aws.ec2.getAmiOutput({
        mostRecent: true,
        owners: [image.amiOwner],
        filters: [
            { name: "name", values: [image.amiNameFilter] },
            { name: "architecture", values: ["x86_64"] },
            { name: "virtualization-type", values: ["hvm"] },
        ],
    }).id;
    lookups.set(key, id);
    return id;
}

/** The stack outputs `index.ts` exports. */
export function definePartnerVpnStack(): StackOutputs {
    return buildPartnerVpnStack().outputs;
}

/** The program: its stack outputs and the partner components (the offline plan reads their files). */
export function buildPartnerVpnStack(): { readonly outputs: StackOutputs; readonly components: readonly PartnerVpn[] } {
    const raw = plainConfig(pulumi.runtime.allConfig());
    const psks = readSecret(CONFIG_KEYS.psks);
    const sshPrivateKey = readSecret(CONFIG_KEYS.sshPrivateKey);
    const result = validateStackConfig(raw, { psks, sshPrivateKey });
    for (const w of result.warnings) pulumi.log.warn(formatIssue(w));
    if (!result.ok) {
        const lines = result.errors.map((e) => `  - ${formatIssue(e)}`);
        throw new pulumi.RunError(`partner-vpn: the stack config has ${result.errors.length} problem(s); nothing was created:\n${lines.join("\n")}`);
    }
    const model = result.model;
    const keys = psks as Record<string, string>;
    const region = aws.config.region;
    if (!region) throw new pulumi.RunError("partner-vpn: aws:region is not set; expected the stack's AWS region (pulumi config set aws:region eu-west-1): the alarms' recover action needs it");
    const topic = model.monitoring.alarmTopic;
    const alarmTopicArn = topic.kind === "existing" ? topic.arn : topic.kind === "create" ? createAlarmTopic("partner-vpn").arn : undefined;
    const lookups = new Map<string, pulumi.Output<string>>();
    const components = model.partners.map((partner) => new PartnerVpn(partner.name, {
        model, partner, ami: imageAmi(partner.image, lookups), region, alarmTopicArn,
        psk: pulumi.secret(keys[partner.name]),
        sshPrivateKey: pulumi.secret(sshPrivateKey as string),
    }));
    const byName = <T>(pick: (c: PartnerVpn) => T) => Object.fromEntries(components.map((c, i) => [model.partners[i].name, pick(c)]));
    const outputs = {
        mode: model.mode,
        partners: byName((c) => c.handoff),
        natIps: byName((c) => c.natIp),
        tunnelIps: byName((c) => c.tunnelIp),
        appliedGenerations: byName((c) => c.generation),
        alarms: byName((c) => c.alarmNames),
    };
    return { outputs, components };
}
