/**
 * The failover script's EC2 calls, for real, against Debian 13's moto_server (lab/moto.ts) holding
 * the pair's EIP association and route table, with the policy the program renders loaded for the
 * pair's role (lab/failoverAws.ts: resources widened to `*`, which moto needs) and credentials
 * from the lab's IMDSv2. The script runs as keepalived runs it, in a lab node of its own: the
 * rendered helper and ha.conf in the node's /usr/local/sbin and /etc, PVPN_EC2_URL the one lab
 * override. Proven: `master` moves the EIP and every route to its own interface, twice in a row
 * without change; `holder` (keepalived's weighted track script) answers 0 exactly while the EIP
 * is on this member's interface, in any state, and never takes it from the other member: a MASTER
 * whose EIP the other member claimed since stands down (YIELDED), only an EIP on no interface is
 * claimed, and without the EC2 API (or while a takeover holds the lock) it repeats its last known
 * answer; a call outside the policy, signed by the script's own code, is refused.
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
import { assumePairRole, associateAsAdmin, disassociateAsAdmin, failoverPolicyForMoto, readPairState, setUpPairWorld, type PairWorld } from "../../lab/failoverAws";
import { IMDS_ADDRESS, startImds, type Imds } from "../../lab/imds";
import { ensureMotoRoot, LAB_REGION, MOTO_PORT, startMoto, type Moto } from "../../lab/moto";
import { addAddress } from "../../lab/netns";
import { createNode, readNodeFile, removeNodeFile, runInNode, startPrivateMounts, writeNodeFile, type LabNode } from "../../lab/node";
import { devConfig } from "../fixtures/configs";
import { requireLab, skipOrFail } from "../gates";

const HOSTS = ["203.0.113.7/32", "203.0.113.135/32"];
const PRIMARY = "172.16.0.5";
const STANDBY = "172.16.1.5";
/** Where the script keeps the member's state, its last holder answer and its lock. */
const HA_RUN = "/run/partner-vpn/ha";
/** Nothing listens there in the test's namespace: an EC2 API that does not answer. */
const CLOSED_EC2_URL = "http://127.0.0.1:9/";

describe("lab: the failover script against moto (EC2 API and the pair's IAM policy)", function () {
    this.timeout(900_000);
    let node: LabNode | undefined;
    let dir = "";
    let moto: Moto | undefined;
    let imds: Imds | undefined;
    let world: PairWorld;
    let root = "";

    /** Runs the helper as keepalived does; `under` prefixes the command (e.g. a lock holder). */
    const failover = async (action: string, ec2Url = `http://127.0.0.1:${MOTO_PORT}/`, under: readonly string[] = []) => {
        const r = await runInNode(node as LabNode, [...under, "env", `PVPN_EC2_URL=${ec2Url}`, FAILOVER_SCRIPT, action, "bigcorp"], { timeoutMs: 120_000 });
        return { code: r.code, log: `${r.stdout}${r.stderr}` };
    };
    const state = () => readPairState(root, (node as LabNode).ns, world);
    const memberState = async () => (await readNodeFile(node as LabNode, `${HA_RUN}/bigcorp.state`)).trim();
    const lastAnswer = async () => (await readNodeFile(node as LabNode, `${HA_RUN}/bigcorp.holder`)).trim();
    const ns = () => (node as LabNode).ns;
    const onThem = () => associateAsAdmin(root, ns(), world, world.members[0].eni);
    const onUs = () => associateAsAdmin(root, ns(), world, world.members[1].eni);
    const routesOnUs = () => Object.fromEntries(HOSTS.map((h) => [h, world.members[1].eni]));

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

    it("holder, the EIP on our interface: answers 0 (the holder's priority) and moves nothing, as MASTER and as BACKUP", async () => {
        const before = await state();
        expect(before.eipEni, "the master test left the EIP on us").to.equal(world.members[1].eni);
        for (const role of ["master", "backup"]) {
            expect((await failover(role)).code, role).to.equal(0);
            const r = await failover("holder");
            expect(r.code, `${role}: ${r.log}`).to.equal(0);
            expect(r.log, role).to.not.match(/claiming|standing down/);
            expect(await state(), role).to.deep.equal(before);
            expect(await memberState(), role).to.equal(role.toUpperCase());
            expect(await lastAnswer(), role).to.equal("0");
        }
    });

    it("holder, MASTER and the other member claimed the EIP since (split brain): answers 1 and stands down (YIELDED), never claims it back", async () => {
        expect((await failover("master")).code).to.equal(0);
        await onThem();
        const r = await failover("holder");
        expect(r.code, r.log).to.equal(1);
        expect(r.log).to.include(`the tunnel EIP is on ${world.members[0].eni}, which claimed it after us: standing down until VRRP decides`);
        expect(r.log).to.include("YIELDED: our SAs are terminated");
        expect(await memberState()).to.equal("YIELDED");
        expect(await lastAnswer()).to.equal("1");
        // The next checks (every 5 s under keepalived) leave it there: no ping-pong. Routes untouched.
        for (const round of [1, 2]) {
            const again = await failover("holder");
            expect(again.code, `round ${round}: ${again.log}`).to.equal(1);
            expect(again.log, `round ${round}`).to.not.match(/claiming|standing down/);
            const s = await state();
            expect(s.eipEni, `round ${round}`).to.equal(world.members[0].eni);
            expect(s.routes, `round ${round}`).to.deep.equal(routesOnUs());
            expect(await memberState(), `round ${round}`).to.equal("YIELDED");
        }
    });

    it("holder, YIELDED or MASTER and the EIP on no interface: claims it and answers 0", async () => {
        for (const from of ["YIELDED", "MASTER"]) {
            expect(await memberState()).to.equal(from);
            await disassociateAsAdmin(root, ns(), world);
            expect((await state()).eipEni, `${from}: disassociated`).to.equal(undefined);
            const r = await failover("holder");
            expect(r.code, `${from}: ${r.log}`).to.equal(0);
            expect(r.log, from).to.include("the tunnel EIP is on no interface and we are active: claiming it");
            expect(r.log, from).to.include(`tunnel EIP ${world.allocationId} and partner routes claimed for ${world.members[1].eni}`);
            expect((await state()).eipEni, from).to.equal(world.members[1].eni);
            expect(await memberState(), from).to.equal("MASTER");
            expect(await lastAnswer(), from).to.equal("0");
        }
    });

    it("holder, BACKUP: answers 1 while the EIP is on the other member or on none, and moves nothing", async () => {
        expect((await failover("backup")).code).to.equal(0);
        await onThem();
        const other = await failover("holder");
        expect(other.code, other.log).to.equal(1);
        expect((await state()).eipEni).to.equal(world.members[0].eni);
        await disassociateAsAdmin(root, ns(), world);
        const none = await failover("holder");
        expect(none.code, none.log).to.equal(1);
        expect((await state()).eipEni, "a BACKUP does not claim an unassociated EIP").to.equal(undefined);
        for (const r of [other, none]) expect(r.log).to.not.match(/claiming|standing down/);
        expect(await memberState()).to.equal("BACKUP");
        expect(await lastAnswer()).to.equal("1");
    });

    it("holder, without an answer from the EC2 API: repeats the last known answer, 1 without one", async () => {
        await onUs();
        // The last check said 1; the EIP is ours now, but unreachable, the script cannot know.
        const stale = await failover("holder", CLOSED_EC2_URL);
        expect(stale.code, stale.log).to.equal(1);
        expect(stale.log).to.include("cannot tell which interface holds the tunnel EIP").and.to.include("repeating the last known answer (not the holder)");
        const live = await failover("holder");
        expect(live.code, live.log).to.equal(0);
        const cached = await failover("holder", CLOSED_EC2_URL);
        expect(cached.code, cached.log).to.equal(0);
        expect(cached.log).to.include("repeating the last known answer (holder)");
        await removeNodeFile(node as LabNode, `${HA_RUN}/bigcorp.holder`);
        const unknown = await failover("holder", CLOSED_EC2_URL);
        expect(unknown.code, unknown.log).to.equal(1);
        expect((await state()).eipEni, "nothing moved").to.equal(world.members[1].eni);
    });

    it("holder, MASTER while a takeover holds the lock: repeats the last known answer and acts on nothing", async () => {
        expect((await failover("master")).code).to.equal(0);
        expect(await lastAnswer(), "a successful claim is remembered").to.equal("0");
        await onThem();
        const busy = await failover("holder", undefined, ["flock", `${HA_RUN}/bigcorp.lock`]);
        expect(busy.code, busy.log).to.equal(0);
        expect(busy.log).to.not.include("standing down");
        expect(await memberState()).to.equal("MASTER");
        expect((await state()).eipEni).to.equal(world.members[0].eni);
        // The same check once the lock is free: the control.
        const free = await failover("holder");
        expect(free.code, free.log).to.equal(1);
        expect(free.log).to.include("standing down");
        expect((await state()).eipEni).to.equal(world.members[0].eni);
    });

    it("master overtaken by a backup notify before its claim (keepalived does not wait between notify scripts): claims nothing", async () => {
        await onThem();
        const env = `PVPN_EC2_URL=http://127.0.0.1:${MOTO_PORT}/`;
        // The lock held as a takeover would hold it; master queues behind it, then backup arrives.
        const script = [
            `flock ${HA_RUN}/bigcorp.lock sleep 3 &`,
            "sleep 0.5",
            `env ${env} ${FAILOVER_SCRIPT} master bigcorp >/tmp/pvt-master.log 2>&1 &`,
            "sleep 0.5",
            `env ${env} ${FAILOVER_SCRIPT} backup bigcorp`,
            "wait",
            "cat /tmp/pvt-master.log",
        ].join("\n");
        const r = await runInNode(node as LabNode, ["bash", "-c", script], { timeoutMs: 120_000 });
        expect(r.code, `${r.stdout}${r.stderr}`).to.equal(0);
        expect(`${r.stdout}${r.stderr}`).to.include("keepalived has notified backup since electing us: not claiming the tunnel EIP");
        expect((await state()).eipEni, "the EIP stays where it was").to.equal(world.members[0].eni);
        expect(await memberState()).to.equal("BACKUP");
        // The control: master without a later notify claims it.
        const alone = await failover("master");
        expect(alone.code, alone.log).to.equal(0);
        expect((await state()).eipEni).to.equal(world.members[1].eni);
        await onThem(); // as the next test expects it
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
        expect((await state()).eipEni, "nothing moved (the previous test left it on the other member)").to.equal(world.members[0].eni);
    });

    it("never puts a credential in a log line", async () => {
        const r = await failover("master");
        expect(r.code, r.log).to.equal(0);
        expect(r.log).to.not.match(/AKIA|ASIA|SecretAccessKey|X-Amz-Security-Token/);
    });
});
