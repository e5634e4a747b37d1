/**
 * Checks right after provisioning: the tunnels are up (IKE and every CHILD_SA, as the config's IKE
 * version), the traffic the config promises flows both ways with the right NAT, and a negative
 * control: without the project's SNAT rules the same outbound request fails.
 */
import { toCidr } from "../../core/addresses";
import { swanctlChildName, swanctlConnectionName } from "../../core/render";
import { natChainNames } from "../../core/render/nat";
import { endpointPaths } from "../../core/render/paths";
import { CHILD_UP, childStatusFromApplyOutput } from "../../core/childStatus";
import type { CheckDefinition, Recorder } from "../checkResult";
import { inboundFlows, outboundFlows, sendFlow, sendFlows, udpMappings } from "../flows";
import { runInNodeOk } from "../node";
import { listSas, natFlags } from "../strongswan";
import type { PartnerRun, StackSession } from "../stackSession";
import { iptablesIn } from "../topology";

export function client(s: StackSession) {
    return s.lab.instances[0].node;
}

/**
 * Sends every outbound and inbound flow of the partner's current config and records each; with
 * `compact` (re-checks after a change), the ones answered as required are summed up in one line.
 */
export async function recordFlows(s: StackSession, p: PartnerRun, rec: Recorder, prefix = "", compact = false): Promise<boolean> {
    const flows = [...outboundFlows(s.model, p.model, p.lab, client(s)), ...inboundFlows(s.model, p.model, p.lab)];
    const outcomes = await sendFlows(flows);
    const shown = compact ? outcomes.filter((o) => !o.ok || /2nd attempt/.test(o.observed)) : outcomes;
    for (const o of shown) rec.measure(`${prefix}${o.flow.label}`, o.observed, o.ok);
    const ok = outcomes.filter((o) => o.ok).length;
    if (compact) rec.measure(`${prefix}every flow of the config (outbound and inbound) answered by the right server, which saw the right peer`, `${ok} of ${outcomes.length}`, ok === outcomes.length);
    return ok === outcomes.length;
}

export const tunnelsCheck: CheckDefinition<StackSession> = {
    id: "tunnels",
    title: "IKE_SA and every CHILD_SA established",
    run: async (s, rec) => {
        for (const p of s.partners) {
            const conn = swanctlConnectionName(p.model.name);
            const { sas } = await listSas(p.lab.ep);
            const ike = sas.find((x) => x.name === conn && x.state === "ESTABLISHED");
            rec.equal(`${p.model.name}: IKE_SA ${conn}`, ike ? `${ike.state}, ${ike.version}` : "not established", `ESTABLISHED, IKEv${p.model.ike.version}`);
            rec.equal(`${p.model.name}: IKE local address / our identity`, `${ike?.localHost} / ${ike?.localId}`, `${p.model.privateIp} / ${p.lab.spec.tunnelIp}`);
            rec.measure(`${p.model.name}: NAT detected on our side (igw's EIP 1:1 NAT)`, (await natFlags(p.lab.ep)).get(conn)?.natLocal ?? false, true);
            const children = new Map(sas.filter((x) => x.name === conn).flatMap((x) => x.children).filter((c) => c.state === "INSTALLED").map((c) => [c.name, c]));
            for (const host of p.model.remoteHosts) {
                const name = swanctlChildName(p.model.name, host);
                const c = children.get(name);
                rec.equal(
                    `${p.model.name}: CHILD_SA ${name}`,
                    c ? `INSTALLED, ${c.mode}, ${c.protocol}, ${c.localTs.join(",")} <-> ${c.remoteTs.join(",")}` : "not installed",
                    c ? `INSTALLED, TUNNEL-in-UDP, ${c.protocol}, ${p.lab.spec.natIp}/32 <-> ${toCidr(host)}` : "INSTALLED",
                );
            }
            // The stack output childStatus, from what the provisioning apply printed over SSH.
            const applied = s.pushes.find((x) => x.command === `${p.plan.name}-apply create`);
            const status = childStatusFromApplyOutput(p.model, applied?.log.join("\n") ?? "");
            rec.equal(`${p.model.name}: childStatus output from the provisioning apply's stdout`, status, Object.fromEntries(Object.keys(status).map((c) => [c, CHILD_UP])));
            const partnerView = (await listSas(p.lab.pgw)).sas.find((x) => x.state === "ESTABLISHED");
            rec.equal(`${p.model.name}: the partner's gateway sees us at`, partnerView?.remoteHost ?? "no SA", p.lab.spec.tunnelIp);
        }
    },
};

export const trafficCheck: CheckDefinition<StackSession> = {
    id: "traffic",
    title: "Traffic both ways, with our NAT IP as the partner sees it",
    run: async (s, rec) => {
        for (const p of s.partners) {
            await recordFlows(s, p, rec, `${p.model.name}: `);
            const udp = udpMappings(p.model);
            if (udp) rec.info(`${p.model.name}: udp inbound mappings not exercised (the lab has no UDP client)`, udp);
        }
    },
};

export const negativeControlCheck: CheckDefinition<StackSession> = {
    id: "negative-control",
    title: "Negative control: without the project's SNAT rules the same outbound request fails",
    run: async (s, rec) => {
        for (const p of s.partners) {
            const flow = outboundFlows(s.model, p.model, p.lab, client(s)).find((f) => f.kind === "http");
            if (!flow) throw new Error(`${p.model.name}: no outbound http flow to test`);
            const chain = natChainNames(p.model.name).post;
            const before = await sendFlow(flow);
            rec.measure(`${p.model.name}: with SNAT: ${flow.label}`, before.observed, before.ok);
            await iptablesIn(p.lab.ep, ["-t", "nat", "-F", chain]);
            let without;
            try {
                without = await sendFlow(flow, 2);
            } finally {
                // Put the applied rules back exactly as the apply installed them.
                await runInNodeOk(p.lab.ep, ["sh", "-c", 'iptables-restore -w --noflush <"$1"', "sh", endpointPaths(p.model.name).natRules]);
            }
            rec.measure(`${p.model.name}: chain ${chain} flushed: same request`, without.observed, !without.ok);
            const again = await sendFlow(flow);
            rec.measure(`${p.model.name}: SNAT rules restored: same request`, again.observed, again.ok);
        }
    },
};
