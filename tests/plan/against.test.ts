/**
 * The change review. CLI runs on scratch git repositories for the git side (a commit that adds a
 * partner, no change at all); the per-change rules through the plan modules, which is faster.
 */
import { expect } from "chai";
import { diffPlans, type PlanChanges, type ResourceChange } from "../../plan/changes";
import { describeChanges } from "../../plan/describeChanges";
import { PlaceholderSecrets } from "../../plan/placeholderSecrets";
import { forcesReplacement, isIgnored } from "../../plan/replaceRules";
import { acmePartner, editStack, partnersOf, planOk, removeDir, runChild, scratchRepo, stackText } from "./helpers";

const withAcme = (text: string) => editStack(text, (c) => {
    partnersOf(c).push(acmePartner(String(c["partner-vpn:mode"])));
});

/** Both sides planned with one set of placeholder secrets, as the CLI does. */
async function review(before: string, after: string, stack = "dev"): Promise<PlanChanges> {
    const secrets = new PlaceholderSecrets();
    const a = await planOk(before, secrets, stack);
    const b = await planOk(after, secrets, stack);
    return diffPlans(a, b, { from: "before", to: "after", missingBefore: false });
}

const summary = (c: ResourceChange) => `${c.action} ${c.type} ${c.name}`;
const changesOf = (changes: PlanChanges, partner: string) => changes.partners.find((p) => p.partner === partner)?.resources ?? [];

describe("plan --against (CLI on a git repository)", function () {
    this.timeout(120_000);
    const repos: string[] = [];
    after(() => repos.forEach(removeDir));

    for (const stack of ["dev", "dev-classic"]) {
        it(`reports a commit that adds a partner as that partner's resources created, nothing else (${stack})`, () => {
            const before = stackText(stack);
            const repo = scratchRepo(`Pulumi.${stack}.yaml`, [before, withAcme(before)]);
            repos.push(repo);
            const run = runChild(["--stack", stack, "--repo", repo, "--against", "HEAD~1", "--json"], repo);
            expect(run.code, run.stderr).to.equal(0);
            const changes = JSON.parse(run.stdout) as PlanChanges;
            expect(changes.partners.map((p) => p.partner)).to.deep.equal(["acme"]);
            const acme = changes.partners[0];
            expect(acme.status).to.equal("added");
            expect(acme.resources.every((r) => r.action === "create")).to.equal(true);
            expect(acme.resources.every((r) => r.partner === "acme")).to.equal(true);
            const types = acme.resources.map((r) => r.type);
            expect(types).to.include.members(["partner-vpn:index:PartnerVpn", "aws:ec2/eip:Eip", "aws:ec2/instance:Instance", "command:remote:Command"]);
            expect(changes.counts).to.include({ create: acme.resources.length, update: 0, replace: 0, delete: 0 });
            expect(changes.stackResources).to.deep.equal([]);
            if (stack !== "dev") return;
            const text = runChild(["--stack", stack, "--repo", repo, "--against", "HEAD~1"], repo);
            expect(text.code, text.stderr).to.equal(0);
            expect(text.stdout).to.include(`Partner acme (new partner): ${acme.resources.length} to create`);
            expect(text.stdout).not.to.include("Partner bigcorp");
        });
    }

    it("says \"no changes\" and exits 0 when the stack file did not change", () => {
        const repo = scratchRepo("Pulumi.dev.yaml", [stackText("dev")]);
        repos.push(repo);
        const run = runChild(["--repo", repo, "--against", "HEAD"], repo);
        expect(run.code, run.stderr).to.equal(0);
        expect(run.stdout).to.match(/^no changes$/m);
    });

    it("fails with exit 1 on a ref that is not a commit", () => {
        const repo = scratchRepo("Pulumi.dev.yaml", [stackText("dev")]);
        repos.push(repo);
        const run = runChild(["--repo", repo, "--against", "no-such-ref"], repo);
        expect(run.code).to.equal(1);
        expect(run.stderr).to.include("--against no-such-ref: not a commit");
    });
});

describe("plan --against: what each change does", () => {
    const base = withAcme(stackText("dev"));

    it("a new remote host: replaces that partner's apply command, creates its route and its alarm, nothing else", async () => {
        const changes = await review(base, editStack(base, (c) => {
            (partnersOf(c)[0].remoteHosts as string[]).push("110.220.10.200");
        }));
        const bigcorp = changesOf(changes, "bigcorp");
        expect(bigcorp.map(summary).sort()).to.deep.equal([
            "create aws:cloudwatch/metricAlarm:MetricAlarm bigcorp-tunnel-down-110-220-10-200-32",
            "create aws:ec2/route:Route bigcorp-route-rtb-0a1b2c3d4e5f60718-110-220-10-200-32",
            "replace command:remote:Command bigcorp-apply",
        ]);
        const apply = bigcorp.find((c) => c.name === "bigcorp-apply");
        expect(apply?.reasons).to.deep.equal(["triggers changed"]);
        expect(changesOf(changes, "acme")).to.deep.equal([]);
        expect(changes.partners.map((p) => p.partner)).to.deep.equal(["bigcorp"]);
        const diffs = changes.partners[0].files.map((f) => f.path);
        expect(diffs).to.include("/etc/swanctl/conf.d/partner-vpn-bigcorp.conf");
        expect(diffs).to.include("/etc/partner-vpn/bigcorp/nat.rules");
        const swanctl = changes.partners[0].files.find((f) => f.path.endsWith("partner-vpn-bigcorp.conf"));
        expect(swanctl?.patch).to.include("+                remote_ts = 110.220.10.200/32");
    });

    it("a new remote host in classic-proxy mode: the apply command and the host's alarm (no routes there)", async () => {
        const classic = withAcme(stackText("dev-classic"));
        const changes = await review(classic, editStack(classic, (c) => {
            (partnersOf(c)[0].remoteHosts as string[]).push("110.220.10.200");
        }), "dev-classic");
        expect(changes.partners.map((p) => p.partner)).to.deep.equal(["bigcorp"]);
        expect(changesOf(changes, "bigcorp").map(summary).sort()).to.deep.equal([
            "create aws:cloudwatch/metricAlarm:MetricAlarm bigcorp-tunnel-down-110-220-10-200-32",
            "replace command:remote:Command bigcorp-apply",
        ]);
    });

    it("a new private IP: replaces the instance for privateIp, and whatever references its id", async () => {
        const changes = await review(base, editStack(base, (c) => {
            partnersOf(c)[0].privateIp = "172.16.0.9";
        }));
        const bigcorp = changesOf(changes, "bigcorp");
        const instance = bigcorp.find((c) => c.type === "aws:ec2/instance:Instance");
        expect(instance?.action).to.equal("replace");
        expect(instance?.reasons).to.deep.equal(["privateIp changed"]);
        expect(instance?.notes.join(" ")).to.include("deleteBeforeReplace");
        // The cascade: the mocks give the new instance the same id, the review must not.
        const association = bigcorp.find((c) => c.type === "aws:ec2/eipAssociation:EipAssociation");
        expect(association?.action).to.equal("replace");
        expect(association?.reasons[0]).to.include("instanceId references bigcorp-endpoint, which is replaced");
        const bootstrap = bigcorp.find((c) => c.name === "bigcorp-bootstrap");
        expect(bootstrap?.action).to.equal("replace");
        expect(bootstrap?.reasons[0]).to.include("triggers references bigcorp-endpoint");
        for (const route of bigcorp.filter((c) => c.type === "aws:ec2/route:Route")) {
            expect(route.action).to.equal("update");
            expect(route.changes.map((c) => c.path)).to.deep.equal(["networkInterfaceId"]);
        }
        expect(bigcorp.find((c) => c.type === "aws:ec2/eip:Eip")).to.equal(undefined);
        expect(bigcorp.find((c) => c.type === "aws:ec2/securityGroup:SecurityGroup")).to.equal(undefined);
        expect(changesOf(changes, "acme")).to.deep.equal([]);
        expect(describeChanges(changes)).to.include('privateIp: "172.16.0.5" -> "172.16.0.9"  [forces replacement]');
    });

    it("removing a partner deletes its resources and flags the protected Elastic IPs with the unprotect command", async () => {
        const changes = await review(base, stackText("dev"));
        const acme = changes.partners.find((p) => p.partner === "acme");
        expect(acme?.status).to.equal("removed");
        expect(acme?.resources.every((r) => r.action === "delete")).to.equal(true);
        const eips = acme?.resources.filter((r) => r.type === "aws:ec2/eip:Eip") ?? [];
        expect(eips).to.have.length(2);
        for (const e of eips) {
            expect(e.protect).to.equal(true);
            expect(e.notes.join(" ")).to.include(`pulumi state unprotect 'urn:pulumi:dev::partner-vpn::partner-vpn:index:PartnerVpn$aws:ec2/eip:Eip::${e.name}'`);
        }
        expect(describeChanges(changes)).to.include("! protected: pulumi up refuses to delete it");
        expect(changesOf(changes, "bigcorp")).to.deep.equal([]);
    });

    it("a new AMI filter changes nothing (ignoreChanges), pinning another AMI replaces the endpoint", async () => {
        const filter = await review(base, editStack(base, (c) => {
            (c["partner-vpn:endpoint"] as Record<string, unknown>).amiNameFilter = "ubuntu/images/hvm-ssd-gp3/ubuntu-plucky-25.04-amd64-server-*";
        }));
        expect(filter.counts).to.include({ create: 0, update: 0, replace: 0, delete: 0 });
        const pinned = await review(base, editStack(base, (c) => {
            (c["partner-vpn:endpoint"] as Record<string, unknown>).ami = "ami-0123456789abcdef0";
        }));
        const instances = pinned.partners.flatMap((p) => p.resources).filter((c) => c.type === "aws:ec2/instance:Instance");
        expect(instances.map((c) => c.action)).to.deep.equal(["replace", "replace"]);
        expect(instances[0].reasons).to.deep.equal(["ami changed"]);
    });

    it("an instance type change is an in-place update that stops the instance", async () => {
        const changes = await review(base, editStack(base, (c) => {
            (c["partner-vpn:endpoint"] as Record<string, unknown>).instanceType = "t3.small";
        }));
        const instances = changes.partners.flatMap((p) => p.resources);
        expect(instances.map(summary)).to.deep.equal(["update aws:ec2/instance:Instance bigcorp-endpoint", "update aws:ec2/instance:Instance acme-endpoint"]);
        expect(instances[0].changes[0].note).to.include("stops and starts");
    });

    it("knows which properties force replacement", () => {
        expect(forcesReplacement("aws:ec2/instance:Instance", "rootBlockDevice.encrypted")).to.equal(true);
        expect(forcesReplacement("aws:ec2/instance:Instance", "rootBlockDevice.volumeSize")).to.equal(false);
        expect(forcesReplacement("aws:ec2/instance:Instance", "instanceType")).to.equal(false);
        expect(forcesReplacement("aws:ec2/route:Route", "networkInterfaceId")).to.equal(false);
        expect(forcesReplacement("aws:ec2/securityGroup:SecurityGroup", "ingress")).to.equal(false);
        expect(forcesReplacement("aws:ec2/securityGroup:SecurityGroup", "description")).to.equal(true);
        expect(forcesReplacement("command:remote:Command", "triggers")).to.equal(true);
        expect(forcesReplacement("command:remote:Command", "connection.host")).to.equal(false);
        expect(isIgnored(["ami"], "ami")).to.equal(true);
        expect(isIgnored(["ami"], "amiX")).to.equal(false);
    });
});
