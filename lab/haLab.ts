/**
 * An active/standby pair in the lab, on booted endpoint images (lab/container.ts):
 *
 *   inst (172.16.0.10) --+                                     +-- pgw 198.51.100.2 (hosts on lo, charon)
 *   ep-a 172.16.0.5 -----+-- [sw-vpc] -- igw -- [sw-net] ------+
 *   ep-b 172.16.1.5 -----+   172.16.0.1, 172.16.1.1 | 198.51.100.1; moto_server on 172.16.0.1:5000
 *   adm 172.16.0.250 ----+   (bastion role: ssh to the private addresses)
 *
 * moto holds the EC2 state (lab/failoverAws.ts) and the lab's AWS network follows it, as AWS's
 * does: a follower (a boto3 poller in the moto chroot, every 200 ms) rewrites igw's 1:1 NAT for
 * the tunnel EIP to whichever interface moto associates it with, and the instance's routes to the
 * partner hosts to whichever interface moto's route table names; the member without the EIP goes
 * out with its own public address (as its auto-assigned one on EC2), and nothing from the internet
 * reaches a private address. The two members reach each other
 * directly on the switch (AWS's VPC router does not decrement TTL, and VRRP wants 255).
 * Each member has its own IMDSv2 (its interface's MAC and id, the pair role's credentials); the
 * failover script's one lab override, PVPN_EC2_URL, reaches keepalived's scripts through a
 * keepalived.service drop-in written into the image.
 */
import * as fs from "fs";
import * as path from "path";
import { bootEndpoint, type BootedEndpoint } from "./container";
import { runSync, spawnLongRunning, type LongRunning } from "./exec";
import type { PairWorld } from "./failoverAws";
import type { LabImage } from "./image";
import { MOTO_PORT } from "./moto";
import { addAddress, addRoute, connectToBridge, inNetns, ipIn } from "./netns";
import { inNode, startPrivateMounts, type LabNode } from "./node";
import { discardLab, withLabSkeleton } from "./skeleton";
import { generateSshKeys, type LabSshKeys } from "./sshd";

export const HA_LAB = {
    subnets: ["172.16.0.0/24", "172.16.1.0/24"],
    routers: ["172.16.0.1", "172.16.1.1"],
    members: ["172.16.0.5", "172.16.1.5"] as [string, string],
    instance: "172.16.0.10",
    admin: "172.16.0.250",
    igwInternet: "198.51.100.1",
    gateway: "198.51.100.2",
    tunnelIp: "192.0.2.10",
    natIp: "192.0.2.23",
    /** The members' auto-assigned public addresses (components/instance.ts), used while they do not hold the EIP. */
    ownPublic: ["192.0.2.11", "192.0.2.12"],
    hosts: ["203.0.113.7", "203.0.113.135"],
    motoUrl: `http://172.16.0.1:${MOTO_PORT}/`,
} as const;

export interface HaLab {
    readonly id: string;
    readonly dir: string;
    readonly igw: LabNode;
    /** The VPC's switch (a bridge): where the checks cut VRRP between the members. */
    readonly swVpc: LabNode;
    readonly admin: LabNode;
    readonly inst: LabNode;
    readonly pgw: LabNode;
    /** ep-a (the primary) and ep-b (the standby), in config order. */
    readonly members: readonly LabNode[];
    booted: (BootedEndpoint | undefined)[];
    readonly keys: LabSshKeys;
    readonly namespaces: string[];
}

export async function buildHaLab(): Promise<HaLab> {
    return withLabSkeleton(async ({ id, dir, namespaces, swVpc, swNet, igw, node }) => {
        HA_LAB.routers.forEach((r) => addAddress(igw.ns, "vpc0", `${r}/24`));
        addAddress(igw.ns, "inet0", `${HA_LAB.igwInternet}/24`);

        const admin = node("adm");
        connectToBridge(swVpc.ns, "br0", "adm", admin.ns, "eth0");
        addAddress(admin.ns, "eth0", `${HA_LAB.admin}/24`);
        ipIn(admin.ns, ["route", "add", HA_LAB.subnets[1], "dev", "eth0"]);
        addRoute(admin.ns, "default", HA_LAB.routers[0]);

        const inst = node("inst1");
        connectToBridge(swVpc.ns, "br0", "inst1", inst.ns, "eth0");
        addAddress(inst.ns, "eth0", `${HA_LAB.instance}/24`);
        ipIn(inst.ns, ["route", "add", HA_LAB.subnets[1], "dev", "eth0"]);
        addRoute(inst.ns, "default", HA_LAB.routers[0]);

        const members = HA_LAB.members.map((ip, i) => {
            const ep = node(`ep-${"ab"[i]}`, true);
            connectToBridge(swVpc.ns, "br0", `ep${i}`, ep.ns, "eth0");
            addAddress(ep.ns, "eth0", `${ip}/24`);
            // The other member's subnet is on the same switch: VRRP arrives with TTL 255, as AWS delivers it.
            ipIn(ep.ns, ["route", "add", HA_LAB.subnets[1 - i], "dev", "eth0"]);
            addRoute(ep.ns, "default", HA_LAB.routers[i]);
            addAddress(ep.ns, "lo", `${HA_LAB.natIp}/32`); // libipsec quirk, as in lab/topology.ts
            addAddress(ep.ns, "lo", "169.254.169.254/32");
            return ep;
        });

        const pgw = node("pgw", true);
        connectToBridge(swNet.ns, "br0", "pgw0", pgw.ns, "eth0");
        addAddress(pgw.ns, "eth0", `${HA_LAB.gateway}/24`);
        addRoute(pgw.ns, "default", HA_LAB.igwInternet);
        for (const h of HA_LAB.hosts) addAddress(pgw.ns, "lo", `${h}/32`);
        await startPrivateMounts(pgw);

        const keys = generateSshKeys(path.join(dir, "ssh"));
        return { id, dir, igw, swVpc, admin, inst, pgw, members, booted: [], keys, namespaces };
    });
}

/** Boots member `i` from `image`, with the keepalived drop-in that carries the lab's EC2 URL. */
export async function bootMember(lab: HaLab, i: number, image: LabImage, user: string): Promise<BootedEndpoint> {
    const booted = await bootEndpoint(lab.members[i], image, user, lab.keys.clientPublicKey);
    writeKeepalivedDropIn(booted);
    return booted;
}

/**
 * The lab's one override of the failover script, PVPN_EC2_URL (moto_server), for keepalived's
 * scripts. Written before the bootstrap installs keepalived, whose package reloads systemd.
 */
export function writeKeepalivedDropIn(booted: BootedEndpoint): void {
    const dropIn = path.join(booted.root, "etc/systemd/system/keepalived.service.d");
    fs.mkdirSync(dropIn, { recursive: true });
    fs.writeFileSync(path.join(dropIn, "partner-vpn-lab.conf"), `# lab only: the EC2 API is moto_server\n[Service]\nEnvironment=PVPN_EC2_URL=${HA_LAB.motoUrl}\n`);
}

/** Kills a member's machine at once (every process of its container, no shutdown): a crash. */
export function crashMember(lab: HaLab, i: number): void {
    const booted = lab.booted[i];
    if (!booted) throw new Error(`member ${i} is not booted`);
    booted.nspawn.child.kill("SIGKILL");
    const init = lab.members[i].holder?.pid;
    if (init) runSync(["kill", "-KILL", String(init)]);
}

export interface Follower {
    /** Every change applied: [epoch ms, EIP interface, routes]. */
    readonly changes: { at: number; eip: string; routes: string }[];
    stop(): Promise<void>;
    readonly process: LongRunning;
}

const POLLER = (world: PairWorld, url: string, region: string) => `
import json, sys, time, boto3
w = json.loads(${JSON.stringify(JSON.stringify({ admin: world.admin, allocation: world.allocationId, rtb: world.routeTableId, url, region }))})
ec2 = boto3.client("ec2", endpoint_url=w["url"], region_name=w["region"], aws_access_key_id=w["admin"]["id"], aws_secret_access_key=w["admin"]["secret"])
last = None
deadline = time.time() + 1800
while time.time() < deadline:
    try:
        a = ec2.describe_addresses(AllocationIds=[w["allocation"]])["Addresses"][0].get("NetworkInterfaceId", "")
        r = ec2.describe_route_tables(RouteTableIds=[w["rtb"]])["RouteTables"][0]["Routes"]
        routes = sorted((x["DestinationCidrBlock"], x.get("NetworkInterfaceId", "")) for x in r if x.get("NetworkInterfaceId"))
        now = json.dumps({"eip": a, "routes": routes})
        if now != last:
            print(now, flush=True)
            last = now
    except Exception as e:
        print(json.dumps({"error": str(e)}), flush=True)
    time.sleep(0.2)
`;

/**
 * The lab's AWS network following moto: igw's NAT for the tunnel EIP and the instance's partner
 * routes, rewritten whenever moto's association or route table changes.
 */
export function startFollower(lab: HaLab, root: string, world: PairWorld, region: string): Follower {
    const ipOf = (eni: string) => world.members.find((m) => m.eni === eni)?.privateIp;
    const ipt = (args: string[]) => runSync(inNode(lab.igw, ["iptables", "-w", "5", ...args]));
    ipt(["-t", "nat", "-N", "PVL-EIP-PRE"]);
    ipt(["-t", "nat", "-N", "PVL-EIP-POST"]);
    ipt(["-t", "nat", "-A", "PREROUTING", "-j", "PVL-EIP-PRE"]);
    ipt(["-t", "nat", "-A", "POSTROUTING", "-j", "PVL-EIP-POST"]);
    // The internet has no route to a VPC's private addresses: only DNATed (EIP) traffic and replies get in.
    ipt(["-A", "FORWARD", "-i", "inet0", "-m", "conntrack", "!", "--ctstate", "DNAT,ESTABLISHED,RELATED", "-j", "DROP"]);
    const changes: Follower["changes"] = [];
    const apply = (line: string) => {
        let s: { eip?: string; routes?: [string, string][]; error?: string };
        try {
            s = JSON.parse(line);
        } catch {
            return;
        }
        if (s.error !== undefined || s.routes === undefined) return;
        // One atomic replacement of both chains (iptables-restore): no packet sees them half-written
        // and gets a conntrack entry without NAT.
        const holder = s.eip ? ipOf(s.eip) : undefined;
        const rules = ["*nat", ":PVL-EIP-PRE - [0:0]", ":PVL-EIP-POST - [0:0]", "-F PVL-EIP-PRE", "-F PVL-EIP-POST"];
        if (holder) {
            rules.push(`-A PVL-EIP-PRE -i inet0 -d ${HA_LAB.tunnelIp}/32 -j DNAT --to-destination ${holder}`);
            rules.push(`-A PVL-EIP-POST -o inet0 -s ${holder}/32 -j SNAT --to-source ${HA_LAB.tunnelIp}`);
        }
        HA_LAB.members.forEach((ip, i) => {
            if (ip !== holder) rules.push(`-A PVL-EIP-POST -o inet0 -s ${ip}/32 -j SNAT --to-source ${HA_LAB.ownPublic[i]}`);
        });
        rules.push("COMMIT", "");
        runSync(inNode(lab.igw, ["iptables-restore", "-w", "5", "--noflush"]), { input: rules.join("\n") });
        // AWS's 1:1 NAT keeps no per-flow state: a moved association applies to every packet at
        // once. Forget every flow of the EIP, the members' own public addresses and the members.
        const addresses = [HA_LAB.tunnelIp, ...HA_LAB.ownPublic].map((a) => `conntrack -D -d ${a}; conntrack -D -q ${a};`).join(" ");
        const members = HA_LAB.members.map((m) => `conntrack -D -s ${m}; conntrack -D -r ${m};`).join(" ");
        runSync(inNetns(lab.igw.ns, ["sh", "-c", `{ ${addresses} ${members} } >/dev/null 2>&1; true`]));
        for (const [cidr, eni] of s.routes) {
            const via = ipOf(eni);
            if (via) ipIn(lab.inst.ns, ["route", "replace", cidr, "via", via, "dev", "eth0", "onlink"]);
        }
        changes.push({ at: Date.now(), eip: s.eip ?? "", routes: s.routes.map((r) => r.join("->")).join(", ") });
    };
    const proc = spawnLongRunning(
        inNetns(lab.igw.ns, ["unshare", "--mount", "--propagation", "private", "sh", "-c", `mount -t proc proc ${root}/proc && exec chroot ${root} python3 -c "$0"`, POLLER(world, HA_LAB.motoUrl, region)]),
        apply,
    );
    return { changes, process: proc, stop: () => proc.stop(1000) };
}

export function teardownHaLab(lab: HaLab): void {
    discardLab(lab.namespaces, lab.dir);
    for (const b of lab.booted) b?.nspawn.stop(1000).catch(() => undefined);
}
