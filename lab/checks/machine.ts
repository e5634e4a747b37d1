/**
 * The endpoint as a machine (a booted Debian image, lab/container.ts):
 * - bootstrap: it ran over SSH as the configured user through sudo, against the image's local
 *   apt repository, and left what it promises: packages, enabled and running units, sysctls; a
 *   package it does not name is really missing (negative control).
 * - reboot: a real reboot (`sudo systemctl reboot` over ssh; systemd stops every unit; the lab, as
 *   the hypervisor, boots the image again with the kernel's network state wiped): the boot unit
 *   restores NAT, charon-systemd and nginx start, the tunnels come back; time to first answer.
 */
import * as fs from "fs";
import * as path from "path";
import type { IpsecDaemon } from "../../core/model";
import { libreswanConnName, swanctlConnectionName } from "../../core/render";
import { PLUTO_SA_REFUSED, plutoJournal, waitPlutoIke } from "../libreswan";
import { natChainNames } from "../../core/render/nat";
import type { CheckDefinition, Recorder } from "../checkResult";
import { awaitReboot, systemState, type BootedEndpoint } from "../container";
import { runRemote } from "../engine";
import { run, sleep, waitFor } from "../exec";
import { outboundFlows, sendFlow } from "../flows";
import { inNode, runInNode, runInNodeOk } from "../node";
import { settle, type PartnerRun, type StackSession } from "../stackSession";
import { client, recordFlows } from "./connectivity";

const BOOTSTRAP = path.join(__dirname, "..", "..", "scripts", "endpoint", "bootstrap.sh");

/** The metrics publisher's unit (issue 13), whose AWS API the lab serves only in the metrics check. */
const METRICS_UNIT = "partner-vpn-metrics.service";

/** A package the bootstrap does not name and the image does not have: apt must not find it. */
const NOT_NAMED = "libstrongswan-extra-plugins";

/** The packages bootstrap.sh names for an endpoint of this mode, IPsec daemon and pairing (its own
 *  lists: the first `packages=(...)` for strongSwan, the one naming libreswan for Libreswan, then
 *  each `packages+=(...)` whose `if` applies: classic-proxy's `"$mode" = classic-proxy`, a pair's `-n "$ha"`). */
export function promisedPackages(mode: string, daemon: IpsecDaemon = "strongswan", script = fs.readFileSync(BOOTSTRAP, "utf8"), pair = false): string[] {
    const words = (text: string) => text.split(/\s+/).filter(Boolean);
    const lists = [...script.matchAll(/\bpackages=\(([^)]*)\)/g)].map((m) => words(m[1]));
    const base = daemon === "libreswan" ? lists.find((l) => l.includes("libreswan")) : lists[0];
    if (!base) throw new Error(`bootstrap.sh has no packages=(...) list${daemon === "libreswan" ? " naming libreswan" : ""}`);
    const applies = (condition: string) => (condition.includes('"$mode" = classic-proxy') && mode === "classic-proxy") || (condition.includes('-n "$ha"') && pair);
    const extra = [...script.matchAll(/\bif \[ ([^\]]*) \]; then\n(?:\s*#[^\n]*\n)*\s*packages\+=\(([^)]*)\)/g)].filter((m) => applies(m[1])).flatMap((m) => words(m[2]));
    return [...base, ...extra];
}

/** The unit of the partner's IPsec daemon, as bootstrap.sh enables it. */
export function ipsecUnit(daemon: IpsecDaemon): string {
    return daemon === "libreswan" ? "ipsec.service" : "strongswan.service";
}

function booted(p: PartnerRun): BootedEndpoint {
    if (!p.lab.booted) throw new Error(`${p.plan.name}: the endpoint is not a booted image`);
    return p.lab.booted;
}

async function out(p: PartnerRun, argv: string[]): Promise<string> {
    return (await runInNode(p.lab.ep, argv, { timeoutMs: 30_000 })).stdout.trim();
}

async function recordBootstrap(s: StackSession, p: PartnerRun, rec: Recorder): Promise<void> {
    const name = p.plan.name;
    const push = s.pushes.find((x) => x.command === `${name}-bootstrap create`);
    const user = p.model.sshUser;
    rec.measure(`${name}: bootstrap over ssh as ${user} (${user === "root" ? "root" : "sudo -n"})`, push ? `exit ${push.code}, ${push.seconds.toFixed(1)} s: ${push.log.join(" | ")}` : "never ran", push?.code === 0 && push.log.some((l) => /bootstrap complete/.test(l)));
    const sources = await out(p, ["sh", "-c", "cat /etc/apt/sources.list; ls /etc/apt/sources.list.d"]);
    rec.equal(`${name}: apt's only source (the lab's local repository)`, sources, "deb [trusted=yes] file:/srv/pvl-mirror ./");
    const daemon = p.model.ipsecDaemon;
    const promised = promisedPackages(s.model.mode, daemon, undefined, p.model.ha !== undefined);
    const status = await out(p, ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n", ...promised]);
    const installed = promised.filter((pkg) => new RegExp(`^${pkg.replace(/[.+]/g, "\\$&")} installed$`, "m").test(status));
    rec.equal(`${name}: packages the bootstrap names, installed`, installed.join(" "), promised.join(" "));
    const missing = await run(inNode(p.lab.ep, ["apt-get", "install", "-s", "-q", "--no-install-recommends", NOT_NAMED]), { timeoutMs: 60_000 });
    rec.measure(`${name}: a package the bootstrap does not name (${NOT_NAMED}) is not available (negative control)`, `exit ${missing.code}: ${missing.stderr.trim().split("\n").pop()}`, missing.code !== 0 && /Unable to locate|no installation candidate/.test(missing.stderr));
    const units = ["partner-vpn-boot.service", ipsecUnit(daemon), ...(s.model.mode === "classic-proxy" ? ["nginx.service"] : [])];
    const enabled = (await out(p, ["systemctl", "is-enabled", ...units])).split("\n");
    rec.equal(`${name}: enabled units (${units.join(", ")})`, enabled, units.map(() => "enabled"));
    const running = units.filter((u) => u !== "partner-vpn-boot.service");
    rec.equal(`${name}: active units (${running.join(", ")})`, (await out(p, ["systemctl", "is-active", ...running])).split("\n"), running.map(() => "active"));
    const sysctls = await promisedSysctls(p);
    const live = await Promise.all(sysctls.map(async (kv) => `${kv.split("=")[0]}=${await out(p, ["sysctl", "-n", kv.split("=")[0]])}`));
    rec.equal(`${name}: sysctls the bootstrap writes, live`, live, sysctls);
    if (daemon === "libreswan") await recordPluto(p, rec);
    else {
        const plugins = /loaded plugins: (.*)/.exec(await out(p, ["swanctl", "--stats"]))?.[1] ?? "";
        rec.measure(`${name}: charon-systemd's plugins include openssl (standard plugins) and kernel-libipsec (lab)`, plugins, /\bopenssl\b/.test(plugins) && /\bkernel-libipsec\b/.test(plugins));
    }
    // The metrics publisher's timer fires from the first apply on; the lab serves an AWS API (moto)
    // and IMDS only during the metrics check, so outside it the publisher cannot but fail (a
    // LAB_DEVIATIONS entry). Every other unit must be fine; the publisher's state is shown.
    const failed = (await out(p, ["systemctl", "--failed", "--plain", "--no-legend"])).split("\n").filter(Boolean);
    const others = failed.filter((l) => !l.startsWith(`${METRICS_UNIT} `));
    rec.equal(`${name}: failed units (apart from ${METRICS_UNIT}, which has no AWS API here outside the metrics check)`, others.join("; ") || "none", "none");
    rec.info(`${name}: ${METRICS_UNIT}`, `${await out(p, ["systemctl", "is-active", METRICS_UNIT])}; last log line: ${await out(p, ["sh", "-c", `journalctl -b -u ${METRICS_UNIT} -n 1 --no-pager -o cat 2>/dev/null || true`])}`);
    rec.info(`${name}: OS`, await out(p, ["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]));
}

/** Libreswan from the image's own package: its version, the conns pluto holds, IKE with the
 *  partner, and where this kernel stops it (the IPsec SA: no ESP). */
async function recordPluto(p: PartnerRun, rec: Recorder): Promise<void> {
    const name = p.plan.name;
    rec.info(`${name}: Libreswan`, await out(p, ["sh", "-c", "ipsec --version 2>&1 | head -1"]));
    const status = await out(p, ["ipsec", "whack", "--status"]);
    const want = p.model.remoteHosts.map((h) => libreswanConnName(name, h));
    rec.equal(`${name}: conns pluto holds (ipsec whack --status)`, want.filter((c) => status.includes(`"${c}":`)), want);
    const ike = await waitPlutoIke(p.lab.ep).catch((err: Error) => `never: ${err.message}`);
    rec.measure(`${name}: pluto completed IKE with the partner's gateway (journal)`, ike, !ike.startsWith("never"));
    const refused = PLUTO_SA_REFUSED.exec(await plutoJournal(p.lab.ep))?.[0];
    rec.info(`${name}: the IPsec SA on this kernel (no ESP; Libreswan has no userspace ESP)`, refused ? `not installable: ${refused}` : "no kernel refusal logged yet");
}

/** The machine checks need booted images (the bootstrap and a real reboot have nothing to act on otherwise). */
const unlessBooted = (s: StackSession): string | undefined => (s.partners.every((p) => p.lab.booted) ? undefined : "the endpoints are not booted images");

export const bootstrapCheck: CheckDefinition<StackSession> = {
    id: "bootstrap",
    title: "Bootstrap over SSH+sudo against the local apt repository: packages, units and sysctls it promises",
    skip: unlessBooted,
    run: async (s, rec) => {
        for (const p of s.partners) await recordBootstrap(s, p, rec);
    },
};

/** The bootstrap's sysctl file, as `key=value` pairs. */
async function promisedSysctls(p: PartnerRun): Promise<string[]> {
    const file = (await out(p, ["cat", "/etc/sysctl.d/90-partner-vpn.conf"])).split("\n");
    return file.map((l) => /^([\w.]+)\s*=\s*(\S+)/.exec(l.trim())).filter((m): m is RegExpExecArray => m !== null).map((m) => `${m[1]}=${m[2]}`);
}

/** After a reboot: the bootstrap's sysctls are back (systemd-sysctl at boot), though the lab had
 *  reset them to a fresh kernel's values at power-off (which must differ: else nothing is proven). */
async function recordSysctlsAfterBoot(p: PartnerRun, rec: Recorder, reset: Record<string, string>): Promise<void> {
    const name = p.plan.name;
    const promised = await promisedSysctls(p);
    const keys = promised.map((kv) => kv.split("=")[0]);
    const differing = promised.filter((kv) => reset[kv.split("=")[0]] !== undefined && `${kv.split("=")[0]}=${reset[kv.split("=")[0]]}` !== kv);
    rec.measure(`${name}: sysctls at power-off, a fresh kernel's (negative control: each differs from the bootstrap's)`, keys.map((k) => `${k}=${reset[k] ?? "not reset"}`).join(" "), differing.length === promised.length && promised.length > 0);
    const live = await Promise.all(keys.map(async (k) => `${k}=${await out(p, ["sysctl", "-n", k])}`));
    rec.equal(`${name}: sysctls after the boot (systemd-sysctl applied /etc/sysctl.d)`, live, promised);
}

async function recordReboot(s: StackSession, p: PartnerRun, rec: Recorder): Promise<void> {
    const name = p.plan.name;
    const ep = booted(p);
    const chains = natChainNames(name);
    const initBefore = ep.node.holder?.pid;
    const t0 = Date.now();
    const asked = await runRemote(s.lab, p.apply.connection, "sudo -n systemctl reboot", undefined, 30_000);
    rec.info(`${name}: \`sudo -n systemctl reboot\` over ssh`, `exit ${asked.code}`);
    const cycle = await awaitReboot(ep);
    rec.equal(`${name}: systemd-nspawn's exit (133: the image asked for a reboot)`, cycle.exitCode, 133);
    rec.info(`${name}: shutdown (systemd stopping every unit), then boot to sshd`, `${cycle.shutdownSeconds.toFixed(1)} s, ${cycle.bootSeconds.toFixed(1)} s`);
    rec.info(`${name}: wiped at power-off (a rebooted kernel has none of it)`, cycle.wiped);
    rec.measure(`${name}: a new PID 1`, `${initBefore} -> ${ep.node.holder?.pid}`, initBefore !== ep.node.holder?.pid);
    const state = await waitFor(`${name}: systemd to finish booting`, async () => {
        const st = await systemState(ep);
        return st === "starting" || st === "initializing" ? undefined : st;
    }, 90_000, 500);
    // "degraded" when any unit failed, the metrics publisher included (no AWS API here outside the
    // metrics check; its timer fires within seconds of the boot): the failed units are what counts.
    rec.info(`${name}: systemctl is-system-running`, state);
    const failed = (await out(p, ["systemctl", "--failed", "--plain", "--no-legend"])).split("\n").filter(Boolean);
    const others = failed.filter((l) => !l.startsWith(`${METRICS_UNIT} `));
    rec.equal(`${name}: failed units after the boot (apart from ${METRICS_UNIT}, which has no AWS API here outside the metrics check)`, others.join("; ") || "none", "none");
    const boot = await out(p, ["systemctl", "show", "-p", "ActiveState", "-p", "Result", "partner-vpn-boot.service"]);
    rec.equal(`${name}: partner-vpn-boot.service after the boot`, boot.split("\n").sort(), ["ActiveState=active", "Result=success"]);
    const said = (await out(p, ["journalctl", "-b", "-u", "partner-vpn-boot.service", "-o", "cat", "--no-pager"])).split("\n").filter((l) => l.startsWith("partner-vpn:"));
    rec.info(`${name}: the boot unit said`, said.join(" | ") || "(nothing)");
    const nat = await runInNodeOk(p.lab.ep, ["iptables-save", "-t", "nat"]);
    rec.equal(`${name}: NAT chains restored by the boot unit`, [chains.pre, chains.post].filter((c) => nat.includes(`-A ${c} `)), [chains.pre, chains.post]);
    const units = [ipsecUnit(p.model.ipsecDaemon), ...(s.model.mode === "classic-proxy" ? ["nginx.service"] : [])];
    rec.equal(`${name}: active after the boot (${units.join(", ")})`, (await out(p, ["systemctl", "is-active", ...units])).split("\n"), units.map(() => "active"));
    await recordSysctlsAfterBoot(p, rec, cycle.resetSysctls);
    if (p.model.ipsecDaemon === "libreswan") {
        const status = await out(p, ["ipsec", "whack", "--status"]);
        const want = p.model.remoteHosts.map((h) => libreswanConnName(name, h));
        rec.equal(`${name}: conns pluto holds after the boot`, want.filter((c) => status.includes(`"${c}":`)), want);
        const ike = await waitPlutoIke(p.lab.ep, 90_000).then(() => (Date.now() - t0) / 1000).catch(() => undefined);
        rec.measure(`${name}: seconds from the reboot command until pluto completed IKE with the partner again`, ike ?? "never", ike !== undefined);
        rec.info(`${name}: traffic after the boot`, "not measured: a Libreswan tunnel carries no packet on this kernel (no ESP; lab/README.md \"Libreswan\")");
        return;
    }
    const conns = await out(p, ["swanctl", "--list-conns"]);
    rec.measure(`${name}: ${swanctlConnectionName(name)} loaded in charon`, conns.includes(`${swanctlConnectionName(name)}:`) ? "loaded" : "not loaded", conns.includes(`${swanctlConnectionName(name)}:`));
    await settle(s, p, 60_000);
    const flow = outboundFlows(s.model, p.model, p.lab, client(s))[0];
    let back: number | undefined;
    for (let i = 0; i < 100 && back === undefined; i++) {
        if ((await sendFlow(flow, 2)).ok) back = (Date.now() - t0) / 1000;
        else await sleep(200);
    }
    rec.measure(`${name}: seconds from the reboot command until ${flow.label} answered`, back ?? "never", back !== undefined);
    await recordFlows(s, p, rec, `${name}: after the reboot: `, true);
}

export const rebootCheck: CheckDefinition<StackSession> = {
    id: "reboot",
    title: "Reboot (real): systemd stops and starts every unit, the boot unit restores NAT, tunnels and traffic come back",
    skip: unlessBooted,
    run: async (s, rec) => {
        for (const p of s.partners) await recordReboot(s, p, rec);
    },
};
