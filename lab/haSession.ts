/**
 * One active/standby pair, provisioned as `pulumi up` would and kept running for the HA lab checks
 * (tests/lab/failover.test.ts) and the bench's failover runs (bench/failover.ts):
 * the pair lab (lab/haLab.ts) on two booted Debian 13 images; moto_server holding the pair's EC2
 * state with the rendered failover policy loaded for the pair's role (lab/failoverAws.ts); each
 * member's IMDSv2; the follower that makes the lab's network obey moto; the partner's gateway
 * (charon) and its servers; then the program's own four commands over SSH and sudo (each member's
 * bootstrap, then its apply; the members side by side).
 */
import * as fs from "fs";
import { renderFailoverPolicy } from "../core/render";
import { renderAssumeRolePolicy } from "../core/render/monitoring";
import { powerOnAgain, replaceEndpoint } from "./container";
import { programCommands, runRemote, type ProgramRun, type RemoteCommand } from "./engine";
import { sleep, type RunResult } from "./exec";
import { assumePairRole, failoverPolicyForMoto, readPairState, setUpPairWorld, type PairState, type PairWorld } from "./failoverAws";
import { bootMember, buildHaLab, HA_LAB, startFollower, teardownHaLab, writeKeepalivedDropIn, type Follower, type HaLab } from "./haLab";
import { ensureLabImage, type LabImage } from "./image";
import { startImds, type Imds } from "./imds";
import { LAB_REGION, MOTO_PORT, startMoto, type Moto } from "./moto";
import { runInNode, writeNodeFile } from "./node";
import { renderPartnerSide } from "./partnerSide";
import { startServers, type ServerGroup } from "./servers";
import { labPsk } from "./stackLab";
import type { PushRecord } from "./stackSession";
import { startCharon, swanctl, type Charon } from "./strongswan";
import { httpRequest } from "./traffic";

/** The login user cloud-init creates (the AMI's default user), as on the dev stack. */
export const PAIR_USER = "admin";
export const PAIR_PARTNER = "bigcorp";
/** The program's commands for each member, in the order `pulumi up` runs them. */
export const MEMBER_COMMANDS: readonly (readonly string[])[] = [
    [`${PAIR_PARTNER}-bootstrap`, `${PAIR_PARTNER}-apply`],
    [`${PAIR_PARTNER}-standby-bootstrap`, `${PAIR_PARTNER}-standby-apply`],
];

export interface PairSession {
    readonly lab: HaLab;
    /** The moto chroot. */
    readonly root: string;
    readonly image: LabImage;
    readonly world: PairWorld;
    readonly program: ProgramRun;
    readonly follower: Follower;
    /** Lines for the test's or bench's report: each command's result, states, journals. */
    readonly report: string[];
    /** Every program command run over SSH, for the lab report. */
    readonly pushes: PushRecord[];
    /** What the commands are running for (provisioning, a check's replacement), for `pushes`. */
    during: string;
}

/** The stack config of the lab's pair (vpc-routing, one partner, two hosts, one route table). */
export function pairConfig(world: PairWorld): Record<string, string> {
    const cfg: Record<string, unknown> = {
        mode: "vpc-routing",
        allowDocumentationAddresses: true,
        network: { vpcId: "vpc-0a1b2c3d4e5f60718", subnetId: "subnet-0a1b2c3d4e5f60718", subnetCidr: HA_LAB.subnets[0], internalCidrs: [HA_LAB.subnets[0]], routeTableIds: [world.routeTableId] },
        endpoint: { ami: "ami-0a1b2c3d4e5f60718", bastion: { host: HA_LAB.admin, user: PAIR_USER, securityGroupId: "sg-0b1c2d3e4f5a60718" } },
        partners: [{
            name: PAIR_PARTNER, privateIp: HA_LAB.members[0], gatewayIp: HA_LAB.gateway, remoteHosts: [...HA_LAB.hosts],
            natEip: { allocationId: "eipalloc-0a1b2c3d4e5f60723", publicIp: HA_LAB.natIp },
            tunnelEip: { allocationId: world.allocationId, publicIp: HA_LAB.tunnelIp },
            ike: { version: 2, ikeProposals: ["aes256-sha256-modp2048"], espProposals: ["aes256gcm16-modp2048"], dpdDelay: 10 },
            ha: { privateIp: HA_LAB.members[1], subnetId: "subnet-1a1b2c3d4e5f60718", subnetCidr: HA_LAB.subnets[1] },
        }],
    };
    return { "aws:region": LAB_REGION, ...Object.fromEntries(Object.entries(cfg).map(([k, v]) => [`partner-vpn:${k}`, typeof v === "string" ? v : JSON.stringify(v)])) };
}

interface Running {
    lab?: HaLab;
    moto?: Moto;
    follower?: Follower;
    pgwCharon?: Charon;
    servers?: ServerGroup;
    imds: Imds[];
}
const running = new WeakMap<PairSession, Running>();

/** Builds, boots and provisions the pair; resolves once a partner host answers through it. */
export async function startPairSession(motoRoot: string): Promise<PairSession> {
    const r: Running = { imds: [] };
    const report: string[] = [];
    try {
        const image = await ensureLabImage("debian-13");
        const lab = (r.lab = await buildHaLab());
        r.moto = await startMoto(motoRoot, lab.igw.ns, 3, "0.0.0.0");
        // moto serves the VPC side only (the members and the follower), not the "internet".
        await runInNode(lab.igw, ["iptables", "-w", "5", "-A", "INPUT", "-i", "inet0", "-p", "tcp", "--dport", String(MOTO_PORT), "-j", "DROP"]);
        const world = await setUpPairWorld(motoRoot, lab.igw.ns, HA_LAB.members, HA_LAB.hosts.map((h) => `${h}/32`));
        const policy = renderFailoverPolicy({ region: LAB_REGION, tunnelAllocationId: world.allocationId, networkInterfaceIds: world.members.map((m) => m.eni), routeTableIds: [world.routeTableId] });
        const creds = await assumePairRole(motoRoot, lab.igw.ns, world.admin, failoverPolicyForMoto(policy), renderAssumeRolePolicy(), `partner-vpn-${PAIR_PARTNER}-pair`);
        for (const [i, ep] of lab.members.entries()) r.imds.push(await startImds(ep.ns, creds, LAB_REGION, { mac: world.members[i].mac, eni: world.members[i].eni }));
        const follower = (r.follower = startFollower(lab, motoRoot, world, LAB_REGION));

        const psk = labPsk();
        const program = await programCommands(pairConfig(world), { psks: { [PAIR_PARTNER]: psk }, sshPrivateKey: fs.readFileSync(lab.keys.clientKey, "utf8") });
        r.pgwCharon = await startCharon(lab.pgw);
        const side = renderPartnerSide({
            connName: `to-${PAIR_PARTNER}`, localAddress: HA_LAB.gateway, remoteAddress: HA_LAB.tunnelIp, remoteId: HA_LAB.tunnelIp,
            localHosts: HA_LAB.hosts.map((h) => `${h}/32`), remoteTs: `${HA_LAB.natIp}/32`, ikeVersion: 2,
            ikeProposals: ["aes256-sha256-modp2048"], espProposals: ["aes256gcm16-modp2048"], psk, childPerHost: true, startAction: "none", dpdDelay: 10,
        });
        await writeNodeFile(lab.pgw, "/etc/swanctl/conf.d/partner.conf", side.swanctlConf, "0600");
        const loaded = await swanctl(lab.pgw, ["--load-all", "--noprompt"]);
        if (loaded.code !== 0) throw new Error(`partner side did not load: ${loaded.stdout}${loaded.stderr}`);
        r.servers = await startServers(lab.pgw, HA_LAB.hosts.map((h) => ({ kind: "http" as const, address: h, port: 80 })));

        const session: PairSession = { lab, root: motoRoot, image, world, program, follower, report, pushes: [], during: "provisioning" };
        running.set(session, r);
        const names = program.commands.map((c) => c.name);
        if (names.slice().sort().join() !== MEMBER_COMMANDS.flat().slice().sort().join()) throw new Error(`the program's commands for a pair: ${names.join(", ")}`);
        lab.booted = await Promise.all(lab.members.map((_, i) => bootMember(lab, i, image, PAIR_USER)));
        await Promise.all([0, 1].map((i) => provisionMember(session, i)));
        const answered = await awaitAnswer(session, 90_000);
        report.push(`after provisioning: members ${(await pairStates(session)).states.join(" / ")}; moto ${JSON.stringify(await readMoto(session))}`);
        if (answered === undefined) throw new Error(`no answer through the pair 90 s after provisioning:\n${report.join("\n")}\nfollower: ${JSON.stringify(follower.changes)}`);
        await awaitSettled(session);
        return session;
    } catch (err) {
        await stopRunning(r);
        throw err;
    }
}

async function stopRunning(r: Running): Promise<void> {
    await r.servers?.stop().catch(() => undefined);
    for (const i of r.imds) await i.stop().catch(() => undefined);
    await r.follower?.stop().catch(() => undefined);
    await r.moto?.process.stop(2000).catch(() => undefined);
    await r.pgwCharon?.process.stop(2000).catch(() => undefined);
    if (r.lab) teardownHaLab(r.lab);
}

export async function stopPairSession(s: PairSession | undefined): Promise<void> {
    const r = s && running.get(s);
    if (r) await stopRunning(r);
}

/** Runs one of the program's commands as the engine does: SSH from the admin node (the bastion's role). */
export async function runProgramCommand(s: PairSession, name: string): Promise<void> {
    const cmd = s.program.commands.find((c) => c.name === name) as RemoteCommand | undefined;
    if (!cmd) throw new Error(`the program has no command ${name}`);
    const started = Date.now();
    const r = await runRemote({ admin: s.lab.admin, keys: s.lab.keys }, { ...cmd.connection, proxyHost: undefined }, cmd.create, cmd.stdin, 600_000);
    const lines = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.startsWith("partner-vpn")).slice(-6);
    const seconds = (Date.now() - started) / 1000;
    s.report.push(`${cmd.name}: exit ${r.code} in ${seconds.toFixed(1)} s; ${lines.join(" | ")}`);
    s.pushes.push({ what: s.during, command: cmd.name, phase: "create", code: r.code, seconds, log: lines });
    if (r.code !== 0) throw new Error(`${cmd.name} failed (exit ${r.code}): ${r.stderr.slice(-3000)}`);
}

/** What `pulumi up` runs for a new member machine: its bootstrap, then its apply. */
export async function provisionMember(s: PairSession, i: number): Promise<void> {
    for (const name of MEMBER_COMMANDS[i]) await runProgramCommand(s, name);
}

/** A command on a member over SSH as the operator runs it (`ssh <member> sudo ...`). */
export async function sshMember(s: PairSession, i: number, command: string): Promise<RunResult> {
    const connection = s.program.commands.find((c) => c.name === MEMBER_COMMANDS[i][1])?.connection;
    if (!connection) throw new Error(`no connection for member ${i}`);
    return runRemote({ admin: s.lab.admin, keys: s.lab.keys }, { ...connection, proxyHost: undefined }, command, undefined, 60_000);
}

/** The member's pair state as failover.sh last wrote it (MASTER, BACKUP, FAULT, ...), or "down". */
export async function memberState(s: PairSession, i: number): Promise<string> {
    const r = await runInNode(s.lab.members[i], ["cat", `/run/partner-vpn/ha/${PAIR_PARTNER}.state`], { timeoutMs: 5000 }).catch(() => undefined);
    return r && r.code === 0 ? r.stdout.trim() : "down";
}

export async function pairStates(s: PairSession): Promise<{ states: string[]; masters: number[] }> {
    const states = await Promise.all([0, 1].map((i) => memberState(s, i)));
    return { states, masters: states.flatMap((st, i) => (st === "MASTER" ? [i] : [])) };
}

export function readMoto(s: PairSession): Promise<PairState> {
    return readPairState(s.root, s.lab.igw.ns, s.world);
}

/** Which member moto's EIP association names, or undefined. */
export function holderOf(s: PairSession, state: PairState): number | undefined {
    const i = s.world.members.findIndex((m) => m.eni === state.eipEni);
    return i < 0 ? undefined : i;
}

/** Who holds the EIP in moto now, and whether every partner route points at the same interface. */
export async function readHolding(s: PairSession): Promise<{ holder?: number; routesOnHolder: boolean }> {
    const moto = await readMoto(s);
    const holder = holderOf(s, moto);
    return { holder, routesOnHolder: holder !== undefined && Object.values(moto.routes).every((eni) => eni === moto.eipEni) };
}

/** Polls a partner host through the pair; the epoch ms of the first answer, or undefined. */
export async function awaitAnswer(s: PairSession, timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if ((await httpRequest(s.lab.inst, HA_LAB.hosts[0], 80, { timeoutSeconds: 2 })).ok) return Date.now();
        await sleep(1000);
    }
    return undefined;
}

/** Waits until `test` holds for the members' states; the states seen last. */
export async function awaitStates(s: PairSession, test: (states: string[]) => boolean, timeoutMs: number): Promise<{ ok: boolean; states: string[] }> {
    const deadline = Date.now() + timeoutMs;
    let states: string[] = [];
    while (Date.now() < deadline) {
        states = (await pairStates(s)).states;
        if (test(states)) return { ok: true, states };
        await sleep(500);
    }
    return { ok: false, states };
}

/**
 * Waits until the pair is settled: one member MASTER, the other BACKUP, moto holding the EIP and
 * every partner route on the MASTER's interface, and none of it changed for `stableMs` (longer than
 * two holder checks, so a claim still in flight has landed). Returns the active member.
 */
export async function awaitSettled(s: PairSession, stableMs = 12_000, timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let key = "";
    let since = Date.now();
    let active: number | undefined;
    while (Date.now() < deadline) {
        const { states, masters } = await pairStates(s);
        const last = s.follower.changes[s.follower.changes.length - 1];
        const master = masters.length === 1 ? s.world.members[masters[0]].eni : undefined;
        const ok = master !== undefined && states.includes("BACKUP") && last?.eip === master
            && last.routes.split(", ").every((r) => r.endsWith(`->${master}`));
        const now = JSON.stringify({ states, last: last && { eip: last.eip, routes: last.routes } });
        if (now !== key) {
            key = now;
            since = Date.now();
        }
        active = ok ? masters[0] : undefined;
        if (ok && Date.now() - since >= stableMs) return masters[0];
        await sleep(1000);
    }
    throw new Error(`the pair did not settle within ${timeoutMs / 1000} s (one MASTER holding the EIP and routes, the other BACKUP, ${stableMs / 1000} s unchanged): ${key}${active === undefined ? "" : " (settling)"}`);
}

/** The member's keepalived and failover log lines of this boot. */
export async function memberJournal(s: PairSession, i: number, lines = 60): Promise<string> {
    const r = await runInNode(s.lab.members[i], ["journalctl", "--no-pager", "-o", "short-precise", "-b", "-n", String(lines), "SYSLOG_IDENTIFIER=Keepalived_vrrp", "+", "SYSLOG_IDENTIFIER=partner-vpn-failover", "+", "SYSLOG_IDENTIFIER=Keepalived"]).catch(() => undefined);
    return r ? r.stdout.trim() : "(no journal)";
}

/** The partner gateway's IKE SAs, one line each: name, unique id, state, SPIs. */
export async function partnerIkeSas(s: PairSession): Promise<string[]> {
    const r = await swanctl(s.lab.pgw, ["--list-sas"]);
    return r.stdout.split("\n").filter((l) => /^\S.*: #\d+, (ESTABLISHED|CONNECTING|REKEYING|DELETING)/.test(l)).map((l) => l.trim());
}

/** A crashed member comes back from the same disk (EC2's recover); resolves once sshd listens. */
export async function recoverMember(s: PairSession, i: number): Promise<number> {
    const booted = s.lab.booted[i];
    if (!booted) throw new Error(`member ${i} was never booted`);
    return powerOnAgain(booted);
}

/**
 * The member's machine replaced by a new one from the image, then the program's bootstrap and
 * apply for it (what `pulumi up --target <member> --target-dependents` runs).
 */
export async function replaceMember(s: PairSession, i: number): Promise<void> {
    const booted = s.lab.booted[i];
    if (!booted) throw new Error(`member ${i} was never booted`);
    const fresh = await replaceEndpoint(booted, s.image, PAIR_USER, s.lab.keys.clientPublicKey);
    s.lab.booted[i] = fresh;
    writeKeepalivedDropIn(fresh);
    await provisionMember(s, i);
}
