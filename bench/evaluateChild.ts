/**
 * The evaluation benchmark's child process: `node [preloads] evaluateChild.(ts|js) COUNTS RUNS`
 * (COUNTS comma-separated) runs benchEvaluation in this fresh process and prints the rows as one
 * JSON line after ROWS_PREFIX on stdout. Progress goes to stderr. bench/programModes.ts starts it
 * the ways the program can be run (ts-node, precompiled with or without source maps).
 */
import { benchEvaluation } from "./evaluation";

export const ROWS_PREFIX = "PVPN-BENCH-ROWS ";

async function main(argv: readonly string[]): Promise<void> {
    const counts = (argv[0] ?? "").split(",").filter(Boolean).map(Number);
    const runs = Number(argv[1]);
    if (counts.length === 0 || counts.some((c) => !Number.isInteger(c)) || !Number.isInteger(runs) || runs < 1) {
        throw new Error(`usage: evaluateChild COUNTS RUNS (e.g. 1,10,100 5), got ${argv.join(" ")}`);
    }
    // Under mocks the runtime prints the program's warnings with console.warn; they are the same
    // every run (documentation addresses) and only clutter the progress.
    console.warn = () => undefined;
    const rows = await benchEvaluation(counts, runs, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(`${ROWS_PREFIX}${JSON.stringify(rows)}\n`);
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((err) => {
        process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
        process.exitCode = 1;
    });
}
