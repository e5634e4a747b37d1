/**
 * SSH into the lab's endpoint nodes, the way a push reaches a real endpoint: sshd inside the
 * endpoint's network and private mount namespaces (so a command run over ssh sees that node's
 * /run, charon vici socket and overlaid /etc), root login by a lab-generated key only.
 * The ssh client runs in the lab's admin node on the VPC subnet (the bastion's role): no route
 * from the root namespace into the lab exists, and none is needed.
 */
import * as fs from "fs";
import * as path from "path";
import { LongRunning, run, RunResult, runSync, spawnLongRunning, waitFor } from "./exec";
import { inNode, LabNode } from "./node";
import { inNetns } from "./netns";

export interface LabSshKeys {
    readonly dir: string;
    /** Client private key (OpenSSH format) used to log in as root on every endpoint node. */
    readonly clientKey: string;
    readonly clientPublicKey: string;
    readonly hostKey: string;
    readonly authorizedKeys: string;
}

/** Generates the lab's client and host key pairs (ed25519, no passphrase) into `dir`. */
export function generateSshKeys(dir: string): LabSshKeys {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const clientKey = path.join(dir, "client_ed25519");
    const hostKey = path.join(dir, "host_ed25519");
    for (const key of [clientKey, hostKey]) {
        if (!fs.existsSync(key)) runSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "partner-vpn-lab", "-f", key]);
    }
    const authorizedKeys = path.join(dir, "authorized_keys");
    fs.writeFileSync(authorizedKeys, fs.readFileSync(`${clientKey}.pub`), { mode: 0o600 });
    return { dir, clientKey, clientPublicKey: fs.readFileSync(`${clientKey}.pub`, "utf8").trim(), hostKey, authorizedKeys };
}

function sshdConfig(listenAddress: string, keys: LabSshKeys): string {
    // StrictModes off: the keys live under /tmp, whose sticky world-writable mode sshd would reject.
    return `ListenAddress ${listenAddress}:22
HostKey ${keys.hostKey}
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile ${keys.authorizedKeys}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
LogLevel VERBOSE
Subsystem sftp /usr/lib/openssh/sftp-server
`;
}

export interface LabSshd {
    readonly node: LabNode;
    readonly address: string;
    readonly process: LongRunning;
}

/** Starts sshd in the node's namespaces, listening on `address`:22. */
export async function startSshd(node: LabNode, address: string, keys: LabSshKeys): Promise<LabSshd> {
    const configPath = path.join(node.dir, "sshd_config");
    fs.writeFileSync(configPath, sshdConfig(address, keys), { mode: 0o600 });
    runSync(inNode(node, ["/usr/sbin/sshd", "-t", "-f", configPath]));
    const proc = spawnLongRunning(inNode(node, ["/usr/sbin/sshd", "-D", "-e", "-f", configPath]));
    await waitFor(
        `sshd in ${node.name}`,
        async () => {
            if (proc.child.exitCode !== null) throw new Error(`sshd exited: ${proc.output()}`);
            const r = await run(inNode(node, ["ss", "-Hltn", `src ${address}:22`]), { timeoutMs: 3000 });
            return r.stdout.includes(`${address}:22`) ? true : undefined;
        },
        10_000,
        100,
    );
    return { node, address, process: proc };
}

/** ssh client options: key only, no host key bookkeeping (lab host keys change every run), bounded. */
export function sshClientOptions(keys: LabSshKeys): string[] {
    return [
        "-i", keys.clientKey,
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR",
        "-o", "ConnectTimeout=5",
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=2",
    ];
}

/**
 * Runs a script as root on an endpoint over ssh (`bash -s`, script on stdin), from the admin node.
 * This is how a push reaches the endpoint; the script sees the endpoint node's own mounts.
 */
export function sshRun(adminNode: LabNode, keys: LabSshKeys, address: string, script: string, timeoutMs = 60_000): Promise<RunResult> {
    return run(inNetns(adminNode.ns, ["ssh", ...sshClientOptions(keys), `root@${address}`, "bash", "-s"]), {
        input: script,
        timeoutMs,
    });
}

/**
 * A ProxyCommand that lets an ssh client in the root namespace reach a lab endpoint through the
 * admin node's network stack (socat in the admin namespace; a pipe, not a network link).
 */
export function sshProxyCommand(adminNode: LabNode): string {
    return `ip netns exec ${adminNode.ns} socat STDIO TCP:%h:%p,connect-timeout=5`;
}
