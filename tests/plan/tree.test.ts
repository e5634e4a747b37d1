/**
 * The plan's resource tree and files for both dev stacks, checked against what the program itself
 * registers (evaluateProgram) and against the stack files, so a change to either shows up here.
 */
import { expect } from "chai";
import { describePlan, summaryLine } from "../../plan/describe";
import { PlaceholderSecrets } from "../../plan/placeholderSecrets";
import { evaluateProgram, revealSecrets } from "../../program/mocks";
import { loadConfig } from "../../plan/stackSource";
import { projectConfig } from "../../program/stackFile";
import type { StackPlan } from "../../plan/types";
import { DEV_STACKS, editStack, partnersOf, planOk, stackText } from "./helpers";

/** Ids shaped like AWS's (and the mocks') that the stack file itself does not hold: mocked ones. */
function mockedIds(text: string, stackFile: string): string[] {
    return [...text.matchAll(/\b(i|sg|eni|eipalloc|cmd)-[0-9a-f]{17}\b/g)].map((m) => m[0]).filter((id) => !stackFile.includes(id));
}

for (const stack of DEV_STACKS) {
    describe(`plan tree: ${stack}`, () => {
        const secrets = new PlaceholderSecrets();
        let plan: StackPlan;
        let text: string;
        let recorded: Awaited<ReturnType<typeof evaluateProgram>>;
        const config = projectConfig(loadConfig(stackText(stack), stack).values) as {
            mode: string; partners: { name: string; remoteHosts: string[]; privateIp: string }[]; network: { routeTableIds?: string[] };
        };

        before(async () => {
            plan = await planOk(stackText(stack), secrets, stack);
            text = describePlan(plan, { outDir: "plan-out/x" });
            const values = loadConfig(stackText(stack), stack).values;
            recorded = await evaluateProgram({ ...values, ...secrets.configValues(config.partners.map((p) => p.name)) }, {
                stack,
            });
        });

        it("shows every resource the program registers, by type and name, under its partner", () => {
            for (const r of recorded.resources) expect(text).to.include(`${r.name}  (${r.type})`);
            const shown = plan.partners.flatMap((p) => p.resources.map((r) => `${r.type}::${r.name}`)).sort();
            expect(shown).to.deep.equal(recorded.resources.map((r) => `${r.type}::${r.name}`).sort());
            expect(plan.partners.map((p) => p.name)).to.deep.equal(config.partners.map((p) => p.name));
        });

        it("prints a summary line with partners, resources, endpoints and billed public IPv4 addresses", () => {
            const eips = recorded.resources.filter((r) => r.type === "aws:ec2/eip:Eip").length;
            expect(eips).to.equal(2 * config.partners.length);
            const n = config.partners.length;
            expect(summaryLine(plan)).to.equal(
                `Summary: stack ${stack} (${config.mode}): ${n} partner${n === 1 ? "" : "s"}, ${recorded.resources.length} resources, `
                + `${n} endpoint${n === 1 ? "" : "s"}, ${eips} public IPv4 addresses billed monthly (Elastic IPs)`,
            );
            expect(text).to.include(summaryLine(plan));
        });

        it("shows the inputs that matter: rules with descriptions, instance settings, options, commands", () => {
            const p = config.partners[0];
            expect(text).to.match(/ingress udp 500 +from \d+\.\d+\.\d+\.\d+\/32 +"IKE from/);
            expect(text).to.match(/ingress udp 4500 +from .*"IPsec NAT-T/);
            expect(text).to.include(`private IP ${p.privateIp}`);
            expect(text).to.include('[deleteBeforeReplace, ignoreChanges [ami], replaceOnChanges [tags["partner-vpn:os"]]]');
            expect(text).to.include('debian-13: AMI <looked up at first up: newest "debian-13-amd64-*" owned by 136693071363, then ignored>');
            expect(text).to.match(/Eip \S+-nat-eip .*\[protect\]/);
            expect(text).to.include("pushes ");
            expect(text).to.include("triggers (any change replaces the command, so it runs again)");
            expect(text).to.include("private key [secret]");
        });

        it("shows the endpoint role, its one permission, the instance profile and each alarm with its meaning", () => {
            const p = config.partners[0];
            expect(text).to.include("trust: Allow sts:AssumeRole for ec2.amazonaws.com");
            expect(text).to.include(`inline policy of role <known after pulumi up: ${p.name}-endpoint-role.name>: the endpoint may do this and nothing else`);
            expect(text).to.include(`allow: Allow cloudwatch:PutMetricData on * when {"StringEquals":{"cloudwatch:namespace":"PartnerVpn"}}`);
            expect(text).to.include(`instance profile <known after pulumi up: ${p.name}-endpoint-profile.name> (the metrics publisher's only AWS credentials, from IMDSv2)`);
            expect(text).to.include(`alarm partner-vpn-${stack}-${p.name}-tunnel-down: Minimum of PartnerVpn TunnelState {"Partner":"${p.name}"} < 1 for 3 of 3 periods of 60 s; missing data breaching`);
            for (const host of p.remoteHosts) {
                expect(text).to.include(`{"Partner":"${p.name}","RemoteHost":"${host.includes("/") ? host : `${host}/32`}"} < 1`);
            }
            expect(text).to.include(`Maximum of AWS/EC2 StatusCheckFailed_System {"InstanceId":"<known after pulumi up: ${p.name}-endpoint.id>"} >= 1 for 2 of 2 periods of 60 s`);
            expect(text).to.include("on alarm: arn:aws:automate:eu-west-1:ec2:recover; on recovery: nobody (no topic configured)");
        });

        it("shows mocked cloud values only as placeholders, never as real values", () => {
            expect(mockedIds(text, stackText(stack))).to.deep.equal([]);
            expect(mockedIds(JSON.stringify(plan), stackText(stack))).to.deep.equal([]);
            // The mocks hand out the placeholders themselves: the program's own inputs hold no made-up id.
            expect(mockedIds(JSON.stringify(recorded.resources), stackText(stack))).to.deep.equal([]);
            expect(JSON.stringify(revealSecrets(recorded.resources))).to.include(`<known after pulumi up: ${p0()}-endpoint.id>`);
            // Elastic IPs got stand-in addresses (the renderers need real ones): the program's files
            // hold them, the plan never does.
            const mockedIps = [...Object.values(recorded.outputs.natIps as object), ...Object.values(recorded.outputs.tunnelIps as object)] as string[];
            expect(recorded.addressStandIns.map((s) => s.address)).to.include.members(mockedIps);
            expect(JSON.stringify(recorded.endpointFiles[p0()])).to.include(mockedIps[0]);
            const everything = [text, JSON.stringify(plan)].join("\n");
            for (const ip of mockedIps) expect(everything).not.to.match(new RegExp(`(?<![0-9.])${ip.replace(/\./g, "\\.")}(?![0-9])`));
            expect(text).to.include(`<known after pulumi up: ${p0()}-nat-eip.publicIp>; stack output natIps.${p0()}`);
            expect(text).to.include(`<known after pulumi up: ${p0()}-endpoint.id>`);
        });

        it("renders every endpoint file, mode-specific ones included, with the key redacted", () => {
            const files = plan.partners[0].files.map((f) => f.path);
            expect(files).to.include(`/etc/swanctl/conf.d/partner-vpn-${p0()}.conf`);
            expect(files).to.include(`/etc/partner-vpn/${p0()}/nat.rules`);
            expect(files.includes("/etc/nginx/nginx.conf")).to.equal(config.mode === "classic-proxy");
            const secretFile = plan.partners[0].files.find((f) => f.secret);
            expect(secretFile?.content).to.match(/secret = <REDACTED: \S+'s PSK/);
            expect(plan.partners[0].scripts.map((s) => s.name)).to.deep.equal(["apply.sh", "bootstrap.sh"]);
        });

        it("has one route per route table and partner host in vpc-routing, none in classic-proxy", () => {
            const routes = plan.partners[0].resources.filter((r) => r.type === "aws:ec2/route:Route");
            const expected = config.mode === "vpc-routing" ? (config.network.routeTableIds ?? []).length * config.partners[0].remoteHosts.length : 0;
            expect(routes).to.have.length(expected);
            for (const r of routes) expect(r.inputs.networkInterfaceId).to.equal(`<known after pulumi up: ${p0()}-endpoint.primaryNetworkInterfaceId>`);
        });

        function p0(): string {
            return config.partners[0].name;
        }
    });
}

describe("plan tree: values known offline", () => {
    it("shows a pinned AMI and adopted Elastic IPs with their configured addresses, in the files too", async () => {
        const text = editStack(stackText("dev"), (c) => {
            (c["partner-vpn:endpoint"] as Record<string, unknown>).ami = "ami-0123456789abcdef0";
            const p = partnersOf(c)[0];
            p.natEip = { allocationId: "eipalloc-0123456789abcdef0", publicIp: "52.16.0.10" };
            p.tunnelEip = { allocationId: "eipalloc-0123456789abcdef1", publicIp: "52.16.0.11" };
        });
        const plan = await planOk(text, new PlaceholderSecrets());
        const shown = describePlan(plan);
        expect(shown).to.include("AMI ami-0123456789abcdef0 (pinned; changing it replaces the endpoint)");
        expect(shown).not.to.include("ignoreChanges [ami]");
        expect(shown).to.include("existing allocation eipalloc-0123456789abcdef0");
        expect(shown).to.include("public IP 52.16.0.10; stack output natIps.bigcorp");
        expect(shown).to.include("adopted (read only");
        expect(shown).to.include("allocation eipalloc-0123456789abcdef1 -> instance <known after pulumi up: bigcorp-endpoint.id>");
        expect(plan.summary.publicIpv4Addresses).to.equal(2);
        const swanctl = plan.partners[0].files.find((f) => f.path.endsWith("partner-vpn-bigcorp.conf"));
        expect(swanctl?.content).to.include("id = 52.16.0.11");
        expect(swanctl?.content).to.include("local_ts = 52.16.0.10/32");
        expect(swanctl?.content).not.to.include("known after pulumi up");
    });
});
