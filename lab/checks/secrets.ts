/**
 * Secrets at rest: the PSK file is 0600 root:root, and neither the PSK nor its base64 form is in
 * any other file a push wrote (a booted endpoint: its whole overlay upper layer and its /run and
 * /tmp; a namespace node: its overlay upper layers /etc, /usr/local/sbin, /var/log, /var/lib and
 * its /run), nor in any process's argument list during or after the
 * pushes (sampled from /proc by the session around every push).
 */
import * as fs from "fs";
import * as path from "path";
import { endpointPaths } from "../../core/render/paths";
import type { CheckDefinition, Recorder } from "../checkResult";
import { OVERLAID_DIRS, runInNodeOk } from "../node";
import { filesHolding, secretNeedles } from "../secretScan";
import type { PartnerRun, StackSession } from "../stackSession";

/** In-node paths of every file holding the partner's PSK (or its base64), the PSK file included. */
export function filesWithPsk(p: PartnerRun): string[] {
    const node = p.lab.ep;
    const needles = secretNeedles(p.psk);
    const found: string[] = [];
    if (p.lab.booted) {
        // A booted image: everything the machine wrote since the image (its overlay's upper layer:
        // /etc, /var with the journal, /home, /usr/local, ...).
        const upper = path.join(node.dir, "root-upper");
        for (const f of filesHolding(upper, needles)) found.push(path.posix.join("/", path.relative(upper, f)));
    } else {
        for (const dir of OVERLAID_DIRS) {
            const upper = path.join(node.dir, "overlay", dir.replace(/\//g, "_"), "upper");
            for (const f of filesHolding(upper, needles)) found.push(path.posix.join(dir, path.relative(upper, f)));
        }
    }
    if (node.holder) {
        // tmpfs folders (the booted image has its own /tmp too).
        for (const dir of p.lab.booted ? ["/run", "/tmp"] : ["/run"]) {
            const tmp = `/proc/${node.holder.pid}/root${dir}`;
            if (fs.existsSync(tmp)) for (const f of filesHolding(tmp, needles)) found.push(path.posix.join(dir, path.relative(tmp, f)));
        }
    }
    return found.sort();
}

/** Records the files other than the PSK file that hold the PSK; true when there are none. */
export function recordPskFiles(p: PartnerRun, rec: Recorder, label: string): boolean {
    const pskFile = endpointPaths(p.plan.name).swanctlSecrets;
    const others = filesWithPsk(p).filter((f) => f !== pskFile);
    return rec.equal(label, others.length ? others.join(", ") : "none", "none");
}

export const secretsCheck: CheckDefinition<StackSession> = {
    id: "secrets",
    title: "Secrets at rest: PSK file 0600 root, the PSK in no other file and no argument list",
    run: async (s, rec) => {
        for (const p of s.partners) {
            const pskFile = endpointPaths(p.plan.name).swanctlSecrets;
            const stat = (await runInNodeOk(p.lab.ep, ["stat", "-c", "%a %U:%G", pskFile])).trim();
            rec.equal(`${p.plan.name}: ${pskFile} mode and owner`, stat, "600 root:root");
            const all = filesWithPsk(p);
            // The scan must find the one legitimate copy, or it proves nothing.
            rec.measure(`${p.plan.name}: the scan finds the PSK file itself (scan works)`, all.includes(pskFile), all.includes(pskFile));
            recordPskFiles(p, rec, `${p.plan.name}: other files holding the PSK or its base64 (overlay upper dirs, /run)`);
        }
        rec.info("argument lists read (every process, sampled every 20 ms during each push and once after)", `${s.cmdlines.processesSeen} in ${s.cmdlines.sweeps} sweeps over ${s.pushes.length} pushes`);
        rec.measure("sweeps taken", s.cmdlines.sweeps, s.cmdlines.sweeps > 0);
        rec.equal("processes whose argument list held the PSK or its base64", s.cmdlines.hits.map((h) => `${h.program} (pid ${h.pid})`).join(", ") || "none", "none");
    },
};
