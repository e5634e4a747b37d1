/**
 * Runs the design experiments and writes a markdown report of commands and observed output.
 *
 *   npx ts-node --transpile-only tests/lab/experiments/run.ts [a b c d e f g]   (root; default: all)
 *
 * The report goes to lab-out/experiments-<time>.md (git-ignored) and to stdout.
 */
import * as fs from "fs";
import * as path from "path";
import { cleanupLab, installCleanupHandlers } from "../../../lab/cleanup";
import { labUnavailableReason } from "../../../lab/preflight";
import { experimentAddChild, experimentChangeAndRemoveChild, experimentInvalidConfig, experimentUnchangedReload } from "./childChanges";
import { Report } from "./report";
import { experimentChainRestore, experimentChainRestoreUnderTraffic, experimentNaiveRestart } from "./restartAndNat";

const EXPERIMENTS: Record<string, () => Promise<Report[]>> = {
    a: async () => [await experimentAddChild(2)],
    b: async () => [await experimentAddChild(1)],
    c: async () => [await experimentUnchangedReload(2), await experimentUnchangedReload(1)],
    d: async () => [await experimentInvalidConfig()],
    e: async () => [await experimentNaiveRestart()],
    f: async () => [await experimentChainRestore(), await experimentChainRestoreUnderTraffic()],
    g: async () => [await experimentChangeAndRemoveChild(2), await experimentChangeAndRemoveChild(1)],
};

async function main(): Promise<void> {
    const reason = labUnavailableReason();
    if (reason) throw new Error(`the lab cannot run here: ${reason}`);
    installCleanupHandlers();
    const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(EXPERIMENTS);
    const sections: string[] = [`# partner-vpn lab experiments (${new Date().toISOString()})`, ""];
    for (const key of wanted) {
        const experiment = EXPERIMENTS[key];
        if (!experiment) throw new Error(`unknown experiment ${key}; known: ${Object.keys(EXPERIMENTS).join(" ")}`);
        console.log(`\n===== experiment ${key} =====`);
        try {
            for (const report of await experiment()) sections.push(report.markdown());
        } catch (err) {
            sections.push(`## ${key}: FAILED`, "", "```", String((err as Error).stack ?? err), "```", "");
            console.error(`experiment ${key} failed:`, err);
        }
    }
    const outDir = path.join(__dirname, "..", "..", "..", "lab-out");
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `experiments-${new Date().toISOString().replace(/[:.]/g, "-")}.md`);
    fs.writeFileSync(file, sections.join("\n"));
    console.log(`\nreport written to ${file}`);
}

main()
    .catch((err) => {
        console.error(err);
        process.exitCode = 1;
    })
    .finally(() => cleanupLab());
