/**
 * Steady request streams around a change: what the zero-downtime, naive and bad-push checks
 * measure. Each stream is bounded in count and time (lab/traffic.ts); the change runs after a
 * lead-in so the stream is known to be healthy before it.
 */
import type { PartnerModel } from "../../core/model";
import { sleep } from "../exec";
import { LabNode } from "../node";
import { LAB_HTTP_PORT } from "../stackLab";
import type { PartnerRun, StackSession } from "../stackSession";
import { failuresBetween, RequestRecord, secondsUntilFirstSuccess, startStream, summarizeStream } from "../traffic";
import { client } from "./connectivity";

export const STREAM_RATE = 20;

export interface StreamTarget {
    readonly label: string;
    readonly node: LabNode;
    readonly host: string;
    readonly port: number;
}

/** HTTP to a partner host as the mode reaches it: directly (vpc-routing) or through its proxy. */
export function targetFor(s: StackSession, partner: PartnerModel, host: string): StreamTarget {
    if (s.model.mode === "vpc-routing") return { label: `instance -> ${host}:${LAB_HTTP_PORT}`, node: client(s), host, port: LAB_HTTP_PORT };
    const proxy = partner.proxies.find((x) => x.protocol === "http" && x.remoteHost === host);
    if (!proxy) throw new Error(`${partner.name} has no http proxy to ${host}`);
    return { label: `instance -> ${partner.privateIp}:${proxy.listenPort} (proxy to ${host})`, node: client(s), host: partner.privateIp, port: proxy.listenPort };
}

/** The partner's first host reachable over HTTP: what the "existing host" streams use. */
export function existingTarget(s: StackSession, p: PartnerRun): StreamTarget {
    if (s.model.mode === "vpc-routing") return targetFor(s, p.model, p.plan.hostAddresses[0]);
    const proxy = p.model.proxies.find((x) => x.protocol === "http");
    if (!proxy) throw new Error(`${p.model.name} has no http proxy for a stream`);
    return targetFor(s, p.model, proxy.remoteHost);
}

export interface StreamedChange {
    readonly records: RequestRecord[][];
    /** When the change started and ended (epoch ms). */
    readonly t0: number;
    readonly t1: number;
}

/** When the streams start and stop around a change. */
export interface StreamWindow {
    /** Healthy stream before the change starts. */
    readonly leadMs: number;
    /** Stream kept up after the change returned: what "after the change" is measured over. */
    readonly tailMs: number;
}

/**
 * The longest a change may take under a stream (a loaded 2-core CI machine ran an apply in 18 s):
 * a bound for the streams, not a goal. A change that takes longer fails the check.
 */
export const STREAM_CHANGE_BOUND_MS = 90_000;

/**
 * Streams to every target at STREAM_RATE from `leadMs` before `change` until `tailMs` after it
 * returned. The window follows the change instead of a fixed duration: on a loaded machine an apply
 * took longer than a fixed stream, and the new host then "never answered within the stream".
 */
export async function underStreams(targets: readonly StreamTarget[], window: StreamWindow, change: () => Promise<void>): Promise<StreamedChange> {
    const maxSeconds = (window.leadMs + STREAM_CHANGE_BOUND_MS + window.tailMs) / 1000;
    const streams = targets.map((t) =>
        startStream(t.node, { host: t.host, port: t.port, rate: STREAM_RATE, maxCount: Math.ceil(STREAM_RATE * maxSeconds) + STREAM_RATE, maxSeconds, timeoutMs: 1000 }),
    );
    let t0 = 0;
    let t1 = 0;
    try {
        await sleep(window.leadMs);
        t0 = Date.now();
        await change();
        t1 = Date.now();
        if (t1 - t0 > STREAM_CHANGE_BOUND_MS) throw new Error(`the change took ${((t1 - t0) / 1000).toFixed(1)} s, longer than the streams' bound of ${STREAM_CHANGE_BOUND_MS / 1000} s`);
        await sleep(window.tailMs);
    } finally {
        await Promise.all(streams.map((st) => st.stop()));
    }
    const records = await Promise.all(streams.map((st) => st.done));
    return { records, t0, t1 };
}

/** When failed requests started, relative to `t0`: "+0.42 s, +0.47 s, ..." (at most 8 listed). */
export function failureTimes(records: readonly RequestRecord[], t0: number): string {
    const times = records.filter((r) => !r.ok).sort((a, b) => a.start - b.start).map((r) => `${r.start >= t0 ? "+" : ""}${((r.start - t0) / 1000).toFixed(2)} s`);
    return times.length > 8 ? `${times.slice(0, 8).join(", ")}, ...` : times.join(", ");
}

/** "N failed of M requests at R req/s (errors; when)" from `fromMs` on (default: the whole stream). */
export function describeStream(records: readonly RequestRecord[], fromMs?: number): string {
    const sum = summarizeStream(records);
    const window = fromMs === undefined ? records : records.filter((r) => r.start >= fromMs);
    const failed = window.filter((r) => !r.ok);
    const errors = Object.entries(summarizeStream(failed).errors).map(([e, n]) => `${e} x${n}`).join(", ");
    const when = fromMs !== undefined && failed.length ? `; started at ${failureTimes(failed, fromMs)} from the change` : "";
    return `${failed.length} failed of ${window.length} requests at ${sum.rate} req/s${errors ? ` (${errors}${when})` : ""}`;
}

export function failedCount(records: readonly RequestRecord[], fromMs = 0, toMs = Number.MAX_SAFE_INTEGER): number {
    return failuresBetween(records, fromMs, toMs);
}

export function secondsUntilAnswer(records: readonly RequestRecord[], sinceMs: number): number | undefined {
    const sec = secondsUntilFirstSuccess(records, sinceMs);
    return sec === undefined ? undefined : Math.round(sec * 100) / 100;
}
