/**
 * Can this machine run the lab? Root, the tools, the strongSwan plugin that does ESP in userspace,
 * a TUN device and network namespaces. Tests skip with the returned reason (or fail when the lab
 * is required); scripts print it.
 */
import * as fs from "fs";
import { runSyncResult } from "./exec";
import * as crypto from "crypto";
import { CHARON_BINARY } from "./strongswan";

// conntrack: the endpoint scripts use it (bootstrap installs it), so the lab has it too.
// debootstrap, dpkg-scanpackages, systemd-nspawn, flock: the booted endpoint images (lab/image.ts, lab/container.ts).
const REQUIRED_COMMANDS = ["ip", "iptables", "iptables-save", "iptables-restore", "nsenter", "unshare", "swanctl", "ssh", "ssh-keygen", "curl", "socat", "ss", "sysctl", "conntrack",
    "debootstrap", "dpkg-scanpackages", "systemd-nspawn", "flock"];
const REQUIRED_FILES = [
    CHARON_BINARY,
    "/usr/sbin/sshd",
    "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so",
    "/dev/net/tun",
];

function commandExists(cmd: string): boolean {
    return runSyncResult(["sh", "-c", `command -v ${cmd}`], { timeoutMs: 5000 }).code === 0;
}

/** Undefined when the lab can run here; otherwise why not. */
export function labUnavailableReason(): string | undefined {
    if (process.platform !== "linux") return `needs Linux, this is ${process.platform}`;
    if (process.getuid?.() !== 0) return "needs root (network namespaces, iptables, mounts)";
    const missingCommands = REQUIRED_COMMANDS.filter((c) => !commandExists(c));
    const missingFiles = REQUIRED_FILES.filter((f) => !fs.existsSync(f));
    if (missingCommands.length || missingFiles.length) {
        return `missing: ${[...missingCommands, ...missingFiles].join(", ")} (Debian: strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins openssh-server openssh-client iptables iproute2 curl socat conntrack debootstrap dpkg-dev systemd-container util-linux)`;
    }
    const probe = `pvl-probe-${crypto.randomBytes(3).toString("hex")}`;
    const add = runSyncResult(["ip", "netns", "add", probe], { timeoutMs: 5000 });
    if (add.code !== 0) return `cannot create network namespaces: ${add.stderr.trim().split("\n")[0]}`;
    runSyncResult(["ip", "netns", "del", probe], { timeoutMs: 5000 });
    return undefined;
}
