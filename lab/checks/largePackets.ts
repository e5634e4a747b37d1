/**
 * large-packets: full-size TCP through the tunnel with EC2's path MTUs (core/render/mss.ts).
 * For this check the lab's VPC side (instances, the switch, the endpoint's eth0, igw's VPC port)
 * runs at EC2's 9001 bytes and our kernel-libipsec TUN at 8920, like an ENI with XFRM; the
 * emulated internet and the partner's side stay at 1500. 10 MB HTTP transfers must complete
 * outbound through SNAT (download and upload), inbound through DNAT, and, in classic-proxy,
 * through nginx; a negative control without the MSS clamp must stall. Everything is put back
 * (MTUs, TUN size, servers) at the end.
 */
import { retransmitSequenceSeconds } from "../../core/render";
import { natChainNames } from "../../core/render/nat";
import { endpointPaths } from "../../core/render/paths";
import type { CheckDefinition, Recorder } from "../checkResult";
import { LongRunning, runOk, spawnLongRunning, waitFor } from "../exec";
import { inNode, LabNode, runInNode, runInNodeOk, writeNodeFile } from "../node";
import { startCharon, stopCharon, swanctl } from "../strongswan";
import { settle, type PartnerRun, type StackSession } from "../stackSession";
import { startServers } from "../servers";
import { restartEndpointCharon } from "../topology";
import { client } from "./connectivity";

const BULK_BYTES = 10 * 1024 * 1024;
const BULK_PORT = 18080;
const TRANSFER_SECONDS = 30;
const VPC_MTU = 9001;
const OUR_TUN_MTU = 8920;
const PARTNER_TUN_MTU = 1500;
const LAB_TUN_FILE = "/etc/strongswan.d/charon/zz-pvpn-lab-tun-mtu.conf";

// GET: BULK bytes; PUT: answers the number of bytes received.
const BULK_SCRIPT = String.raw`
const http = require("http");
const [address, port, size] = process.argv.slice(1);
const chunk = Buffer.alloc(65536, 120);
http.createServer((req, res) => {
  if (req.method === "PUT") {
    let n = 0;
    req.on("data", (d) => { n += d.length; });
    req.on("end", () => res.end(String(n)));
    return;
  }
  res.writeHead(200, { "content-length": Number(size), connection: "close" });
  let left = Number(size);
  const pump = () => { while (left > 0) { const c = chunk.subarray(0, Math.min(left, chunk.length)); left -= c.length; if (!res.write(c)) return res.once("drain", pump); } res.end(); };
  pump();
}).listen({ host: address, port: Number(port) }, () => console.log("PVL-BULK-READY"));
process.on("SIGTERM", () => process.exit(0));
`;

async function startBulk(node: LabNode, address: string, port: number): Promise<LongRunning> {
    let ready = false;
    const proc = spawnLongRunning(inNode(node, [process.execPath, "-e", BULK_SCRIPT, address, String(port), String(BULK_BYTES)]), (l) => { if (l.trim() === "PVL-BULK-READY") ready = true; });
    await waitFor(`bulk server ${address}:${port}`, async () => (ready ? true : undefined), 10_000, 100);
    return proc;
}

interface Transfer { readonly ok: boolean; readonly text: string }

/** A 10 MB download (GET) or upload (PUT) with curl in `node`, bounded in time. */
async function transfer(node: LabNode, url: string, way: "download" | "upload", from?: string): Promise<Transfer> {
    const bind = from ? `--interface ${from} ` : "";
    const cmd = way === "download"
        ? `curl -sS ${bind}--max-time ${TRANSFER_SECONDS} -o /dev/null -w '%{size_download} %{time_total}' ${url}`
        : `head -c ${BULK_BYTES} /dev/zero | curl -sS ${bind}--max-time ${TRANSFER_SECONDS} -T - -w ' %{time_total}' ${url}`;
    const r = await runInNode(node, ["bash", "-c", cmd], { timeoutMs: (TRANSFER_SECONDS + 10) * 1000 });
    const [bytes, seconds] = r.stdout.trim().split(/\s+/);
    const ok = r.code === 0 && Number(bytes) === BULK_BYTES;
    return { ok, text: ok ? `${BULK_BYTES} bytes in ${Number(seconds).toFixed(2)} s` : `failed (exit ${r.code}; ${bytes ?? 0} bytes${r.stderr.trim() ? `; ${r.stderr.trim().split("\n")[0]}` : ""})` };
}

/** Sets every link of a switch namespace and the given node interfaces to `mtu`. */
async function setVpcMtu(s: StackSession, mtu: number): Promise<void> {
    const sw = s.lab.namespaces.find((n) => n.endsWith("-sw-vpc"));
    if (!sw) throw new Error("no sw-vpc namespace in the lab");
    const links = (await runOk(["ip", "-n", sw, "-o", "link", "show"])).split("\n").map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((x): x is string => !!x && x !== "lo");
    // Ports first when growing, the bridge follows; the reverse when shrinking does not matter for veths.
    for (const l of links) await runOk(["ip", "-n", sw, "link", "set", l, "mtu", String(mtu)]);
    for (const inst of s.lab.instances) await runInNodeOk(inst.node, ["ip", "link", "set", "eth0", "mtu", String(mtu)]);
    await runInNodeOk(s.lab.igw, ["ip", "link", "set", "vpc0", "mtu", String(mtu)]);
    for (const p of s.partners) await runInNodeOk(p.lab.ep, ["ip", "link", "set", "eth0", "mtu", String(mtu)]);
}

/** kernel-libipsec's TUN size is read when charon starts: write it, restart both charons, reload. */
async function setTunMtu(s: StackSession, p: PartnerRun, ours: number | undefined, theirs: number | undefined): Promise<void> {
    for (const [node, mtu] of [[p.lab.ep, ours], [p.lab.pgw, theirs]] as const) {
        if (mtu === undefined) await runInNode(node, ["rm", "-f", LAB_TUN_FILE]);
        else await writeNodeFile(node, LAB_TUN_FILE, `kernel-libipsec {\n    mtu = ${mtu}\n}\n`, "0644");
    }
    if (p.lab.pgwCharon) await stopCharon(p.lab.pgwCharon);
    p.lab.pgwCharon = await startCharon(p.lab.pgw);
    await swanctl(p.lab.pgw, ["--load-all", "--noprompt"]);
    await restartEndpointCharon(p.lab);
    await swanctl(p.lab.ep, ["--load-all", "--noprompt"]);
    await settle(s, p, (p.model.ike.dpdDelay + 2 * retransmitSequenceSeconds() + 10) * 1000);
}

async function transfers(s: StackSession, p: PartnerRun, rec: Recorder, prefix: string, expectOk: boolean): Promise<void> {
    const partnerHost = p.model.remoteHosts[0].replace(/\/32$/, "");
    const record = (label: string, t: Transfer) => (expectOk ? rec.measure(`${prefix}${label}`, t.text, t.ok) : rec.measure(`${prefix}${label} (must stall)`, t.text, !t.ok));
    // Negative control: the upload is the direction that stalls (our full-size segments meet the
    // 1500-byte internet link as oversized ESP); the partner's side, whose TUN is 1500, fragments
    // its own ESP packets, so without the clamp a download may still get through: shown, not judged.
    const outbound = s.model.mode === "vpc-routing"
        ? { label: `instance -> ${partnerHost} (SNAT)`, url: `http://${partnerHost}:${BULK_PORT}/` }
        : (() => {
            const proxy = p.model.proxies.find((x) => x.protocol === "http");
            return proxy ? { label: `through nginx (instance -> ${p.model.privateIp}:${proxy.listenPort} -> ${proxy.remoteHost}:${proxy.remotePort})`, url: `http://${p.model.privateIp}:${proxy.listenPort}/` } : undefined;
        })();
    if (outbound) {
        const down = await transfer(client(s), outbound.url, "download");
        if (expectOk) record(`10 MB download, ${outbound.label}`, down);
        else rec.info(`${prefix}10 MB download, ${outbound.label}`, down.text);
        record(`10 MB upload, ${outbound.label}`, await transfer(client(s), outbound.url, "upload"));
    }
    const inbound = p.model.inbound.find((m) => m.protocol !== "udp");
    if (inbound && expectOk) {
        const from = inbound.from[0].replace(/\/32$/, "");
        const port = inbound.port ?? BULK_PORT;
        record(`10 MB download, ${from} <- NAT IP:${port} -> ${inbound.target} (DNAT)`, await transfer(p.lab.pgw, `http://${p.lab.spec.natIp}:${port}/`, "download", from));
        record(`10 MB upload, ${from} -> NAT IP:${port} -> ${inbound.target} (DNAT)`, await transfer(p.lab.pgw, `http://${p.lab.spec.natIp}:${port}/`, "upload", from));
    }
}

export const largePacketsCheck: CheckDefinition<StackSession> = {
    id: "large-packets",
    title: "Full-size TCP with EC2's MTUs (VPC 9001, internet 1500): 10 MB both ways, SNAT, DNAT and nginx; without the MSS clamp it stalls",
    run: async (s, rec) => {
        const servers: LongRunning[] = [];
        const stoppedInstanceGroups: number[] = [];
        await setVpcMtu(s, VPC_MTU);
        try {
            for (const p of s.partners) {
                await setTunMtu(s, p, OUR_TUN_MTU, PARTNER_TUN_MTU);
                rec.info(`${p.model.name}: MTUs`, `VPC links ${VPC_MTU}, our TUN ${OUR_TUN_MTU}, internet and the partner's TUN ${PARTNER_TUN_MTU}; clamp ${(await runInNodeOk(p.lab.ep, ["iptables-save", "-t", "mangle"])).match(/--set-mss (\d+)/)?.[1] ?? "none"}`);
                const partnerHost = p.model.remoteHosts[0].replace(/\/32$/, "");
                // The DNAT target's server listens on the inbound mapping's target port.
                const inbound = p.model.inbound.find((m) => m.protocol !== "udp");
                const classicProxy = p.model.proxies.find((x) => x.protocol === "http");
                if (classicProxy) await p.servers.stop(); // the bulk server takes the proxied address:port
                servers.push(await startBulk(p.lab.pgw, classicProxy ? classicProxy.remoteHost : partnerHost, classicProxy ? classicProxy.remotePort : BULK_PORT));
                if (inbound) {
                    const inst = s.lab.instances.find((i) => i.ip === inbound.target);
                    const targetPort = inbound.targetPort ?? inbound.port;
                    const g = s.instanceServers.findIndex((x) => x.listeners.some((l) => l.address === inbound.target && l.port === targetPort));
                    if (g >= 0) {
                        await s.instanceServers[g].stop(); // the bulk server takes the DNAT target's address:port
                        stoppedInstanceGroups.push(g);
                    }
                    if (inst) servers.push(await startBulk(inst.node, inbound.target, targetPort ?? BULK_PORT));
                }
                await transfers(s, p, rec, `${p.model.name}: `, true);
                // Negative control: the clamp chain emptied, the same download.
                const mss = natChainNames(p.model.name).mss;
                await runInNodeOk(p.lab.ep, ["iptables", "-w", "5", "-t", "mangle", "-F", mss]);
                await transfers(s, p, rec, `${p.model.name}: without the MSS clamp: `, false);
                await runInNodeOk(p.lab.ep, ["bash", "-c", `iptables-restore -w --noflush < ${endpointPaths(p.model.name).natRules}`]);
            }
        } finally {
            for (const proc of servers) await proc.stop(3000);
            await setVpcMtu(s, 1500);
            for (const p of s.partners) {
                await setTunMtu(s, p, undefined, undefined);
                if (p.model.proxies.length > 0) p.servers = await startServers(p.lab.pgw, p.servers.listeners);
            }
            for (const i of stoppedInstanceGroups) s.instanceServers[i] = await startServers(s.instanceServers[i].node, s.instanceServers[i].listeners);
        }
    },
};
