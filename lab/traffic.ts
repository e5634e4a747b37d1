/**
 * Clients inside lab nodes: one request (curl for HTTP, a node one-liner for raw TCP) returning the answer or
 * the failure, and a bounded steady stream of HTTP requests that records every request's outcome
 * with timestamps, so a test can count failures during a config change and measure how long a
 * new host takes to answer.
 */
import { LongRunning, run, spawnLongRunning } from "./exec";
import { inNode, LabNode } from "./node";
import { parsePeerReport, PeerReport } from "./servers";

export interface RequestOutcome {
    readonly ok: boolean;
    /** The answer (HTTP body / first TCP line) when ok. */
    readonly body: string;
    readonly report?: PeerReport;
    /** curl's / the TCP client's message when not ok. */
    readonly error?: string;
    readonly ms: number;
}

export interface RequestOptions {
    /** Source address to bind (e.g. a partner host address on the partner gateway's lo). */
    readonly from?: string;
    /** Whole-request bound, seconds. Default 3. */
    readonly timeoutSeconds?: number;
}

/** One HTTP GET from inside the node. Never throws for network failures: they are the result. */
export async function httpRequest(node: LabNode, host: string, port: number, options: RequestOptions = {}): Promise<RequestOutcome> {
    const t = options.timeoutSeconds ?? 3;
    const argv = ["curl", "-sS", "--max-time", String(t), "--connect-timeout", String(Math.min(t, 2))];
    if (options.from) argv.push("--interface", options.from);
    argv.push(`http://${host}:${port}/`);
    const start = Date.now();
    const r = await run(inNode(node, argv), { timeoutMs: (t + 2) * 1000 });
    const ms = Date.now() - start;
    if (r.code === 0) return { ok: true, body: r.stdout, report: parsePeerReport(r.stdout), ms };
    return { ok: false, body: r.stdout, error: (r.stderr.trim() || `curl exit ${r.code}`) + (r.timedOut ? " (killed)" : ""), ms };
}

// Plain JavaScript run with `node -e`: connect, read the server's first line, print it, close.
// No half-close first: nginx's stream proxy (proxy_half_close off) would drop the session on it.
const TCP_ONCE_SCRIPT = String.raw`
const net = require("net");
const o = JSON.parse(process.argv[1]);
const sock = net.connect({ host: o.host, port: o.port, localAddress: o.from });
let buf = "";
const fail = (m) => { console.error(m); process.exit(1); };
sock.setTimeout(o.timeoutMs, () => fail("timeout"));
sock.on("error", (e) => fail(e.code || e.message));
sock.on("data", (d) => {
  buf += d;
  const i = buf.indexOf("\n");
  if (i >= 0) { process.stdout.write(buf.slice(0, i + 1)); sock.destroy(); process.exit(0); }
});
sock.on("end", () => fail("closed before a full line"));
`;

/** One raw TCP exchange: connect, read the server's first line, close. */
export async function tcpRequest(node: LabNode, host: string, port: number, options: RequestOptions = {}): Promise<RequestOutcome> {
    const t = options.timeoutSeconds ?? 3;
    const spec = JSON.stringify({ host, port, from: options.from, timeoutMs: t * 1000 });
    const start = Date.now();
    const r = await run(inNode(node, [process.execPath, "-e", TCP_ONCE_SCRIPT, spec]), { timeoutMs: (t + 2) * 1000 });
    const ms = Date.now() - start;
    const report = parsePeerReport(r.stdout);
    if (r.code === 0 && report) return { ok: true, body: r.stdout, report, ms };
    return { ok: false, body: r.stdout, error: r.stderr.trim() || `exit ${r.code}, no answer`, ms };
}

// Plain JavaScript run with `node -e`: fires GETs at a fixed rate, each with its own connection and
// time bound, and prints one JSON line per finished request, then {"done":true}.
const STREAM_SCRIPT = String.raw`
const http = require("http");
const o = JSON.parse(process.argv[1]);
const started = Date.now();
let seq = 0, inflight = 0, stopping = false;
const finish = () => { if (stopping && inflight === 0) { console.log(JSON.stringify({ done: true })); process.exit(0); } };
const fire = () => {
  const n = seq++; const start = Date.now(); inflight++;
  let settled = false;
  const done = (rec) => {
    if (settled) return; settled = true; inflight--;
    console.log(JSON.stringify(Object.assign({ seq: n, start, end: Date.now() }, rec))); finish();
  };
  const req = http.get({ host: o.host, port: o.port, path: "/", localAddress: o.from, agent: false, timeout: o.timeoutMs }, (res) => {
    let body = "";
    res.on("data", (d) => { body += d; });
    res.on("end", () => {
      let peer;
      try { peer = JSON.parse(body).peer; } catch (e) { /* not ours */ }
      done({ ok: res.statusCode === 200, status: res.statusCode, peer });
    });
    res.on("error", (e) => done({ ok: false, error: e.code || e.message }));
  });
  req.on("timeout", () => { req.destroy(new Error("timeout")); });
  req.on("error", (e) => done({ ok: false, error: e.code || e.message }));
  setTimeout(() => { req.destroy(new Error("hard-timeout")); }, o.timeoutMs + 200).unref();
};
const stop = () => { if (stopping) return; stopping = true; clearInterval(timer); finish(); };
const timer = setInterval(() => {
  if (seq >= o.maxCount || Date.now() - started >= o.maxSeconds * 1000) return stop();
  fire();
}, Math.max(1, Math.round(1000 / o.rate)));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
`;

export interface RequestRecord {
    readonly seq: number;
    /** Epoch milliseconds (same clock as this process). */
    readonly start: number;
    readonly end: number;
    readonly ok: boolean;
    readonly status?: number;
    readonly peer?: string;
    readonly error?: string;
}

export interface StreamOptions {
    readonly host: string;
    readonly port: number;
    readonly from?: string;
    /** Requests per second; at least 20 for the config-change experiments. Default 20. */
    readonly rate?: number;
    /** Hard bounds: the stream stops at whichever comes first. */
    readonly maxCount: number;
    readonly maxSeconds: number;
    /** Per-request bound. Default 1000 ms. */
    readonly timeoutMs?: number;
}

export interface RequestStream {
    /** Records so far, in completion order (grows while the stream runs). */
    readonly records: RequestRecord[];
    readonly startedAt: number;
    /** Resolves with all records once the stream has finished (bounds reached or stopped). */
    readonly done: Promise<RequestRecord[]>;
    /** Stops issuing requests, waits for the ones in flight, resolves with all records. */
    stop(): Promise<RequestRecord[]>;
    readonly process: LongRunning;
}

export function startStream(node: LabNode, options: StreamOptions): RequestStream {
    const opts = {
        host: options.host,
        port: options.port,
        from: options.from,
        rate: options.rate ?? 20,
        maxCount: options.maxCount,
        maxSeconds: options.maxSeconds,
        timeoutMs: options.timeoutMs ?? 1000,
    };
    const records: RequestRecord[] = [];
    const proc = spawnLongRunning(inNode(node, [process.execPath, "-e", STREAM_SCRIPT, JSON.stringify(opts)]), (line) => {
        try {
            const rec = JSON.parse(line) as RequestRecord & { done?: boolean };
            if (!rec.done) records.push(rec);
        } catch {
            // not a record
        }
    });
    // Bounded even if the script misbehaves: the bounds plus the last request's timeout, plus slack.
    const hardLimit = setTimeout(() => void proc.stop(500), opts.maxSeconds * 1000 + opts.timeoutMs + 5000);
    const done = proc.exited.then(() => {
        clearTimeout(hardLimit);
        return records.sort((a, b) => a.seq - b.seq);
    });
    return {
        records,
        startedAt: Date.now(),
        done,
        process: proc,
        stop: async () => {
            proc.child.kill("SIGTERM"); // the script's own handler lets in-flight requests finish
            return done;
        },
    };
}

export interface StreamSummary {
    readonly total: number;
    readonly ok: number;
    readonly failed: number;
    readonly rate: number;
    /** Distinct error strings with counts. */
    readonly errors: Record<string, number>;
    /** Distinct peers the server reported (what NAT made of our source). */
    readonly peers: readonly string[];
    /** Runs of consecutive failures: [first failed start, last failed end, count]. */
    readonly failureRuns: ReadonlyArray<readonly [number, number, number]>;
}

export function summarizeStream(records: readonly RequestRecord[]): StreamSummary {
    const sorted = [...records].sort((a, b) => a.seq - b.seq);
    const errors: Record<string, number> = {};
    const runs: Array<[number, number, number]> = [];
    let current: [number, number, number] | undefined;
    for (const r of sorted) {
        if (r.ok) {
            current = undefined;
            continue;
        }
        errors[r.error ?? `status ${r.status}`] = (errors[r.error ?? `status ${r.status}`] ?? 0) + 1;
        if (!current) runs.push((current = [r.start, r.end, 0]));
        current[1] = r.end;
        current[2]++;
    }
    const span = sorted.length > 1 ? (sorted[sorted.length - 1].start - sorted[0].start) / 1000 : 0;
    const ok = sorted.filter((r) => r.ok).length;
    return {
        total: sorted.length,
        ok,
        failed: sorted.length - ok,
        rate: span > 0 ? Math.round(((sorted.length - 1) / span) * 10) / 10 : 0,
        errors,
        peers: [...new Set(sorted.filter((r) => r.peer).map((r) => r.peer as string))],
        failureRuns: runs,
    };
}

/** Failed requests whose start falls in [fromMs, toMs]. */
export function failuresBetween(records: readonly RequestRecord[], fromMs: number, toMs: number): number {
    return records.filter((r) => !r.ok && r.start >= fromMs && r.start <= toMs).length;
}

/** When the target first answered: the earliest end of a successful request started at or after `sinceMs`. */
function firstAnswerAt(records: readonly RequestRecord[], sinceMs: number): number | undefined {
    const ends = records.filter((r) => r.ok && r.start >= sinceMs).map((r) => r.end);
    return ends.length ? Math.min(...ends) : undefined;
}

/** Seconds from `sinceMs` until the first request started at or after it succeeded; undefined if none did. */
export function secondsUntilFirstSuccess(records: readonly RequestRecord[], sinceMs: number): number | undefined {
    const first = firstAnswerAt(records, sinceMs);
    return first === undefined ? undefined : (first - sinceMs) / 1000;
}

/**
 * Requests started once the target had first answered (see firstAnswerAt); empty if it never
 * answered. A request started earlier was in flight while the target was still unreachable (its
 * SYN lost, retried after TCP's 1 s), so it may fail without the target having failed after answering.
 */
export function requestsAfterFirstAnswer(records: readonly RequestRecord[], sinceMs: number): RequestRecord[] {
    const first = firstAnswerAt(records, sinceMs);
    return first === undefined ? [] : records.filter((r) => r.start >= first);
}
