/**
 * npm run lab -- [--config <stack file> | --pair] [--os debian-13|debian-12] [--keep]
 * npm run lab -- --teardown
 *
 * Proves pushed configs on real Linux networking, real strongSwan and real SSH (root, Linux): for
 * each stack file (default: the lab fixtures, one per mode), builds the lab in network namespaces,
 * provisions the endpoint with the program's own remote commands and runs every check; by default
 * also an active/standby pair (lab/pairRun.ts) and its failover checks (--pair: only those). Prints a
 * Markdown report and saves it to lab-out/report-<time>.md. Exit 0 only if every check passed;
 * 1 if one failed; 2 if the lab cannot run here or the config is refused. Everything the run made
 * is removed at the end, on failure and on Ctrl-C, unless --keep (then it prints how to tear down).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as util from "util";
import { installCleanupHandlers, releaseForKeeping, sweepLabNamespaces } from "../lab/cleanup";
import type { CheckResult } from "../lab/checkResult";
import { fixturePassed, FixtureReport, renderReport, saveReport } from "../lab/labReport";
import { runFixture } from "../lab/labRun";
import { PAIR_SOURCE, runPair } from "../lab/pairRun";
import { labUnavailableReason } from "../lab/preflight";
import { loadLabFixture } from "../lab/stackLab";

const ROOT = path.join(__dirname, "..");
const DEFAULT_FIXTURES = ["tests/lab/fixtures/lab-vpc.yaml", "tests/lab/fixtures/lab-classic.yaml"].map((f) => path.join(ROOT, f));

const USAGE = `usage: npm run lab -- [--config <stack file> | --pair] [--os debian-13|debian-12] [--keep]
       npm run lab -- --teardown
  --config FILE  a stack file (Pulumi.<stack>.yaml format) with documentation/private addresses only;
                 default: the lab fixtures (vpc-routing and classic-proxy), then the pair
  --pair         only the active/standby pair (two booted Debian 13 images, moto_server as the EC2
                 API): failover, failover-back, split-brain, rolling-replace (--os and --keep do not apply)
  --os OS        boot every endpoint as OS (default: the config's endpoint.os, debian-13 unless set);
                 the image is built once (debootstrap, minutes) and cached under /var/cache/partner-vpn-lab
  --keep         leave the lab up afterwards (namespaces, daemons) and print how to tear it down
  --teardown     remove every lab namespace (pvl-*), its processes, and the lab scratch folders
Needs root on Linux (network namespaces, iptables, strongSwan with kernel-libipsec, nginx for the
partner side, debootstrap and systemd-nspawn for the endpoints).`;

interface Args {
    readonly config?: string;
    readonly os?: string;
    readonly keep: boolean;
    readonly pair: boolean;
    readonly teardown: boolean;
    readonly help: boolean;
}

function parseArgs(argv: readonly string[]): Args {
    const { values: v } = util.parseArgs({
        args: [...argv],
        strict: true,
        allowPositionals: false,
        options: {
            config: { type: "string", short: "c" },
            os: { type: "string" },
            keep: { type: "boolean", default: false },
            pair: { type: "boolean", default: false },
            teardown: { type: "boolean", default: false },
            help: { type: "boolean", short: "h", default: false },
        },
    });
    if (v.pair && v.config) throw new Error("--pair and --config exclude each other");
    return { config: v.config, os: v.os, keep: v.keep === true, pair: v.pair === true, teardown: v.teardown === true, help: v.help === true };
}

function teardown(): void {
    const names = sweepLabNamespaces();
    const dirs = fs.readdirSync(os.tmpdir()).filter((d) => /^pvl-[0-9a-f]{4}-/.test(d)).map((d) => path.join(os.tmpdir(), d));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    console.log(`removed ${names.length} lab namespace(s)${names.length ? `: ${names.join(" ")}` : ""} and ${dirs.length} scratch folder(s)`);
}

function progress(r: CheckResult): void {
    console.log(`  [${r.status}] ${r.id} (${r.seconds.toFixed(1)} s)${r.reason ? `: ${r.reason}` : ""}${r.error ? `: ${r.error.split("\n")[0]}` : ""}`);
    for (const m of r.measures.filter((x) => !x.ok)) console.log(`      NOT OK: ${m.label}: ${m.value}`);
}

async function main(): Promise<number> {
    let args: Args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        console.error(`${(err as Error).message}\n${USAGE}`);
        return 2;
    }
    if (args.help) {
        console.log(USAGE);
        return 0;
    }
    const reason = labUnavailableReason();
    if (reason) {
        console.error(`npm run lab: the lab cannot run here: ${reason}`);
        return 2;
    }
    if (args.teardown) {
        teardown();
        return 0;
    }
    const files = args.config ? [path.resolve(args.config)] : args.pair ? [] : DEFAULT_FIXTURES;
    const withPair = args.pair || !args.config;
    // Map and check every config before anything is built: a refused address stops the run here.
    for (const f of files) {
        try {
            loadLabFixture(f, { os: args.os });
        } catch (err) {
            console.error(`npm run lab: ${(err as Error).message}`);
            return 2;
        }
    }
    installCleanupHandlers();
    const startedAt = new Date();
    const reports: FixtureReport[] = [];
    for (const f of files) {
        console.log(`\n=== ${path.relative(process.cwd(), f)}: building the lab and provisioning through the program's remote commands`);
        const run = await runFixture(f, { keep: args.keep, os: args.os, onResult: progress });
        if (run.report.error) console.log(`  provisioning FAILED: ${run.report.error}`);
        reports.push({ ...run.report, source: path.relative(process.cwd(), f) });
    }
    if (withPair) {
        console.log(`\n=== ${PAIR_SOURCE}: two booted Debian 13 images, moto_server, provisioned through the program's remote commands`);
        const pair = await runPair(progress);
        if (pair.error) console.log(`  provisioning FAILED: ${pair.error}`);
        reports.push(pair);
    }
    const markdown = renderReport(reports, startedAt, (Date.now() - startedAt.getTime()) / 1000);
    console.log(`\n${markdown}`);
    console.log(`report saved to ${path.relative(process.cwd(), saveReport(markdown, ROOT, startedAt))}`);
    if (args.keep) {
        const kept = releaseForKeeping();
        console.log(`\n--keep: the lab is still up: ${kept.namespaces.length} namespaces (${kept.namespaces.join(" ")}).`);
        console.log("Look around, e.g.: sudo ip netns exec <namespace> bash   (partner gateways also need their mount namespace: nsenter -t <pid of their 'sleep 86400'> -m -n bash;");
        console.log("  a booted endpoint is a machine: nsenter -t <pid of its systemd, a child of systemd-nspawn> -a bash, e.g. systemctl status, journalctl -b)");
        console.log("Tear it down with: sudo npm run lab -- --teardown");
        // The kept daemons are this process's children: leave without waiting for them.
        process.exit(reports.every(fixturePassed) ? 0 : 1);
    }
    return reports.every(fixturePassed) ? 0 : 1;
}

main()
    .then((code) => {
        process.exitCode = code;
    })
    .catch((err) => {
        console.error(err);
        process.exitCode = 1;
    });
