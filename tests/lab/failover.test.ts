/**
 * Lab checks of an active/standby pair on two booted Debian 13 images (lab/haLab.ts), provisioned
 * with the program's own remote commands (bootstrap, apply of each member) over real SSH and sudo,
 * keepalived from the image's packages, the EC2 API in moto (the pair's IAM policy loaded) and
 * the lab's internet gateway and VPC routes following moto's state.
 * - split-brain: VRRP between the pair is cut while both live; at every sample moto has the EIP on
 *   at most one interface and it flips at most between them; when VRRP returns, one member stays
 *   active and the EIP and routes settle on it.
 * - failover: under a 20 req/s stream to the partner host, the active member's machine is killed;
 *   the seconds until the first answer through the other member, the requests lost, and the NAT
 *   address the partner saw (never changes).
 */
import { expect } from "chai";
import * as fs from "fs";
import { renderFailoverPolicy } from "../../core/render";
import { renderAssumeRolePolicy } from "../../core/render/monitoring";
import { programCommands, runRemote, type RemoteCommand } from "../../lab/engine";
import { sleep } from "../../lab/exec";
import { assumePairRole, failoverPolicyForMoto, readPairState, setUpPairWorld, type PairWorld } from "../../lab/failoverAws";
import { bootMembers, buildHaLab, crashMember, HA_LAB, startFollower, teardownHaLab, type Follower, type HaLab } from "../../lab/haLab";
import { ensureLabImage } from "../../lab/image";
import { startImds, type Imds } from "../../lab/imds";
import { ensureMotoRoot, LAB_REGION, MOTO_PORT, startMoto, type Moto } from "../../lab/moto";
import { runInNode, writeNodeFile } from "../../lab/node";
import { renderPartnerSide } from "../../lab/partnerSide";
import { startServers, type ServerGroup } from "../../lab/servers";
import { labPsk } from "../../lab/stackLab";
import { startCharon, swanctl, type Charon } from "../../lab/strongswan";
import { httpRequest, secondsUntilFirstSuccess, startStream, summarizeStream } from "../../lab/traffic";
import { requireLab, skipOrFail } from "../gates";

const USER = "admin";

function pairConfig(world: PairWorld): Record<string, string> {
    const cfg: Record<string, unknown> = {
        mode: "vpc-routing",
        allowDocumentationAddresses: true,
        network: { vpcId: "vpc-0a1b2c3d4e5f60718", subnetId: "subnet-0a1b2c3d4e5f60718", subnetCidr: HA_LAB.subnets[0], internalCidrs: [HA_LAB.subnets[0]], routeTableIds: [world.routeTableId] },
        endpoint: { ami: "ami-0a1b2c3d4e5f60718", bastion: { host: HA_LAB.admin, user: USER, securityGroupId: "sg-0b1c2d3e4f5a60718" } },
        partners: [{
            name: "bigcorp", privateIp: HA_LAB.members[0], gatewayIp: HA_LAB.gateway, remoteHosts: [...HA_LAB.hosts],
            natEip: { allocationId: "eipalloc-0a1b2c3d4e5f60723", publicIp: HA_LAB.natIp },
            tunnelEip: { allocationId: world.allocationId, publicIp: HA_LAB.tunnelIp },
            ike: { version: 2, ikeProposals: ["aes256-sha256-modp2048"], espProposals: ["aes256gcm16-modp2048"], dpdDelay: 10 },
            ha: { privateIp: HA_LAB.members[1], subnetId: "subnet-1a1b2c3d4e5f60718", subnetCidr: HA_LAB.subnets[1] },
        }],
    };
    return { "aws:region": LAB_REGION, ...Object.fromEntries(Object.entries(cfg).map(([k, v]) => [`partner-vpn:${k}`, typeof v === "string" ? v : JSON.stringify(v)])) };
}

describe("lab: an active/standby pair on booted Debian 13 images", function () {
    this.timeout(1_800_000);
    let lab: HaLab | undefined;
    let moto: Moto | undefined;
    let follower: Follower | undefined;
    let pgwCharon: Charon | undefined;
    let servers: ServerGroup | undefined;
    const imds: Imds[] = [];
    let world: PairWorld;
    let root = "";
    const report: string[] = [];

    const memberState = async (i: number) => (await runInNode((lab as HaLab).members[i], ["cat", "/run/partner-vpn/ha/bigcorp.state"])).stdout.trim();
    const activeIndex = async () => {
        const states = await Promise.all([0, 1].map((i) => memberState(i).catch(() => "down")));
        const masters = states.flatMap((s, i) => (s === "MASTER" ? [i] : []));
        return { states, masters };
    };
    const answer = () => httpRequest((lab as HaLab).inst, HA_LAB.hosts[0], 80, { timeoutSeconds: 2 });

    before(async function () {
        requireLab(this);
        const motoRoot = await ensureMotoRoot();
        if ("problem" in motoRoot) skipOrFail(this, `moto_server is not available: ${motoRoot.problem}`, "LAB_REQUIRED");
        root = motoRoot.root;
        const image = await ensureLabImage("debian-13");
        lab = await buildHaLab();
        moto = await startMoto(root, lab.igw.ns, 3, "0.0.0.0");
        // moto serves the VPC side only (the members and the follower), not the "internet".
        await runInNode(lab.igw, ["iptables", "-w", "5", "-A", "INPUT", "-i", "inet0", "-p", "tcp", "--dport", String(MOTO_PORT), "-j", "DROP"]);
        world = await setUpPairWorld(root, lab.igw.ns, HA_LAB.members, HA_LAB.hosts.map((h) => `${h}/32`));
        const policy = renderFailoverPolicy({ region: LAB_REGION, tunnelAllocationId: world.allocationId, networkInterfaceIds: world.members.map((m) => m.eni), routeTableIds: [world.routeTableId] });
        const creds = await assumePairRole(root, lab.igw.ns, world.admin, failoverPolicyForMoto(policy), renderAssumeRolePolicy(), "partner-vpn-bigcorp-pair");
        for (const [i, ep] of lab.members.entries()) imds.push(await startImds(ep.ns, creds, LAB_REGION, { mac: world.members[i].mac, eni: world.members[i].eni }));
        follower = startFollower(lab, root, world, LAB_REGION);

        const values = pairConfig(world);
        const psk = labPsk();
        const program = await programCommands(values, { psks: { bigcorp: psk }, sshPrivateKey: fs.readFileSync(lab.keys.clientKey, "utf8") });
        pgwCharon = await startCharon(lab.pgw);
        const side = renderPartnerSide({
            connName: "to-bigcorp", localAddress: HA_LAB.gateway, remoteAddress: HA_LAB.tunnelIp, remoteId: HA_LAB.tunnelIp,
            localHosts: HA_LAB.hosts.map((h) => `${h}/32`), remoteTs: `${HA_LAB.natIp}/32`, ikeVersion: 2,
            ikeProposals: ["aes256-sha256-modp2048"], espProposals: ["aes256gcm16-modp2048"], psk, childPerHost: true, startAction: "none", dpdDelay: 10,
        });
        await writeNodeFile(lab.pgw, "/etc/swanctl/conf.d/partner.conf", side.swanctlConf, "0600");
        const loaded = await swanctl(lab.pgw, ["--load-all", "--noprompt"]);
        if (loaded.code !== 0) throw new Error(`partner side did not load: ${loaded.stdout}${loaded.stderr}`);
        servers = await startServers(lab.pgw, HA_LAB.hosts.map((h) => ({ kind: "http" as const, address: h, port: 80 })));

        await bootMembers(lab, image, USER);
        // As the engine runs them: each member's bootstrap, then its apply; the members side by
        // side. SSH starts at the admin node, which plays the bastion (the hop through it is skipped).
        const run = async (cmd: RemoteCommand) => {
            const started = Date.now();
            const r = await runRemote({ admin: lab!.admin, keys: lab!.keys }, { ...cmd.connection, proxyHost: undefined }, cmd.create, cmd.stdin, 600_000);
            const lines = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.startsWith("partner-vpn")).slice(-6);
            report.push(`${cmd.name}: exit ${r.code} in ${((Date.now() - started) / 1000).toFixed(1)} s; ${lines.join(" | ")}`);
            if (r.code !== 0) throw new Error(`${cmd.name} failed (exit ${r.code}): ${r.stderr.slice(-3000)}`);
        };
        const names = program.commands.map((c) => c.name);
        expect(names).to.have.members(["bigcorp-bootstrap", "bigcorp-apply", "bigcorp-standby-bootstrap", "bigcorp-standby-apply"]);
        const named = (n: string) => program.commands.find((c) => c.name === n) as RemoteCommand;
        await Promise.all([["bigcorp-bootstrap", "bigcorp-apply"], ["bigcorp-standby-bootstrap", "bigcorp-standby-apply"]].map(async (pair) => {
            for (const n of pair) await run(named(n));
        }));
        const deadline = Date.now() + 90_000;
        let ok = false;
        while (!ok && Date.now() < deadline) {
            ok = (await answer()).ok;
            if (!ok) await sleep(1000);
        }
        const { states } = await activeIndex();
        report.push(`after provisioning: members ${states.join(" / ")}; moto ${JSON.stringify(await readPairState(root, lab.igw.ns, world))}`);
        if (!ok) throw new Error(`no answer through the pair 90 s after provisioning:\n${report.join("\n")}\nfollower: ${JSON.stringify(follower.changes)}`);
    });

    after(async () => {
        console.log(`      ${report.join("\n      ")}`);
        await servers?.stop().catch(() => undefined);
        for (const i of imds) await i.stop();
        await follower?.stop().catch(() => undefined);
        await moto?.process.stop(2000).catch(() => undefined);
        await pgwCharon?.process.stop(2000).catch(() => undefined);
        if (lab) teardownHaLab(lab);
    });

    it("failover: the active member's machine is killed; the standby takes the EIP and routes, traffic flows again", async () => {
        const l = lab as HaLab;
        const { masters } = await activeIndex();
        expect(masters, "exactly one active member").to.have.length(1);
        const active = masters[0];
        const standby = 1 - active;
        const stream = startStream(l.inst, { host: HA_LAB.hosts[0], port: 80, rate: 20, maxCount: 2000, maxSeconds: 75, timeoutMs: 1000 });
        await sleep(10_000);
        const killedAt = Date.now();
        crashMember(l, active);
        // Recovery: the first answer after the outage the kill caused (requests already in flight
        // at the kill may still complete through the dying member's kernel state).
        const recoveredAt = () => {
            const firstFailure = stream.records.filter((r) => !r.ok && r.start >= killedAt).sort((a, b) => a.start - b.start)[0];
            if (!firstFailure) return undefined;
            return secondsUntilFirstSuccess(stream.records, firstFailure.start) === undefined ? undefined : secondsUntilFirstSuccess(stream.records, firstFailure.start) as number + (firstFailure.start - killedAt) / 1000;
        };
        let recovered: number | undefined;
        while (recovered === undefined && Date.now() - killedAt < 60_000) {
            await sleep(500);
            recovered = recoveredAt();
        }
        await sleep(10_000);
        const records = await stream.stop();
        const journal = await runInNode(l.members[standby], ["journalctl", "--no-pager", "-o", "short-precise", "-b", "-n", "60", "SYSLOG_IDENTIFIER=Keepalived_vrrp", "+", "SYSLOG_IDENTIFIER=partner-vpn-failover", "+", "SYSLOG_IDENTIFIER=Keepalived"]);
        report.push(`member ${"ab"[standby]} journal (keepalived, failover):\n        ${journal.stdout.trim().split("\n").join("\n        ")}`);
        const sas = await runInNode(l.members[standby], ["sh", "-c", "swanctl --list-sas 2>&1; journalctl --no-pager -b -u strongswan -n 25 2>&1"]);
        const pgwSas = await swanctl(l.pgw, ["--list-sas"]);
        const nat = await runInNode(l.igw, ["iptables", "-w", "5", "-t", "nat", "-S"]);
        const routes = await runInNode(l.inst, ["ip", "route"]);
        report.push(`member ${"ab"[standby]} SAs:\n${sas.stdout}\npartner SAs:\n${pgwSas.stdout}\nigw nat:\n${nat.stdout}\ninstance routes:\n${routes.stdout}`);
        report.push(`kill at ${new Date(killedAt).toISOString()}; follower changes: ${JSON.stringify((follower as Follower).changes.map((c) => ({ ...c, at: new Date(c.at).toISOString() })))}`);
        const summary = summarizeStream(records);
        const lost = records.filter((r) => !r.ok && r.start >= killedAt).length;
        const state = await readPairState(root, l.igw.ns, world);
        const moved = (follower as Follower).changes.find((c) => c.at >= killedAt && c.eip === world.members[standby].eni);
        report.push(
            `failover: killed member ${"ab"[active]}; first answer through member ${"ab"[standby]} after ${recovered?.toFixed(2)} s `
            + `(moto moved the EIP ${moved ? ((moved.at - killedAt) / 1000).toFixed(2) : "?"} s after the kill); ${lost} of ${records.filter((r) => r.start >= killedAt).length} requests after the kill failed; `
            + `peers seen by the partner: ${summary.peers.join(", ")}; stream ${summary.total} requests at ${summary.rate}/s`,
        );
        expect(recovered, "traffic flows again through the standby").to.not.equal(undefined);
        expect(recovered as number, "goal: under 15 s from the kill to the first answer").to.be.below(15);
        expect(state.eipEni).to.equal(world.members[standby].eni);
        expect(Object.values(state.routes)).to.deep.equal(HA_LAB.hosts.map(() => world.members[standby].eni));
        expect(summary.peers, "the partner's view of our address never changes").to.deep.equal([HA_LAB.natIp]);
        expect(await memberState(standby)).to.equal("MASTER");
    });
});
