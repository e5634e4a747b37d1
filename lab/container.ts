/**
 * A booted endpoint: the node's network namespace with a Debian image booted in it by
 * systemd-nspawn (systemd as PID 1, journald, sshd, and whatever the bootstrap enables). The image
 * is the cached one (lab/image.ts) under a per-node overlay, so the cache stays pristine and each
 * node writes only its own upper layer.
 *
 * The node's `holder` is the container's PID 1: `inNode` (nsenter -m -n) then runs a command with
 * the image's own binaries and files, exactly as a command sent over ssh sees them.
 *
 * What the lab does that EC2 and cloud-init do on a real instance: create the login user with the
 * key pair's public key and passwordless sudo (cloud-init's 90-cloud-init-users), and set the host
 * name. The lab's deviations from production are LAB_DEVIATIONS, written here and nowhere else.
 */
import * as fs from "fs";
import * as path from "path";
import { registerMount, unregisterMount } from "./cleanup";
import { CommandError, LongRunning, run, runSync, runSyncResult, spawnLongRunning, waitFor } from "./exec";
import type { LabImage } from "./image";
import { inNode, LabNode } from "./node";

/** The lab's only deviations from a production endpoint, with the file each one writes. */
export const LAB_DEVIATIONS: readonly { readonly why: string; readonly path?: string; readonly content?: string }[] = [
    {
        why: "libcharon-extra-plugins (strongSwan's kernel-libipsec plugin) is installed in the image before the bootstrap runs (lab/image.ts LAB_PACKAGES); the bootstrap does not install it.",
    },
    {
        why: "strongSwan loads kernel-libipsec (userspace ESP over /dev/net/tun): this kernel has no ESP (CONFIG_INET_ESP unset). A drop-in, read by charon-systemd from the image's own packages.",
        path: "/etc/strongswan.d/charon/zz-partner-vpn-lab-kernel-libipsec.conf",
        content: "# partner-vpn lab only: this kernel has no ESP, so ESP runs in userspace over TUN.\nkernel-libipsec {\n    load = yes\n}\n",
    },
    {
        why: "systemd-nspawn is told SYSTEMD_NSPAWN_API_VFS_WRITABLE=network, so the image may write its own network namespace's /proc/sys/net (the bootstrap's forwarding settings, and systemd-sysctl.service's net.* keys at boot) but not the host's kernel.* keys. The network namespace outlives the image's reboot, so at power-off the lab puts the net.* keys the bootstrap sets back to a fresh kernel's values (KERNEL_NET_DEFAULTS): only the image's own boot can restore them.",
    },
    {
        why: "the metrics publisher (partner-vpn-metrics.timer) has an AWS API and IMDS to talk to only during the metrics check, where the lab serves moto_server and a minimal IMDSv2 in the endpoint's namespace; at other times its runs fail (no route to AWS), which the bootstrap check shows and does not count as a failed unit.",
    },
    {
        why: "the NAT IP is on the endpoint's lo (kernel-libipsec refuses a CHILD_SA unless an address of its local traffic selector is local; production must not have it). Set in the node's network namespace, outside the image.",
    },
];

export interface BootedEndpoint {
    readonly node: LabNode;
    readonly image: LabImage;
    /** The overlay's merged root the container boots. */
    readonly root: string;
    /** systemd-nspawn, replaced at each reboot. */
    nspawn: LongRunning;
    /** Boots so far (1 after the first). */
    boots: number;
}

function nspawnArgv(node: LabNode, root: string): string[] {
    return [
        "systemd-nspawn", "-D", root, "-b", "--register=no", "--keep-unit", `--machine=${node.ns}`,
        `--network-namespace-path=/run/netns/${node.ns}`, "--bind=/dev/net/tun",
        "--capability=CAP_NET_ADMIN,CAP_NET_RAW", "--console=read-only",
    ];
}

/** Mounts the node's overlay of the image and does cloud-init's part: user, key, sudo, hostname. */
export function prepareRoot(node: LabNode, image: LabImage, user: string, publicKey: string): string {
    const root = path.join(node.dir, "root");
    for (const d of ["root", "root-upper", "root-work"]) fs.mkdirSync(path.join(node.dir, d), { recursive: true });
    runSync(["mount", "-t", "overlay", "pvl-image", "-o", `lowerdir=${image.rootfs},upperdir=${node.dir}/root-upper,workdir=${node.dir}/root-work`, root]);
    registerMount(root);
    fs.writeFileSync(path.join(root, "etc", "hostname"), `${node.name}\n`);
    fs.appendFileSync(path.join(root, "etc", "hosts"), `127.0.1.1\t${node.name}\n`);
    let home = "/root";
    if (user !== "root") {
        runSync(["chroot", root, "useradd", "--create-home", "--shell", "/bin/bash", user]);
        home = `/home/${user}`;
        fs.writeFileSync(path.join(root, "etc", "sudoers.d", "90-cloud-init-users"), `# as cloud-init writes it on EC2\n${user} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
    }
    const ssh = path.join(root, home.slice(1), ".ssh");
    fs.mkdirSync(ssh, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(ssh, "authorized_keys"), `${publicKey}\n`, { mode: 0o600 });
    runSync(["chroot", root, "chown", "-R", `${user}:${user}`, `${home}/.ssh`]);
    for (const d of LAB_DEVIATIONS) {
        if (!d.path || d.content === undefined) continue;
        fs.mkdirSync(path.join(root, path.dirname(d.path)), { recursive: true });
        fs.writeFileSync(path.join(root, d.path), d.content);
    }
    return root;
}

/** The container's PID 1: the child of systemd-nspawn that runs systemd. */
function containerInit(nspawnPid: number): number | undefined {
    const children = fs.readdirSync(`/proc/${nspawnPid}/task`).flatMap((t) => {
        try {
            return fs.readFileSync(`/proc/${nspawnPid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
        } catch {
            return [];
        }
    });
    return children.find((pid) => {
        try {
            return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "systemd";
        } catch {
            return false;
        }
    });
}

async function boot(ep: BootedEndpoint, timeoutMs: number): Promise<void> {
    const proc = spawnLongRunning(nspawnArgv(ep.node, ep.root), undefined, { SYSTEMD_NSPAWN_API_VFS_WRITABLE: "network" });
    ep.nspawn = proc;
    const init = await waitFor(`${ep.node.name}: systemd-nspawn's container`, async () => {
        if (proc.child.exitCode !== null) throw new Error(`systemd-nspawn exited ${proc.child.exitCode}: ${proc.output().slice(-2000)}`);
        return containerInit(proc.pid);
    }, timeoutMs, 100);
    ep.node.holder = { ...proc, pid: init };
    ep.node.booted = true;
    ep.boots += 1;
    await waitFor(`${ep.node.name}: sshd listening`, async () => {
        if (proc.child.exitCode !== null) throw new Error(`the container stopped: ${proc.output().slice(-2000)}`);
        const r = await run(inNode(ep.node, ["ss", "-Hltn", "sport = :22"]), { timeoutMs: 3000 });
        return r.code === 0 && r.stdout.includes(":22") ? true : undefined;
    }, timeoutMs, 200);
}

/** Boots the image in the node's network namespace; resolves once sshd listens. */
export async function bootEndpoint(node: LabNode, image: LabImage, user: string, publicKey: string, timeoutMs = 90_000): Promise<BootedEndpoint> {
    const root = prepareRoot(node, image, user, publicKey);
    const ep: BootedEndpoint = { node, image, root, nspawn: undefined as unknown as LongRunning, boots: 0 };
    await boot(ep, timeoutMs);
    return ep;
}

/** The host pid of a process named `comm` in the container (same mount namespace as its PID 1). */
export function containerProcess(ep: BootedEndpoint, comm: string): number | undefined {
    const init = ep.node.holder?.pid;
    if (init === undefined) return undefined;
    const mnt = fs.readlinkSync(`/proc/${init}/ns/mnt`);
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            if (fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm && fs.readlinkSync(`/proc/${entry}/ns/mnt`) === mnt) return Number(entry);
        } catch {
            // exited meanwhile
        }
    }
    return undefined;
}

/** systemd's state in the container: `running`, `degraded` (a unit failed), `starting`, ... */
export async function systemState(ep: BootedEndpoint): Promise<string> {
    const r = await run(inNode(ep.node, ["systemctl", "is-system-running"]), { timeoutMs: 10_000 });
    return r.stdout.trim();
}

/**
 * A real reboot: `reboot` (sent by the caller, e.g. over ssh) makes systemd stop every unit and
 * exit; systemd-nspawn exits 133 ("reboot"), and the lab, in the hypervisor's role, boots the same
 * root again (what systemd-nspawn@.service does with RestartForceExitStatus=133). Returns when
 * sshd listens again, with the seconds the shutdown and the boot took.
 */
export async function awaitReboot(
    ep: BootedEndpoint,
    timeoutMs = 120_000,
): Promise<{ shutdownSeconds: number; bootSeconds: number; exitCode: number | null; wiped: string; resetSysctls: Record<string, string> }> {
    const start = Date.now();
    const exitCode = await Promise.race([ep.nspawn.exited, new Promise<null>((r) => setTimeout(() => r(null), timeoutMs))]);
    if (ep.nspawn.child.exitCode === null) throw new Error(`${ep.node.name} did not shut down within ${timeoutMs} ms of the reboot`);
    if (exitCode !== 133) throw new Error(`${ep.node.name}: systemd-nspawn exited ${exitCode}, not 133 (reboot): ${ep.nspawn.output().slice(-2000)}`);
    const down = Date.now();
    const { wiped, resetSysctls } = powerCycleNetwork(ep.node);
    await boot(ep, timeoutMs);
    return { shutdownSeconds: (down - start) / 1000, bootSeconds: (Date.now() - down) / 1000, exitCode, wiped, resetSysctls };
}

/**
 * A freshly booted Linux kernel's values of the net.* keys the bootstrap sets
 * (/etc/sysctl.d/90-partner-vpn.conf): forwarding off, redirects sent, no reverse-path filter.
 */
export const KERNEL_NET_DEFAULTS: Readonly<Record<string, string>> = {
    "net.ipv4.ip_forward": "0",
    "net.ipv4.conf.all.send_redirects": "1",
    "net.ipv4.conf.default.send_redirects": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
};

/**
 * What a reboot does to a kernel's network state that the namespace (it outlives the container)
 * would otherwise keep: every iptables table, the conntrack table and the policy routes
 * kernel-libipsec installed (table 220) are gone, and the net.* sysctls are a fresh kernel's
 * (KERNEL_NET_DEFAULTS). Addresses and routes stay: on EC2 they come back from the VPC (DHCP) at
 * every boot, and the lab plays the VPC. Returns what was wiped and the sysctls as reset.
 */
export function powerCycleNetwork(node: LabNode): { wiped: string; resetSysctls: Record<string, string> } {
    const inNs = (argv: string[]) => ["ip", "netns", "exec", node.ns, ...argv];
    const rules = runSync(inNs(["iptables-save"])).split("\n").filter((l) => l.startsWith("-A ")).length;
    for (const table of ["nat", "filter", "mangle", "raw"]) {
        runSync(inNs(["iptables", "-w", "5", "-t", table, "-F"]));
        runSync(inNs(["iptables", "-w", "5", "-t", table, "-X"]));
    }
    for (const chain of ["INPUT", "FORWARD", "OUTPUT"]) runSync(inNs(["iptables", "-w", "5", "-P", chain, "ACCEPT"]));
    try {
        runSync(inNs(["conntrack", "-F"]));
    } catch {
        // an empty table
    }
    // Table 220 exists once kernel-libipsec installed a route (strongSwan); not on a Libreswan endpoint.
    const flush = runSyncResult(inNs(["ip", "route", "flush", "table", "220"]));
    if (flush.code !== 0 && !/table does not exist/.test(flush.stderr)) throw new CommandError(inNs(["ip", "route", "flush", "table", "220"]), flush);
    const resetSysctls: Record<string, string> = {};
    for (const [key, value] of Object.entries(KERNEL_NET_DEFAULTS)) {
        runSync(inNs(["sysctl", "-qw", `${key}=${value}`]));
        resetSysctls[key] = runSync(inNs(["sysctl", "-n", key])).trim();
    }
    return { wiped: `${rules} iptables rules, the conntrack table, routing table 220 and the net.* sysctls`, resetSysctls };
}

/**
 * Powers a crashed endpoint on again from the same root: EC2's recovery (the status-check alarm's
 * `recover` action) boots the instance on other hardware from the same EBS volume, with a fresh
 * kernel (powerCycleNetwork). Returns the seconds until sshd listened.
 */
export async function powerOnAgain(ep: BootedEndpoint, timeoutMs = 120_000): Promise<number> {
    const stopped = await Promise.race([ep.nspawn.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    if (!stopped) throw new Error(`${ep.node.name} is still running: power it off (or crash it) first`);
    powerCycleNetwork(ep.node);
    const start = Date.now();
    await boot(ep, timeoutMs);
    return (Date.now() - start) / 1000;
}

/**
 * A new machine in the old one's place, as `pulumi up` replaces an instance (a new AMI): the old
 * one is shut down and its disk discarded; the new one boots `image` with a fresh root at the same
 * address (the node's namespace), the login user and key as cloud-init would set them.
 */
export async function replaceEndpoint(ep: BootedEndpoint, image: LabImage, user: string, publicKey: string, timeoutMs = 120_000): Promise<BootedEndpoint> {
    if (ep.nspawn.child.exitCode === null && ep.nspawn.child.signalCode === null) await ep.nspawn.stop(30_000);
    runSync(["umount", "-l", ep.root]);
    unregisterMount(ep.root);
    for (const d of ["root-upper", "root-work"]) fs.rmSync(path.join(ep.node.dir, d), { recursive: true, force: true });
    powerCycleNetwork(ep.node);
    return bootEndpoint(ep.node, image, user, publicKey, timeoutMs);
}

/** Powers the container off and unmounts its root. */
export async function stopEndpoint(ep: BootedEndpoint): Promise<void> {
    await ep.nspawn.stop(15_000);
    runSync(["umount", "-l", ep.root]);
    unregisterMount(ep.root);
}
