/**
 * The traffic a config promises, as requests to send and answers to expect:
 * - vpc-routing: our instance -> every partner host (HTTP and TCP), answered by that host, which
 *   saw our NAT IP;
 * - classic-proxy: our instance -> the endpoint's private IP on every proxy's listen port (http or
 *   tcp), answered by the proxy's partner host and port, which saw our NAT IP;
 * - inbound: every mapped partner host -> our NAT IP (on the mapped port), answered by the DNAT
 *   target, which saw the partner host (vpc-routing) or the endpoint's private IP (classic-proxy:
 *   the return SNAT that brings replies back through the endpoint).
 */
import { hostOf } from "../core/addresses";
import type { PartnerModel, StackModel } from "../core/model";
import { LabNode } from "./node";
import { labHostAddress, LAB_HTTP_PORT, LAB_TCP_PORT } from "./stackLab";
import { LabPartner } from "./topology";
import { httpRequest, RequestOutcome, tcpRequest } from "./traffic";

export interface Flow {
    readonly label: string;
    readonly kind: "http" | "tcp";
    readonly node: LabNode;
    readonly host: string;
    readonly port: number;
    readonly from?: string;
    /** The answer must come from this server and port, and report this peer. */
    readonly expect: { readonly server: string; readonly port: number; readonly peer: string };
}

export interface FlowOutcome {
    readonly flow: Flow;
    readonly ok: boolean;
    /** What was observed: the peer the server saw, or the error. */
    readonly observed: string;
}

export function outboundFlows(model: StackModel, partner: PartnerModel, lab: LabPartner, client: LabNode): Flow[] {
    const natIp = lab.spec.natIp;
    if (model.mode === "vpc-routing") {
        return partner.remoteHosts.map(labHostAddress).flatMap((host) =>
            (["http", "tcp"] as const).map((kind) => {
                const port = kind === "http" ? LAB_HTTP_PORT : LAB_TCP_PORT;
                return { label: `instance -> ${host}:${port} (${kind})`, kind, node: client, host, port, expect: { server: host, port, peer: natIp } };
            }),
        );
    }
    return partner.proxies.map((x) => ({
        label: `instance -> ${partner.privateIp}:${x.listenPort} (${x.protocol} proxy to ${x.remoteHost}:${x.remotePort})`,
        kind: x.protocol,
        node: client,
        host: partner.privateIp,
        port: x.listenPort,
        expect: { server: x.remoteHost, port: x.remotePort, peer: natIp },
    }));
}

export function inboundFlows(model: StackModel, partner: PartnerModel, lab: LabPartner): Flow[] {
    const flows: Flow[] = [];
    const natIp = lab.spec.natIp;
    for (const m of partner.inbound) {
        if (m.protocol === "udp") continue; // no UDP client in the lab; reported by the caller
        for (const from of m.from.map(labHostAddress)) {
            const peer = model.mode === "classic-proxy" ? partner.privateIp : from;
            const ports: Array<[("http" | "tcp"), number, number]> = m.port === undefined
                ? [["http", LAB_HTTP_PORT, LAB_HTTP_PORT], ["tcp", LAB_TCP_PORT, LAB_TCP_PORT]]
                : [["http", m.port, m.targetPort ?? m.port]];
            for (const [kind, port, targetPort] of ports) {
                flows.push({
                    label: `${from} -> NAT IP ${natIp}:${port} (${kind}) => ${m.target}:${targetPort}`,
                    kind, node: lab.pgw, host: natIp, port, from,
                    expect: { server: hostOf(m.target), port: targetPort, peer },
                });
            }
        }
    }
    return flows;
}

export function udpMappings(partner: PartnerModel): number {
    return partner.inbound.filter((m) => m.protocol === "udp").length;
}

export async function sendFlow(flow: Flow, timeoutSeconds = 3): Promise<FlowOutcome> {
    const send = flow.kind === "http" ? httpRequest : tcpRequest;
    const r: RequestOutcome = await send(flow.node, flow.host, flow.port, { from: flow.from, timeoutSeconds });
    const rep = r.report;
    const ok = r.ok && rep !== undefined && rep.server === flow.expect.server && rep.port === flow.expect.port && rep.peer === flow.expect.peer;
    const observed = rep ? `answered by ${rep.server}:${rep.port}, which saw ${rep.peer}` : `no answer (${(r.error ?? r.body.trim()).slice(0, 120) || "empty"})`;
    return { flow, ok, observed };
}

/**
 * Sends each flow; one that is not answered is tried once more (userspace ESP on a busy machine
 * can lose a packet), and an answer on that second attempt says so in `observed`.
 */
export async function sendFlows(flows: readonly Flow[], timeoutSeconds = 3): Promise<FlowOutcome[]> {
    const out: FlowOutcome[] = [];
    for (const f of flows) {
        const first = await sendFlow(f, timeoutSeconds);
        if (first.ok) {
            out.push(first);
            continue;
        }
        const second = await sendFlow(f, timeoutSeconds);
        out.push(second.ok ? { ...second, observed: `${second.observed} (2nd attempt; the 1st: ${first.observed})` } : second);
    }
    return out;
}
