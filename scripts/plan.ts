// npm run plan -- --help: the offline plan, the change review (--against) and the partner handoff
// sheet (--handoff). The work is in plan/; this file only hands it the command line.
import { runPlanCli } from "../plan/cli";

runPlanCli(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        process.stderr.write(`plan: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
        process.exitCode = 1;
    },
);
