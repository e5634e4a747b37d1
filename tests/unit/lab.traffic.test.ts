/** How the lab judges a stream around a change: which requests count as "after the first answer". */
import { expect } from "chai";
import { requestsAfterFirstAnswer, secondsUntilFirstSuccess, type RequestRecord } from "../../lab/traffic";

/** [start, end, ok] in ms after the change (t0 = 0). */
const stream = (rows: ReadonlyArray<readonly [number, number, boolean]>): RequestRecord[] => rows.map(([start, end, ok], seq) => ({ seq, start, end, ok }));

describe("lab traffic: requests after the new host first answered", () => {
    const cases: ReadonlyArray<{ title: string; rows: ReadonlyArray<readonly [number, number, boolean]>; since?: number; after: number[]; failedAfter: number }> = [
        {
            title: "never answered: nothing counts as after",
            rows: [[0, 1000, false], [50, 1050, false]],
            after: [],
            failedAfter: 0,
        },
        {
            // The first success was a held SYN retried after 1 s; the requests sent meanwhile
            // timed out before their own retry: sent while the host was unreachable, not after.
            title: "a success that ended late: requests started before it ended do not count",
            rows: [[0, 1060, true], [50, 1050, false], [100, 1100, false], [1070, 1090, true]],
            after: [1070],
            failedAfter: 0,
        },
        {
            title: "a failure started after the first answer counts",
            rows: [[0, 20, true], [50, 1050, false], [100, 120, true]],
            after: [50, 100],
            failedAfter: 1,
        },
        {
            title: "answers before the change (since) are ignored",
            rows: [[-100, -80, true], [0, 1000, false], [1000, 1020, true], [1050, 2050, false]],
            since: 0,
            after: [1050],
            failedAfter: 1,
        },
    ];
    for (const c of cases) {
        it(c.title, () => {
            const after = requestsAfterFirstAnswer(stream(c.rows), c.since ?? 0);
            expect(after.map((r) => r.start)).to.deep.equal(c.after);
            expect(after.filter((r) => !r.ok)).to.have.length(c.failedAfter);
        });
    }

    it("measures the seconds until the new host answered from the same first answer", () => {
        expect(secondsUntilFirstSuccess(stream([[0, 1060, true], [50, 1050, false], [1070, 1090, true]]), 0)).to.equal(1.06);
        expect(secondsUntilFirstSuccess(stream([[-100, -80, true], [0, 1000, false], [1000, 1020, true]]), 0)).to.equal(1.02);
        expect(secondsUntilFirstSuccess(stream([[0, 1000, false]]), 0)).to.equal(undefined);
    });
});
