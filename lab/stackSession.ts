/**
 * One lab run for one stack file: builds the topology the config maps to, configures each
 * partner's side from the agreement (lab/partnerSide.ts), starts the test servers, evaluates the
 * program under mocks with lab secrets and provisions the endpoints with its remote commands over
 * real SSH, in dependency order, exactly as `pulumi up` would run them. Each endpoint is a booted
 * Debian image of the config's endpoint.os (lab/image.ts, lab/container.ts): the bootstrap runs
 * over SSH as the configured user with sudo, against the image's local apt repository.
 */
import * as fs from "fs";
import type { PartnerModel, StackModel } from "../core/model";
import { swanctlChildName, swanctlConnectionName } from "../core/render";
import { commandNamed, LabSecrets, programCommands, ProgramRun, RemoteCommand, replayPlan, ReplayStep, runRemote } from "./engine";
import { RunResult } from "./exec";
import { readNodeFile, writeNodeFile } from "./node";
import { renderPartnerSide } from "./partnerSide";
import { CmdlineWatch, secretNeedles } from "./secretScan";
import { ServerGroup, startServers } from "./servers";
import { swanctl, waitEstablished } from "./strongswan";
import { instanceListeners, labHostAddress, LabFixture, LabPartnerPlan, labPsk, modelFor, partnerListeners, withAddedHost } from "./stackLab";
import { ensureLabImage, LabImage } from "./image";
import { waitPlutoIke } from "./libreswan";
import { buildLab, emulateXfrmSourceSelection, iptablesIn, Lab, LabPartner, teardownLab } from "./topology";

export interface PartnerRun {
    readonly plan: LabPartnerPlan;
    readonly lab: LabPartner;
    readonly psk: string;
    /** The partner as the current config has it. */
    model: PartnerModel;
    /** The apply command the engine last completed (its delete is what a replacement runs). */
    apply: RemoteCommand;
    /** The apply command of the first provisioning (an older generation, for the removal check). */
    readonly firstApply: RemoteCommand;
    servers: ServerGroup;
}

export interface PushRecord {
    readonly what: string;
    readonly command: string;
    readonly phase: "create" | "delete";
    readonly code: number | null;
    readonly seconds: number;
    /** The scripts' own `partner-vpn:` lines (they never print secrets). */
    readonly log: readonly string[];
}

export interface StackSession {
    readonly fixture: LabFixture;
    readonly lab: Lab;
    readonly secrets: LabSecrets;
    readonly partners: PartnerRun[];
    readonly instanceServers: ServerGroup[];
    values: Record<string, string>;
    model: StackModel;
    program: ProgramRun;
    readonly pushes: PushRecord[];
    /** What the lab did instead of production, and what it skipped: printed with the report. */
    readonly notes: string[];
    readonly cmdlines: CmdlineWatch;
    /** Headline numbers for the report's summary (failed requests ours vs naive, ...). */
    readonly highlights: Record<string, string>;
}

export function scriptLog(r: RunResult): string[] {
    return `${r.stderr}\n${r.stdout}`.split("\n").filter((l) => l.startsWith("partner-vpn:")).map((l) => l.trim());
}

/** Runs one command phase over ssh, watching every process's argv for the secrets while it runs. */
export async function runPhase(s: StackSession, what: string, cmd: RemoteCommand, phase: "create" | "delete", stdin = cmd.stdin): Promise<RunResult> {
    const command = phase === "create" ? cmd.create : cmd.delete;
    if (command === undefined) throw new Error(`${cmd.name} has no ${phase} command`);
    const start = Date.now();
    s.cmdlines.start();
    let r: RunResult;
    try {
        r = await runRemote(s.lab, cmd.connection, command, phase === "create" ? stdin : undefined);
    } finally {
        s.cmdlines.stop();
        s.cmdlines.sweep(); // and once after
    }
    s.pushes.push({ what, command: `${cmd.name} ${phase}`, phase, code: r.code, seconds: (Date.now() - start) / 1000, log: scriptLog(r) });
    return r;
}

export async function runPhaseOk(s: StackSession, what: string, cmd: RemoteCommand, phase: "create" | "delete"): Promise<RunResult> {
    const r = await runPhase(s, what, cmd, phase);
    if (r.code !== 0) throw new Error(`${cmd.name} ${phase} failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}):\n${scriptLog(r).join("\n") || r.stderr.slice(-2000)}`);
    return r;
}

export function partnerModel(s: StackSession, name: string): PartnerModel {
    const p = s.model.partners.find((x) => x.name === name);
    if (!p) throw new Error(`no partner ${name} in the current config`);
    return p;
}

/** Waits until every child of the partner's current config is installed (and, in classic-proxy
 *  mode, makes the endpoint's own traffic leave with the private IP as on a production endpoint).
 *  A Libreswan endpoint: until pluto completed IKE with the partner (its IPsec SAs cannot be
 *  installed on this kernel, lab/README.md "Libreswan"). */
export async function settle(s: StackSession, p: PartnerRun, timeoutMs = 30_000): Promise<void> {
    if (p.model.ipsecDaemon === "libreswan") {
        await waitPlutoIke(p.lab.ep, Math.max(timeoutMs, 60_000));
        return;
    }
    const children = p.model.remoteHosts.map((h) => swanctlChildName(p.model.name, h));
    await waitEstablished(p.lab.ep, swanctlConnectionName(p.model.name), children, timeoutMs);
    if (s.model.mode === "classic-proxy") await emulateXfrmSourceSelection(p.lab);
}

/** Partner servers for the current config (proxies may name new ports), restarted when they differ. */
async function ensurePartnerServers(p: PartnerRun): Promise<void> {
    const want = partnerListeners(p.model, p.plan);
    const key = (ls: readonly { address: string; port: number; kind: string }[]) => ls.map((l) => `${l.kind}:${l.address}:${l.port}`).sort().join(",");
    if (key(want) === key(p.servers.listeners)) return;
    await p.servers.stop();
    p.servers = await startServers(p.lab.pgw, want);
}

/**
 * Evaluates `values` and replays what the engine would run to get there from the current state:
 * per partner, a replaced apply runs the new create, then the old delete. Returns the steps run.
 */
export async function replayChange(
    s: StackSession,
    values: Record<string, string>,
    what: string,
    hooks: { beforeOldDelete?: (step: ReplayStep) => Promise<void> } = {},
): Promise<ReplayStep[]> {
    const next = await programCommands(values, s.secrets);
    const steps = replayPlan(s.program.commands, next.commands);
    s.values = values;
    s.model = modelFor(values);
    s.program = next;
    for (const p of s.partners) {
        p.model = partnerModel(s, p.plan.name);
        await ensurePartnerServers(p);
    }
    // The engine runs independent resources concurrently: each partner's commands in their own
    // dependency order, the partners side by side (one partner's push never waits for another's).
    const byPartner = new Map<string, ReplayStep[]>();
    for (const step of steps) {
        const partner = step.name.replace(/-(bootstrap|apply)$/, "");
        byPartner.set(partner, [...(byPartner.get(partner) ?? []), step]);
    }
    await Promise.all([...byPartner.values()].map(async (own) => {
        for (const step of own) await replayStep(s, step, what, hooks);
    }));
    return steps;
}

/** The booted image for the fixture's endpoints (one OS per lab run: `--os` sets it for all). */
async function endpointImage(fixture: LabFixture): Promise<{ image: LabImage; user: string }> {
    const oses = [...new Set(fixture.model.partners.map((p) => p.os))];
    const users = [...new Set(fixture.model.partners.map((p) => p.sshUser))];
    if (oses.length !== 1 || users.length !== 1) throw new Error(`the lab boots one endpoint OS per run; the config has ${oses.join(", ")} (users ${users.join(", ")}): run it with --os`);
    return { image: await ensureLabImage(oses[0]), user: users[0] };
}

async function replayStep(s: StackSession, step: ReplayStep, what: string, hooks: { beforeOldDelete?: (step: ReplayStep) => Promise<void> }): Promise<void> {
    if (step.action === "create" || step.action === "update" || step.action === "replace") await runPhaseOk(s, what, step.next as RemoteCommand, "create");
    if (step.action === "replace" || step.action === "delete") {
        const previous = step.previous as RemoteCommand;
        if (previous.deleteBeforeReplace) throw new Error(`${previous.name} has deleteBeforeReplace; the lab replays create-before-delete only`);
        await hooks.beforeOldDelete?.(step);
        await runPhaseOk(s, `${what} (old delete)`, previous, "delete");
    }
    const partner = s.partners.find((p) => step.name === `${p.plan.name}-apply`);
    if (partner && step.next) partner.apply = step.next;
}

export async function startSession(fixture: LabFixture, options: { scratchRoot?: string } = {}): Promise<StackSession> {
    const imageStart = Date.now();
    const booted = await endpointImage(fixture);
    const imageSeconds = (Date.now() - imageStart) / 1000;
    const lab = await buildLab(fixture.spec, { scratchRoot: options.scratchRoot, endpointImage: booted });
    const imageNote = booted.image.cached
        ? `endpoint image ${booted.image.os}: from the cache (${imageSeconds.toFixed(1)} s); it was built in ${describeSteps(booted.image)}`
        : `endpoint image ${booted.image.os}: built now in ${imageSeconds.toFixed(0)} s (${describeSteps(booted.image)}); later runs reuse it`;
    try {
        return await provision(fixture, lab, imageNote);
    } catch (err) {
        teardownLab(lab);
        throw err;
    }
}

async function provision(fixture: LabFixture, lab: Lab, imageNote: string): Promise<StackSession> {
    const notes = [imageNote, ...lab.notes];
    const psks = Object.fromEntries(fixture.partners.map((p) => [p.name, labPsk()]));
    const secrets: LabSecrets = { psks, sshPrivateKey: fs.readFileSync(lab.keys.clientKey, "utf8") };
    // The remote commands connect to the tunnel EIP (no bastion): an administrator in adminCidrs
    // reaches it from outside. The lab's admin node sits on the subnet, so igw hairpins its SSH
    // (tunnel EIP -> private IP, source rewritten to igw so the reply returns the same way).
    for (const p of lab.spec.partners) {
        await iptablesIn(lab.igw, ["-t", "nat", "-A", "PREROUTING", "-i", "vpc0", "-s", `${lab.spec.adminIp}/32`, "-d", `${p.tunnelIp}/32`, "-p", "tcp", "--dport", "22", "-j", "DNAT", "--to-destination", p.privateIp]);
        await iptablesIn(lab.igw, ["-t", "nat", "-A", "POSTROUTING", "-o", "vpc0", "-s", `${lab.spec.adminIp}/32`, "-d", `${p.privateIp}/32`, "-p", "tcp", "--dport", "22", "-j", "SNAT", "--to-source", lab.spec.routerIp]);
    }
    notes.push(`ssh from the admin node ${lab.spec.adminIp} to a tunnel EIP is hairpinned by igw to the endpoint's sshd (lab only; an adminCidrs address would come from outside).`);

    const instanceServers: ServerGroup[] = [];
    for (const inst of lab.instances) instanceServers.push(await startServers(inst.node, instanceListeners(fixture.model, inst.ip)));
    const partnerServers: ServerGroup[] = [];
    for (const plan of fixture.partners) {
        const lp = lab.partners.find((x) => x.spec.name === plan.name) as LabPartner;
        const side = renderPartnerSide({ ...plan.partnerSide, psk: psks[plan.name] });
        await writeNodeFile(lp.pgw, "/etc/swanctl/conf.d/partner.conf", side.swanctlConf, "0600");
        const r = await swanctl(lp.pgw, ["--load-all", "--noprompt"]);
        if (r.code !== 0) throw new Error(`the partner side of ${plan.name} did not load: ${r.stdout}${r.stderr}`);
        const model = fixture.model.partners.find((x) => x.name === plan.name) as PartnerModel;
        partnerServers.push(await startServers(lp.pgw, partnerListeners(model, plan)));
    }

    const program = await programCommands(fixture.values, secrets);
    for (const w of program.warnings) notes.push(`the program warned: ${w}`);
    const session: StackSession = {
        fixture, lab, secrets, instanceServers, values: { ...fixture.values }, model: fixture.model, program,
        partners: [], pushes: [], notes, highlights: {},
        cmdlines: new CmdlineWatch(Object.values(psks).flatMap(secretNeedles)),
    };
    fixture.partners.forEach((plan, i) => {
        const lp = lab.partners.find((x) => x.spec.name === plan.name) as LabPartner;
        const apply = commandNamed(program, `${plan.name}-apply`);
        session.partners.push({ plan, lab: lp, psk: psks[plan.name], model: partnerModel(session, plan.name), apply, firstApply: apply, servers: partnerServers[i] });
    });

    // As the engine: each partner's commands in dependency order (bootstrap, then apply), the
    // partners concurrently.
    const byPartner = new Map<string, RemoteCommand[]>();
    for (const cmd of program.commands) {
        if (cmd.connection.privateKey.trim() !== secrets.sshPrivateKey.trim()) throw new Error(`${cmd.name}: the connection's private key is not the sshPrivateKey the lab configured`);
        if (cmd.connection.proxyHost) throw new Error(`${cmd.name}: connects through a bastion, which the lab does not have`);
        const partner = cmd.name.replace(/-(bootstrap|apply)$/, "");
        byPartner.set(partner, [...(byPartner.get(partner) ?? []), cmd]);
    }
    await Promise.all([...byPartner.values()].map(async (own) => {
        for (const cmd of own) await runPhaseOk(session, "provision", cmd, "create");
    }));
    for (const p of session.partners) await settle(session, p);
    return session;
}

function describeSteps(image: LabImage): string {
    return Object.entries(image.steps).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(", ");
}

/** Replays the change to `values` unless the session is already there; then waits for every tunnel. */
export async function ensureConfig(s: StackSession, values: Record<string, string>, what: string): Promise<void> {
    if (JSON.stringify(s.values) !== JSON.stringify(values)) await replayChange(s, values, what);
    for (const p of s.partners) await settle(s, p);
}

/** The fixture's config with the add-a-host change: every partner gets its spare host. */
export function withSpareHosts(s: StackSession): Record<string, string> {
    return s.fixture.partners.reduce((values, plan) => withAddedHost(values, plan.name, plan.spareHost), { ...s.fixture.values });
}

/** Tears the session's lab down (processes, namespaces, scratch folder). */
export function endSession(s: StackSession, options: { keep?: boolean } = {}): void {
    s.cmdlines.stop(true);
    if (!options.keep) teardownLab(s.lab);
}

/** The in-node paths of a partner's files, for checks. */
export async function generationOn(p: PartnerRun): Promise<string> {
    return (await readNodeFile(p.lab.ep, `/etc/partner-vpn/${p.plan.name}/generation`).catch(() => "absent")).trim();
}

export { labHostAddress };
