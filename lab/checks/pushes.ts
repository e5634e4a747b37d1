/**
 * Pushes that must not disturb anything: the same config applied again (idempotence), and configs
 * the daemons reject, fed as a hand-modified apply script because our validator would refuse them
 * (strongSwan: an ESP proposal it does not know, and a syntax error; nginx: a duplicate location).
 * Each bad push must fail with a clear error while the previous config keeps serving a stream.
 */
import type { CheckDefinition, Recorder } from "../checkResult";
import { withEditedFile } from "../applyScript";
import { snapshotDifferences, snapshotEndpoint } from "../endpointState";
import { runPhase, scriptLog, type PartnerRun, type StackSession } from "../stackSession";
import { recordPskFiles } from "./secrets";
import { describeStream, existingTarget, failedCount, underStreams } from "./streaming";

const classic = (s: StackSession) => s.model.mode === "classic-proxy";

export const idempotenceCheck: CheckDefinition<StackSession> = {
    id: "idempotence",
    title: "The same config applied twice: second apply reports unchanged and changes nothing",
    run: async (s, rec) => {
        for (const p of s.partners) {
            const before = await snapshotEndpoint(p.lab.ep, p.plan.name, classic(s));
            const r = await runPhase(s, "same config again", p.apply, "create");
            rec.equal(`${p.plan.name}: second apply exit code`, r.code, 0);
            const said = scriptLog(r).join(" | ");
            rec.measure(`${p.plan.name}: second apply reports`, said, /: unchanged \(generation [0-9a-f]+\)/.test(said));
            const after = await snapshotEndpoint(p.lab.ep, p.plan.name, classic(s));
            rec.equal(`${p.plan.name}: iptables-save -t nat (counters stripped)`, after.nat === before.nat ? "identical" : "differs", "identical");
            rec.equal(`${p.plan.name}: swanctl --list-conns`, after.conns === before.conns ? "identical" : "differs", "identical");
            rec.equal(`${p.plan.name}: IKE and CHILD_SA SPIs`, after.sas, before.sas);
            rec.equal(`${p.plan.name}: anything else that differs`, snapshotDifferences(before, after).join(", ") || "nothing", "nothing");
        }
    },
};

interface BadConfig {
    readonly label: string;
    readonly role: string;
    readonly edit: (content: string) => string;
    readonly expectError: RegExp;
}

/** A hand-modified apply script pushed under a stream; everything must stay as it was. */
async function badPush(s: StackSession, p: PartnerRun, rec: Recorder, bad: BadConfig): Promise<void> {
    const stdin = withEditedFile(p.apply.stdin ?? "", bad.role, bad.edit);
    const before = await snapshotEndpoint(p.lab.ep, p.plan.name, classic(s));
    const target = existingTarget(s, p);
    let code: number | null = null;
    let error = "";
    const run = await underStreams([target], { leadMs: 1500, tailMs: 4500 }, async () => {
        const r = await runPhase(s, `bad push: ${bad.label}`, p.apply, "create", stdin);
        code = r.code;
        error = scriptLog(r).filter((l) => /ERROR/.test(l)).join(" | ");
    });
    rec.measure(`${bad.label}: push exit code`, code ?? "none", code !== 0 && code !== null);
    rec.measure(`${bad.label}: error`, error || "(none printed)", bad.expectError.test(error));
    rec.measure(`${bad.label}: stream ${target.label} during the push`, describeStream(run.records[0]), failedCount(run.records[0]) === 0);
    const after = await snapshotEndpoint(p.lab.ep, p.plan.name, classic(s));
    rec.equal(`${bad.label}: what changed on the endpoint (config, SAs/SPIs, NAT, files)`, snapshotDifferences(before, after).join(", ") || "nothing", "nothing");
    recordPskFiles(p, rec, `${bad.label}: files other than the PSK file holding the PSK afterwards`);
}

export const badStrongswanPushCheck: CheckDefinition<StackSession> = {
    id: "bad-push-strongswan",
    title: "Bad push: strongSwan rejects the config (unknown ESP proposal; syntax error)",
    run: async (s, rec) => {
        for (const p of s.partners) {
            await badPush(s, p, rec, {
                label: `${p.plan.name}: esp_proposals = aes999-sha256-modp2048`,
                role: "swanctl",
                edit: (c) => c.replace(/esp_proposals = [^\n]+/g, "esp_proposals = aes999-sha256-modp2048"),
                expectError: /strongSwan rejected the new config; the previous config was restored and keeps serving/,
            });
            await badPush(s, p, rec, {
                label: `${p.plan.name}: syntax error (last closing brace removed)`,
                role: "swanctl",
                edit: (c) => c.replace(/\n}\n$/, "\n"),
                expectError: /parser rejected the syntax of \S+partner-vpn-\S+\.conf; nothing was changed/,
            });
        }
    },
};

export const badNginxPushCheck: CheckDefinition<StackSession> = {
    id: "bad-push-nginx",
    title: "Bad push: nginx rejects the proxy config (duplicate location)",
    skip: (s) => (classic(s) ? undefined : "vpc-routing mode has no proxy (the classic-proxy fixture runs it)"),
    run: async (s, rec) => {
        for (const p of s.partners) {
            await badPush(s, p, rec, {
                label: `${p.plan.name}: two "location /" in one server block`,
                role: "nginx",
                edit: (c) => c.replace(/(listen [0-9.]+:\d+;\n)/, "$1        location / { return 204; }\n"),
                expectError: /nginx rejected the new proxy config; nothing was changed/,
            });
        }
    },
};
