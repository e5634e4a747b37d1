/**
 * Test servers that report the peer address they saw, the one fact every NAT check needs:
 * an HTTP server answering `{"peer":"192.0.2.23","server":"203.0.113.7","port":80,"name":"..."}`
 * and a raw TCP server that writes the same JSON as its first line, then echoes.
 * Both run as one small node script inside a lab node (one process per node, many listeners).
 */
import { LongRunning, spawnLongRunning, waitFor } from "./exec";
import { inNode, LabNode } from "./node";

export interface Listener {
    readonly kind: "http" | "tcp";
    readonly address: string;
    readonly port: number;
    /** Echoed back in every answer, to tell servers apart. */
    readonly name?: string;
}

/** What a test server answers. */
export interface PeerReport {
    readonly peer: string;
    readonly server: string;
    readonly port: number;
    readonly name: string;
}

// Plain JavaScript run with `node -e`; arguments are JSON listener specs.
const SERVER_SCRIPT = String.raw`
const http = require("http");
const net = require("net");
const specs = process.argv.slice(1).map((a) => JSON.parse(a));
const v4 = (a) => String(a || "").replace(/^::ffff:/, "");
const report = (sock, spec) => JSON.stringify({
  peer: v4(sock.remoteAddress), server: v4(sock.localAddress), port: spec.port, name: spec.name || "",
});
let pending = specs.length;
const ready = () => { if (--pending === 0) console.log("PVL-SERVERS-READY"); };
for (const spec of specs) {
  let server;
  if (spec.kind === "http") {
    server = http.createServer((req, res) => {
      const body = report(req.socket, spec) + "\n";
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" });
      res.end(body);
      req.resume();
    });
    server.keepAliveTimeout = 1000;
  } else {
    server = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.setTimeout(10000, () => sock.destroy());
      sock.write(report(sock, spec) + "\n");
      sock.pipe(sock);
    });
  }
  server.on("error", (e) => { console.error("listen " + spec.address + ":" + spec.port + ": " + e.message); process.exit(2); });
  server.listen({ host: spec.address, port: spec.port }, ready);
}
process.on("SIGTERM", () => process.exit(0));
`;

export interface ServerGroup {
    readonly node: LabNode;
    readonly listeners: readonly Listener[];
    readonly process: LongRunning;
    stop(): Promise<void>;
}

/**
 * Starts the listeners inside the node; resolves once all of them are bound. Runs in the node's
 * mount namespace too when it has one (harmless, and the same view a daemon there would have).
 */
export async function startServers(node: LabNode, listeners: readonly Listener[]): Promise<ServerGroup> {
    if (listeners.length === 0) throw new Error("no listeners");
    let ready = false;
    const proc = spawnLongRunning(
        inNode(node, [process.execPath, "-e", SERVER_SCRIPT, ...listeners.map((l) => JSON.stringify(l))]),
        (line) => {
            if (line.trim() === "PVL-SERVERS-READY") ready = true;
        },
    );
    await waitFor(
        `test servers in ${node.name}`,
        async () => {
            if (proc.child.exitCode !== null) throw new Error(`servers exited: ${proc.output()}`);
            return ready ? true : undefined;
        },
        10_000,
        50,
    );
    return { node, listeners, process: proc, stop: () => proc.stop() };
}

/** Parses a server's answer (HTTP body or the TCP server's first line); undefined if not one. */
export function parsePeerReport(text: string): PeerReport | undefined {
    const line = text.trim().split("\n")[0];
    try {
        const v = JSON.parse(line) as Partial<PeerReport>;
        if (typeof v.peer === "string" && typeof v.server === "string") {
            return { peer: v.peer, server: v.server, port: Number(v.port), name: String(v.name ?? "") };
        }
    } catch {
        // not JSON: not an answer from our servers
    }
    return undefined;
}
