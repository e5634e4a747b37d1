/**
 * The plan as text: per partner, the resource tree with the inputs a reviewer checks (addresses,
 * ports, rules, routes, instance settings, what each command pushes and what re-runs it), then
 * the files written and a summary line. Unknown resource types fall back to their raw inputs, so
 * a resource added to the component still shows up.
 */
import type { PartnerPlan, PlannedResource, PlanSummary, StackPlan } from "./types";

type Inputs = Record<string, unknown>;

const SHORT_TYPE = (type: string) => type.split(":").pop() ?? type;

function str(v: unknown): string {
    if (v === undefined || v === null) return "-";
    return typeof v === "string" ? v : JSON.stringify(v);
}

function list(v: unknown): string {
    return Array.isArray(v) ? v.map(str).join(", ") : str(v);
}

function optionsText(r: PlannedResource): string {
    const parts: string[] = [];
    if (r.read) parts.push("adopted (read only: never created or deleted)");
    if (r.options.protect) parts.push("protect");
    if (r.options.deleteBeforeReplace) parts.push("deleteBeforeReplace");
    if (r.options.ignoreChanges.length > 0) parts.push(`ignoreChanges [${r.options.ignoreChanges.join(", ")}]`);
    if ((r.options.replaceOnChanges ?? []).length > 0) parts.push(`replaceOnChanges [${r.options.replaceOnChanges.join(", ")}]`);
    return parts.length > 0 ? `  [${parts.join(", ")}]` : "";
}

function ruleLines(direction: "ingress" | "egress", rules: unknown): string[] {
    if (!Array.isArray(rules)) return [];
    return rules.map((raw) => {
        const r = raw as Inputs;
        const proto = r.protocol === "-1" ? "all" : r.protocol === "112" ? "vrrp" : str(r.protocol);
        const ports = r.protocol === "-1" || r.protocol === "112" ? "" : r.fromPort === r.toPort ? ` ${str(r.fromPort)}` : ` ${str(r.fromPort)}-${str(r.toPort)}`;
        const peers = [...(Array.isArray(r.cidrBlocks) ? r.cidrBlocks : []), ...(Array.isArray(r.securityGroups) ? r.securityGroups : [])].map(str).join(", ");
        const what = `${direction.padEnd(7)} ${(proto + ports).padEnd(9)} ${direction === "ingress" ? "from" : "to"} ${peers}`;
        return `${what.padEnd(48)} "${str(r.description)}"`;
    });
}

function connectionText(c: unknown): string {
    if (c === "[secret]" || c === null || typeof c !== "object") return `connection ${str(c)}`;
    const conn = c as Inputs;
    const proxy = conn.proxy as Inputs | undefined;
    const via = proxy ? ` via ${str(proxy.user)}@${str(proxy.host)}:${str(proxy.port ?? 22)}` : "";
    return `ssh ${str(conn.user)}@${str(conn.host)}:${str(conn.port ?? 22)}${via}, private key ${str(conn.privateKey)}`;
}

function lineCount(text: unknown): number {
    return typeof text === "string" ? text.split("\n").length - (text.endsWith("\n") ? 1 : 0) : 0;
}

/** The inputs that matter, per resource type, as lines under the resource. */
function details(r: PlannedResource, partner: PartnerPlan | undefined, plan: StackPlan, outDir: string | undefined): string[] {
    const i = r.inputs;
    switch (r.type) {
        case "partner-vpn:index:PartnerVpn":
            if (!partner) return [];
            if (partner.standbyIp) {
                return [`active/standby pair: primary ${partner.privateIp}, standby ${partner.standbyIp} (keepalived, unicast VRRP); ${partner.name}'s VPN gateway ${partner.gatewayIp} sees one peer address, the tunnel EIP`];
            }
            return [`endpoint ${partner.privateIp}; ${partner.name}'s VPN gateway ${partner.gatewayIp}`];
        case "aws:ec2/eip:Eip": {
            const addr = partner && [partner.addresses.nat, partner.addresses.tunnel].find((a) => a.resource === r.name);
            const role = addr === partner?.addresses.nat
                ? "NAT address: never attached; our traffic is source-NATed to it (the encryption domain the partner sees)"
                : "tunnel address: associated with the endpoint; our IKE peer address and identity";
            const lines = [role];
            if (addr?.adoptedAllocationId) lines.push(`existing allocation ${addr.adoptedAllocationId}${addr.ip ? "" : " (set publicIp in config to see its address here)"}`);
            else lines.push(`domain ${str(i.domain)}; a new allocation`);
            if (addr) lines.push(`public IP ${addr.shown}; stack output ${addr.stackOutput}`);
            return lines;
        }
        case "aws:ec2/securityGroup:SecurityGroup":
            return [`"${str(i.description)}" in ${str(i.vpcId)}`, ...ruleLines("ingress", i.ingress), ...ruleLines("egress", i.egress)];
        case "aws:ec2/instance:Instance": {
            const meta = i.metadataOptions as Inputs | undefined;
            const root = i.rootBlockDevice as Inputs | undefined;
            const image = partner?.ami ?? plan.ami;
            const os = partner ? `${partner.os}: ` : "";
            const ami = image.pinned ? `${os}AMI ${image.shown} (pinned; changing it replaces the endpoint)` : `${os}AMI ${str(i.ami)}`;
            return [
                `${str(i.instanceType)} in ${str(i.subnetId)}, private IP ${str(i.privateIp)}, key pair ${str(i.keyName)}`,
                ami,
                `security groups ${list(i.vpcSecurityGroupIds)}; source/dest check ${i.sourceDestCheck === false ? "off (it forwards routed traffic)" : "on"}`,
                `root volume ${str(root?.volumeSize)} GiB ${str(root?.volumeType)}${root?.encrypted ? " encrypted" : ""}; IMDSv2 ${meta?.httpTokens === "required" ? "required" : "optional"}`,
                `instance profile ${str(i.iamInstanceProfile)} (the metrics publisher's only AWS credentials, from IMDSv2)`,
            ];
        }
        case "aws:ec2/eipAssociation:EipAssociation": {
            const moves = r.options.ignoreChanges.includes("instanceId")
                ? ["moves on failover: keepalived's active member claims it (AssociateAddress); this association only places it at creation"] : [];
            return [`allocation ${str(i.allocationId)} -> instance ${str(i.instanceId)}`, ...moves];
        }
        case "aws:ec2/route:Route": {
            const moves = r.options.ignoreChanges.includes("networkInterfaceId")
                ? ["moves on failover: keepalived's active member points it at its own interface (ReplaceRoute)"] : [];
            return [`${str(i.routeTableId)}: ${str(i.destinationCidrBlock)} -> ${str(i.networkInterfaceId ?? i.instanceId)}`, ...moves];
        }
        case "command:remote:Command":
            return commandDetails(r, partner, outDir);
        case "aws:iam/role:Role":
        case "aws:iam/rolePolicy:RolePolicy":
        case "aws:iam/instanceProfile:InstanceProfile":
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
        case "aws:sns/topic:Topic":
            return monitoringDetails(r);
        default:
            return Object.entries(i).map(([k, v]) => `${k}: ${str(v)}`);
    }
}

function policyText(doc: unknown): string[] {
    try {
        const parsed = JSON.parse(String(doc)) as { Statement: Inputs[] };
        return parsed.Statement.map((st) => {
            const who = st.Principal ? ` for ${str((st.Principal as Inputs).Service)}` : "";
            const on = st.Resource ? ` on ${str(st.Resource)}` : "";
            const when = st.Condition ? ` when ${str(st.Condition)}` : "";
            return `${str(st.Effect)} ${list(st.Action)}${who}${on}${when}`;
        });
    } catch {
        return [`policy ${str(doc)}`];
    }
}

/** The endpoint role, its policy and profile, the alarms and the stack's topic, with what each is for. */
function monitoringDetails(r: PlannedResource): string[] {
    const i = r.inputs;
    switch (r.type) {
        case "aws:iam/role:Role":
            return [`${str(i.description)}`, ...policyText(i.assumeRolePolicy).map((l) => `trust: ${l}`)];
        case "aws:iam/rolePolicy:RolePolicy":
            return [`inline policy of role ${str(i.role)}: the endpoint may do this and nothing else`, ...policyText(i.policy).map((l) => `allow: ${l}`)];
        case "aws:iam/instanceProfile:InstanceProfile":
            return [`carries role ${str(i.role)} to the instance; credentials come from IMDSv2 only (no stored key)`];
        case "aws:cloudwatch/metricAlarm:MetricAlarm": {
            const op = i.comparisonOperator === "LessThanThreshold" ? "<" : ">=";
            const notify = (v: unknown) => (Array.isArray(v) && v.length > 0 ? list(v) : "nobody (no topic configured)");
            return [
                str(i.alarmDescription),
                `alarm ${str(i.name)}: ${str(i.statistic)} of ${str(i.namespace)} ${str(i.metricName)} ${str(i.dimensions)} ${op} ${str(i.threshold)}`
                    + ` for ${str(i.datapointsToAlarm)} of ${str(i.evaluationPeriods)} periods of ${str(i.period)} s; missing data ${str(i.treatMissingData)}`,
                `on alarm: ${notify(i.alarmActions)}; on recovery: ${notify(i.okActions)}`,
            ];
        }
        default:
            return [`SNS topic "${str(i.displayName)}": every alarm and its recovery go here; subscribe to it`];
    }
}

function commandDetails(r: PlannedResource, partner: PartnerPlan | undefined, outDir: string | undefined): string[] {
    const i = r.inputs;
    const where = (name: string) => (outDir && partner ? `${outDir}/${partner.name}/commands/${name}` : `commands/${name}`);
    const lines = [connectionText(i.connection)];
    if (i.stdin === "[secret]" && partner) {
        lines.push(`runs \`${str(i.create)}\` with the apply script on stdin (secret in state: it carries the PSK; redacted copy ${where("apply.sh")})`);
        lines.push(`pushes ${partner.files.length} files:`);
        for (const f of partner.files) lines.push(`  ${f.mode} ${f.path}${f.secret ? "  (the PSK; redacted in the plan)" : ""}`);
    } else if (typeof i.stdin === "string") {
        lines.push(`runs \`${str(i.create)}\` with ${where("bootstrap.sh")} on stdin (${lineCount(i.stdin)} lines)`);
    } else {
        lines.push(`runs \`${str(i.create)}\``);
    }
    if (i.delete !== undefined) lines.push(`on delete: ${str(i.delete)}`);
    lines.push(`triggers (any change replaces the command, so it runs again): ${list(i.triggers)}`);
    return lines;
}

/** The component as the root, its children below it; without a component, a flat list. */
function tree(resources: readonly PlannedResource[], partner: PartnerPlan | undefined, plan: StackPlan, outDir: string | undefined): string[] {
    const head = (r: PlannedResource) => `${SHORT_TYPE(r.type)} ${r.name}  (${r.type})${optionsText(r)}`;
    const root = resources[0]?.type === "partner-vpn:index:PartnerVpn" ? resources[0] : undefined;
    const children = root ? resources.slice(1) : resources;
    const out: string[] = [];
    if (root) out.push(head(root), ...details(root, partner, plan, outDir).map((l) => `    ${l}`));
    children.forEach((r, n) => {
        const last = n === children.length - 1;
        out.push(`${last ? "└─" : "├─"} ${head(r)}`);
        for (const l of details(r, partner, plan, outDir)) out.push(`${last ? "   " : "│  "}   ${l}`);
    });
    return out;
}

export function summaryLine(plan: StackPlan): string {
    const s: PlanSummary = plan.summary;
    const n = (count: number, word: string, plural = `${word}s`) => `${count} ${count === 1 ? word : plural}`;
    return `Summary: stack ${plan.stack} (${plan.mode}): ${n(s.partners, "partner")}, ${n(s.resources, "resource")}, ${n(s.endpoints, "endpoint")}, `
        + `${n(s.publicIpv4Addresses, "public IPv4 address", "public IPv4 addresses")} billed monthly (Elastic IPs`
        + `${s.pairs > 0 ? `, and per active/standby pair the auto-assigned address of the member without the tunnel EIP` : ""})`;
}

export function describePlan(plan: StackPlan, opts: { outDir?: string } = {}): string {
    const lines = [
        `partner-vpn plan: stack ${plan.stack} from ${plan.source}, mode ${plan.mode}`,
        "Offline: the real program evaluated under Pulumi's mocks; no credentials, no Pulumi CLI, nothing changed.",
        "Secrets: a random placeholder PSK per partner and a throwaway SSH key, redacted everywhere.",
        "<known after pulumi up: resource.attribute> marks a value AWS assigns; nothing shown in its place is real.",
    ];
    for (const n of plan.notes) lines.push(`note: ${n}`);
    for (const w of plan.warnings) lines.push(`warning: ${w}`);
    for (const p of plan.partners) {
        lines.push("", `Partner ${p.name}`, ...tree(p.resources, p, plan, opts.outDir));
        if (opts.outDir) lines.push(`files: ${opts.outDir}/${p.name}/files/ (${p.files.length} endpoint files), ${opts.outDir}/${p.name}/commands/ (${p.scripts.map((s) => s.name).join(", ")})`);
    }
    if (plan.stackResources.length > 0) lines.push("", "Stack-level resources", ...tree(plan.stackResources, undefined, plan, opts.outDir));
    lines.push("", summaryLine(plan), "");
    return lines.join("\n");
}
