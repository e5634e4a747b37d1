/**
 * A lab check's outcome: every measured value with the verdict on it, so the report prints what
 * was measured (not only pass/fail) and the tests assert each measurement.
 */

export interface Measure {
    readonly label: string;
    readonly value: string;
    readonly ok: boolean;
    /** Informational values (timings, counts) that carry no verdict. */
    readonly info?: boolean;
}

export type CheckStatus = "passed" | "failed" | "skipped";

export interface CheckResult {
    readonly id: string;
    readonly title: string;
    readonly status: CheckStatus;
    readonly measures: readonly Measure[];
    readonly details: readonly string[];
    readonly error?: string;
    readonly seconds: number;
    /** Why it was skipped. */
    readonly reason?: string;
}

export class Recorder {
    readonly measures: Measure[] = [];
    readonly details: string[] = [];

    /** A measured value and whether it is what the check requires. */
    measure(label: string, value: string | number | boolean, ok: boolean): boolean {
        this.measures.push({ label, value: String(value), ok });
        return ok;
    }

    /** A measured value without a verdict (context for the reader). */
    info(label: string, value: string | number | boolean): void {
        this.measures.push({ label, value: String(value), ok: true, info: true });
    }

    /** Asserts `actual` equals `expected` (compared as JSON) and records it. */
    equal(label: string, actual: unknown, expected: unknown): boolean {
        const ok = JSON.stringify(actual) === JSON.stringify(expected);
        const text = typeof actual === "string" ? actual : JSON.stringify(actual);
        return this.measure(label, ok ? text : `${text} (expected ${typeof expected === "string" ? expected : JSON.stringify(expected)})`, ok);
    }

    detail(line: string): void {
        this.details.push(line);
    }
}

export interface CheckDefinition<C> {
    readonly id: string;
    readonly title: string;
    /** Why the check does not apply to this context, or undefined when it does. */
    readonly skip?: (ctx: C) => string | undefined;
    /** How long the check may take when it needs more than a test's default (the lab tests' 180 s). */
    readonly timeoutMs?: number;
    readonly run: (ctx: C, rec: Recorder) => Promise<void>;
}

/** Runs one check; a thrown error fails it (with the measures taken so far) but never escapes. */
export async function runCheck<C>(def: CheckDefinition<C>, ctx: C): Promise<CheckResult> {
    const start = Date.now();
    const reason = def.skip?.(ctx);
    if (reason) return { id: def.id, title: def.title, status: "skipped", measures: [], details: [], seconds: 0, reason };
    const rec = new Recorder();
    let error: string | undefined;
    try {
        await def.run(ctx, rec);
    } catch (err) {
        error = err instanceof Error ? err.message : String(err);
    }
    const failed = error !== undefined || rec.measures.some((m) => !m.ok) || rec.measures.length === 0;
    return {
        id: def.id,
        title: def.title,
        status: failed ? "failed" : "passed",
        measures: rec.measures,
        details: rec.details,
        error: error ?? (rec.measures.length === 0 ? "the check measured nothing" : undefined),
        seconds: (Date.now() - start) / 1000,
    };
}
