/**
 * One fixture end to end, for `npm run lab`: map the stack file, build and provision the lab, run
 * every check in order, tear the lab down (unless kept), and return the report section.
 */
import type { CheckResult } from "./checkResult";
import { runLabChecks } from "./checks";
import type { FixtureReport } from "./labReport";
import { LabFixture, loadLabFixture } from "./stackLab";
import { endSession, runPhaseOk, settle, startSession, type StackSession } from "./stackSession";

export function topologyLines(fixture: LabFixture, s?: StackSession): string[] {
    const spec = fixture.spec;
    const lines = [
        `${spec.mode}; VPC subnet ${spec.subnetCidr} (igw ${spec.routerIp}); emulated internet ${spec.internetCidr} (igw ${spec.igwInternetIp})`,
        `admin node ${spec.adminIp} (in endpoint.adminCidrs): every ssh of the remote commands starts there`,
        `instances ${spec.instances.join(", ")} (the first is the client of the outbound checks; all are DNAT targets' stand-ins)`,
    ];
    for (const p of fixture.partners) {
        const l = spec.partners.find((x) => x.name === p.name);
        const m = fixture.model.partners.find((x) => x.name === p.name);
        if (!l || !m) continue;
        lines.push(
            `${p.name}: endpoint ${l.privateIp} behind tunnel EIP ${l.tunnelIp} (igw's 1:1 NAT), NAT IP ${l.natIp}; ` +
                `partner gateway ${l.gatewayIp} (IKEv${m.ike.version}, ${m.ike.ikeProposals.join(",")} / ESP ${m.ike.espProposals.join(",")}) ` +
                `with hosts ${p.hostAddresses.join(", ")} and the spare host ${p.spareHost} (the add-a-host change adds it)`,
        );
    }
    if (s) lines.push(`${s.lab.namespaces.length} network namespaces (pvl-${s.lab.id}-*), no link or route to the root namespace; scratch folder ${s.lab.dir}`);
    return lines;
}

export interface FixtureRun {
    readonly report: FixtureReport;
    /** Left up when `keep` was asked for. */
    readonly session?: StackSession;
}

export async function runFixture(file: string, options: { keep?: boolean; os?: string; onResult?: (r: CheckResult) => void } = {}): Promise<FixtureRun> {
    const start = Date.now();
    const fixture = loadLabFixture(file, { os: options.os });
    const base = { source: file, mode: fixture.model.mode, ikeVersions: [...new Set(fixture.model.partners.map((p) => p.ike.version))] };
    let session: StackSession | undefined;
    try {
        session = await startSession(fixture);
    } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        return { report: { ...base, topology: topologyLines(fixture), notes: [], pushes: [], results: [], highlights: {}, error, seconds: (Date.now() - start) / 1000 } };
    }
    const results = await runLabChecks(session, options.onResult);
    if (options.keep) {
        // The removal check ran last: put the config back so the kept lab is serving.
        for (const p of session.partners) {
            await runPhaseOk(session, "--keep: re-applied after the removal check", p.apply, "create").catch(() => undefined);
            await settle(session, p).catch(() => undefined);
        }
        session.notes.push("--keep: the current config was applied again after the removal check, so the kept lab is serving.");
    }
    const report: FixtureReport = {
        ...base,
        topology: topologyLines(fixture, session),
        notes: session.notes,
        pushes: session.pushes,
        results,
        highlights: session.highlights,
        seconds: (Date.now() - start) / 1000,
    };
    endSession(session, { keep: options.keep });
    return { report, session: options.keep ? session : undefined };
}
