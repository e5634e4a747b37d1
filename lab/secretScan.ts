/**
 * Where a secret must not be: in any file a push wrote other than the PSK file itself (the
 * endpoint node's overlay upper layers and its /run), and in any process's argument list while or
 * after a push runs (/proc/<pid>/cmdline, every process on the machine). Findings never hold the
 * secret itself: only where it was seen.
 */
import * as fs from "fs";
import * as path from "path";

/** The strings to look for: the PSK and its base64 form (as swanctl's `0s` secrets carry it). */
export function secretNeedles(psk: string): string[] {
    return [psk, Buffer.from(psk, "utf8").toString("base64")];
}

const MAX_FILE_BYTES = 16 << 20;
const MAX_FILES = 50_000;

/** Regular files under `root` (no symlinks followed) whose content holds a needle. */
export function filesHolding(root: string, needles: readonly string[]): string[] {
    const found: string[] = [];
    let seen = 0;
    const walk = (dir: string, depth: number): void => {
        if (depth > 32) return;
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        for (const e of entries) {
            if (++seen > MAX_FILES) throw new Error(`more than ${MAX_FILES} files under ${root}: refusing an unbounded scan`);
            const full = path.join(dir, e.name);
            if (e.isDirectory()) walk(full, depth + 1);
            else if (e.isFile()) {
                try {
                    if (fs.statSync(full).size > MAX_FILE_BYTES) continue;
                    const content = fs.readFileSync(full, "latin1");
                    if (needles.some((n) => content.includes(n))) found.push(full);
                } catch {
                    // vanished while scanning
                }
            }
        }
    };
    walk(root, 0);
    return found;
}

export interface CmdlineHit {
    readonly pid: number;
    /** The program name only (argv[0]); never the argument that matched. */
    readonly program: string;
}

/** Samples every process's argument list, at an interval, for the needles. Bounded in samples. */
export class CmdlineWatch {
    readonly hits: CmdlineHit[] = [];
    sweeps = 0;
    processesSeen = 0;
    private timer?: NodeJS.Timeout;

    constructor(
        private readonly needles: readonly string[],
        private readonly maxSweeps = 20_000,
    ) {}

    /** One pass over /proc. */
    sweep(): void {
        if (this.sweeps >= this.maxSweeps) return this.stop(true);
        this.sweeps++;
        let pids: string[];
        try {
            pids = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p));
        } catch {
            return;
        }
        for (const pid of pids) {
            let cmdline: Buffer;
            try {
                cmdline = fs.readFileSync(`/proc/${pid}/cmdline`);
            } catch {
                continue;
            }
            this.processesSeen++;
            const text = cmdline.toString("latin1");
            if (this.needles.some((n) => text.includes(n))) {
                const program = text.split("\0")[0].slice(0, 80);
                if (!this.hits.some((h) => h.pid === Number(pid))) this.hits.push({ pid: Number(pid), program });
            }
        }
    }

    /** Pushes running now: partners' pushes run concurrently, each starts and stops the watch. */
    private running = 0;

    /** Sweeps every `intervalMs` until every push that started it has stopped it. */
    start(intervalMs = 20): void {
        this.running += 1;
        if (this.timer) return;
        this.timer = setInterval(() => this.sweep(), intervalMs);
    }

    /** One push done; the sweeping stops with the last one (`all`: at once, e.g. at the session's end). */
    stop(all = false): void {
        this.running = all ? 0 : Math.max(0, this.running - 1);
        if (this.running > 0) return;
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
    }
}
