/**
 * Our own program, one user of the PartnerVpn component: read the stack config, validate all of
 * it (secrets and checks across partners included) and stop with every problem listed before a
 * single resource exists, then one PartnerVpn per partner from its stack config entry. Returns the
 * stack outputs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { EndpointConfig, MonitoringConfig, NetworkConfig, PartnerConfig } from "../core/config";
import { CONFIG_KEYS, runtimeKey } from "../core/config";
import type { ChildStatus } from "../core/childStatus";
import type { EndpointImageModel } from "../core/model";
import { formatIssue, validateStackConfig } from "../core/validate";
import { createAlarmTopic } from "../components/monitoring";
import { endpointAmi, PartnerVpn, type PartnerHandoff } from "../components/partnerVpn";
import { parseConfigValue, plainConfig } from "./stackFile";

export interface StackOutputs {
    readonly mode: string;
    readonly partners: Record<string, pulumi.Output<PartnerHandoff>>;
    readonly natIps: Record<string, pulumi.Output<string>>;
    readonly tunnelIps: Record<string, pulumi.Output<string>>;
    readonly appliedGenerations: Record<string, pulumi.Output<string>>;
    /** Per partner, its CloudWatch alarm names (README: "See every tunnel"). */
    readonly alarms: Record<string, pulumi.Output<string[]>>;
    /** Per partner, per child: what the last apply reported (README: "After pulumi up"). */
    readonly childStatus: Record<string, pulumi.Output<Record<string, ChildStatus>>>;
}

function readSecret(key: string): unknown {
    // Read through the runtime (not Config.get, which warns on secrets); the value is only
    // validated here and enters resources wrapped in pulumi.secret.
    const value = pulumi.runtime.getConfig(runtimeKey(key));
    return value === undefined ? undefined : parseConfigValue(value);
}

/** The pinned AMI, or one lookup per distinct image (partners on the same OS share it). */
function imageAmi(image: EndpointImageModel, lookups: Map<string, pulumi.Input<string>>): pulumi.Input<string> {
    if (image.ami) return image.ami;
    const key = `${image.amiOwner} ${image.amiNameFilter}`;
    const known = lookups.get(key) ?? endpointAmi(image);
    lookups.set(key, known);
    return known;
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
    if (!result.ok) {
        const lines = result.errors.map((e) => `  - ${formatIssue(e)}`);
        throw new pulumi.RunError(`partner-vpn: the stack config has ${result.errors.length} problem(s); nothing was created:\n${lines.join("\n")}`);
    }
    // Warnings are logged by each component, on the partner they concern.
    const model = result.model;
    const keys = psks as Record<string, string>;
    const region = aws.config.region;
    if (!region) throw new pulumi.RunError("partner-vpn: aws:region is not set; expected the stack's AWS region (pulumi config set aws:region eu-west-1): the alarms' recover action needs it");
    const topic = model.monitoring.alarmTopic;
    const alarmTopicArn = topic.kind === "existing" ? topic.arn : topic.kind === "create" ? createAlarmTopic("partner-vpn").arn : undefined;
    const lookups = new Map<string, pulumi.Input<string>>();
    const config = raw as {
        mode: "vpc-routing" | "classic-proxy"; network: NetworkConfig; endpoint?: EndpointConfig; partners: PartnerConfig[];
        monitoring?: MonitoringConfig; allowDocumentationAddresses?: boolean;
    };
    // The topic is the stack's (created once, or the configured ARN), passed to every component.
    const monitoring = { ...config.monitoring, alarmTopicArn: undefined, createAlarmTopic: undefined };
    const components = config.partners.map((partner, i) => new PartnerVpn(partner.name, {
        mode: config.mode,
        network: config.network,
        endpoint: config.endpoint,
        partner,
        monitoring,
        region,
        alarmTopicArn,
        allowDocumentationAddresses: config.allowDocumentationAddresses,
        ami: imageAmi(model.partners[i].image, lookups),
        psk: pulumi.secret(keys[partner.name]),
        sshPrivateKey: pulumi.secret(sshPrivateKey as string),
    }));
    const byName = <T>(pick: (c: PartnerVpn) => T) => Object.fromEntries(components.map((c) => [c.partnerName, pick(c)]));
    const outputs = {
        mode: model.mode,
        partners: byName((c) => c.handoff),
        natIps: byName((c) => c.natIp),
        tunnelIps: byName((c) => c.tunnelIp),
        appliedGenerations: byName((c) => c.generation),
        alarms: byName((c) => c.alarmNames),
        childStatus: byName((c) => c.childStatus),
    };
    return { outputs, components };
}
