/**
 * The failover script's EC2 calls, for real, against Debian 13's moto_server (lab/moto.ts) holding
 * the pair's EIP association and route table, with the policy the program renders loaded for the
 * pair's role (lab/failoverAws.ts: resources widened to `*`, which moto needs) and credentials
 * from the lab's IMDSv2. The script runs as keepalived runs it, in a lab node of its own: the
 * rendered helper and ha.conf in the node's /usr/local/sbin and /etc, PVPN_EC2_URL the one lab
 * override. Proven: `master` moves the EIP and every route to its own interface, twice in a row
 * without change; `reassert` takes the EIP back only while the member is active; a call outside
 * the policy, signed by the script's own code, is refused.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateStackConfig } from "../../core/validate";
import { renderFailoverPolicy, renderHaSettings } from "../../core/render";
import { renderAssumeRolePolicy } from "../../core/render/monitoring";
import { FAILOVER_SCRIPT } from "../../core/render/paths";
import { endpointScriptsDir, renderFailoverHelper } from "../../core/render/scripts";
import { installCleanupHandlers, registerScratchDir, teardownNamespaces, unmountRegistered } from "../../lab/cleanup";
import { assumePairRole, associateAsAdmin, failoverPolicyForMoto, readPairState, setUpPairWorld, type PairWorld } from "../../lab/failoverAws";
import { IMDS_ADDRESS, startImds, type Imds } from "../../lab/imds";
import { ensureMotoRoot, LAB_REGION, MOTO_PORT, startMoto, type Moto } from "../../lab/moto";
import { addAddress } from "../../lab/netns";
import { createNode, runInNode, startPrivateMounts, writeNodeFile, type LabNode } from "../../lab/node";
import { devConfig } from "../fixtures/configs";
import { requireLab, skipOrFail } from "../gates";

const HOSTS = ["203.0.113.7/32", "203.0.113.135/32"];
const PRIMARY = "172.16.0.5";
const STANDBY = "172.16.1.5";

describe("lab: the failover script against moto (EC2 API and the pair's IAM policy)", function () {
    this.timeout(900_000);
    let node: LabNode | undefined;
    let dir = "";
    let moto: Moto | undefined;
    let imds: Imds | undefined;
    let world: PairWorld;
    let root = "";

    const failover = async (action: string) => {
        const r = await runInNode(node as LabNode, ["env", `PVPN_EC2_URL=http://127.0.0.1:${MOTO_PORT}/`, FAILOVER_SCRIPT, action, "bigcorp"], { timeoutMs: 120_000 });
        return { code: r.code, log: `${r.stdout}${r.stderr}` };
    };
    const state = () => readPairState(root, (node as LabNode).ns, world);

    before(async function () {
        requireLab(this);
        const motoRoot = await ensureMotoRoot();
        if ("problem" in motoRoot) skipOrFail(this, `moto_server is not available: ${motoRoot.problem}`, "LAB_REQUIRED");
        root = motoRoot.root;
        installCleanupHandlers();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pvl-ha-"));
        registerScratchDir(dir);
        node = createNode(`ha${process.pid}`, "api", dir);
        await startPrivateMounts(node);
        addAddress(node.ns, "lo", `${IMDS_ADDRESS}/32`);
        moto = await startMoto(root, node.ns, 3);
        world = await setUpPairWorld(root, node.ns, [PRIMARY, STANDBY], HOSTS);
        const policy = renderFailoverPolicy({ region: LAB_REGION, tunnelAllocationId: world.allocationId, networkInterfaceIds: world.members.map((m) => m.eni), routeTableIds: [world.routeTableId] });
        const creds = await assumePairRole(root, node.ns, world.admin, failoverPolicyForMoto(policy), renderAssumeRolePolicy(), "partner-vpn-bigcorp-pair");
        // This node is the standby member: IMDS describes its interface.
        imds = await startImds(node.ns, creds, LAB_REGION, { mac: world.members[1].mac, eni: world.members[1].eni });
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const c: any = devConfig();
        c.partners[0].remoteHosts = HOSTS;
        c.partners[0].inbound = [];
        c.partners[0].gatewayIp = "198.51.100.2";
        c.allowDocumentationAddresses = true;
        c.partners[0].ha = { privateIp: STANDBY, subnetId: "subnet-1a1b2c3d4e5f60718", subnetCidr: "172.16.1.0/24" };
        const v = validateStackConfig(c);
        if (!v.ok) throw new Error(JSON.stringify(v.errors));
        await writeNodeFile(node, FAILOVER_SCRIPT, renderFailoverHelper(), "0755");
        await writeNodeFile(node, "/etc/partner-vpn/bigcorp/ha.conf", renderHaSettings(v.model.partners[0], world.allocationId, [world.routeTableId]));
    });

    after(async () => {
        await imds?.stop();
        await moto?.process.stop(2000).catch(() => undefined);
        await node?.holder?.stop(1000).catch(() => undefined);
        if (node) teardownNamespaces([node.ns]);
        if (dir) {
            unmountRegistered(dir);
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("starts as pulumi up leaves it: the EIP and every route on the primary's interface", async () => {
        const s = await state();
        expect(s.eipEni).to.equal(world.members[0].eni);
        expect(s.routes).to.deep.equal(Object.fromEntries(HOSTS.map((h) => [h, world.members[0].eni])));
    });

    it("master: claims the EIP and every route for its own interface, and again without change", async () => {
        for (const round of [1, 2]) {
            const r = await failover("master");
            expect(r.code, `round ${round}: ${r.log}`).to.equal(0);
            expect(r.log).to.include(`tunnel EIP ${world.allocationId} and partner routes claimed for ${world.members[1].eni}`);
            expect(r.log).to.not.include("with errors");
            const s = await state();
            expect(s.eipEni, `round ${round}`).to.equal(world.members[1].eni);
            expect(s.routes, `round ${round}`).to.deep.equal(Object.fromEntries(HOSTS.map((h) => [h, world.members[1].eni])));
        }
    });

    it("reassert: while active, takes the EIP back from the other member's later claim; as backup, leaves it", async () => {
        await associateAsAdmin(root, (node as LabNode).ns, world, world.members[0].eni);
        const again = await failover("reassert");
        expect(again.code, again.log).to.equal(0);
        expect(again.log).to.include("claiming it again");
        expect((await state()).eipEni).to.equal(world.members[1].eni);

        expect((await failover("backup")).code).to.equal(0);
        await associateAsAdmin(root, (node as LabNode).ns, world, world.members[0].eni);
        const quiet = await failover("reassert");
        expect(quiet.code, quiet.log).to.equal(0);
        expect(quiet.log).to.not.include("claiming");
        expect((await state()).eipEni).to.equal(world.members[0].eni);
    });

    it("a call outside the policy, signed by the script's own code, is refused (negative control)", async () => {
        const part = fs.readFileSync(path.join(endpointScriptsDir(), "failover.sh"), "utf8");
        const probe = `${part}\npvpn_ha_identity\nfor call in "DisassociateAddress AllocationId=${world.allocationId}" "CreateRoute RouteTableId=${world.routeTableId} DestinationCidrBlock=203.0.113.99/32 NetworkInterfaceId=${world.members[1].eni}" "DescribeAddresses AllocationId.1=${world.allocationId}"; do\n  # shellcheck disable=SC2086\n  if pvpn_ha_ec2 $call >/dev/null; then echo "ALLOWED \${call%% *}"; else echo "REFUSED \${call%% *}"; fi\ndone\n`;
        const r = await runInNode(node as LabNode, ["env", `PVPN_EC2_URL=http://127.0.0.1:${MOTO_PORT}/`, "bash", "-s"], { input: probe, timeoutMs: 120_000 });
        const out = `${r.stdout}${r.stderr}`;
        expect(out).to.include("REFUSED DisassociateAddress");
        expect(out).to.include("REFUSED CreateRoute");
        expect(out).to.match(/AccessDenied|not authorized/);
        expect(out, "the allowed Describe call is the positive control").to.include("ALLOWED DescribeAddresses");
        expect((await state()).eipEni, "nothing moved").to.equal(world.members[0].eni);
    });

    it("never puts a credential in a log line", async () => {
        const r = await failover("master");
        expect(r.code, r.log).to.equal(0);
        expect(r.log).to.not.match(/AKIA|ASIA|SecretAccessKey|X-Amz-Security-Token/);
    });
});
