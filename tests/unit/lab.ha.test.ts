/** How the HA lab checks read a pair's timeline: EIP moves by moto's samples, and outage length by a stream. */
import { expect } from "chai";
import { eipAt, eipMoves, recoverySeconds } from "../../lab/pairTimeline";
import type { RequestRecord } from "../../lab/traffic";

/** Follower samples: [ms, eni]. */
const samples = (rows: ReadonlyArray<readonly [number, string]>) => rows.map(([at, eip]) => ({ at, eip, routes: "" }));
const stream = (rows: ReadonlyArray<readonly [number, number, boolean]>): RequestRecord[] => rows.map(([start, end, ok], seq) => ({ seq, start, end, ok }));

describe("lab HA timeline: EIP moves in moto", () => {
    const cases: ReadonlyArray<{ title: string; rows: ReadonlyArray<readonly [number, string]>; from: number; to: number; moves: number[] }> = [
        { title: "the first sample is where it was, not a move", rows: [[0, "eni-a"]], from: 0, to: 100, moves: [] },
        { title: "a route-only change (same EIP interface) is not a move", rows: [[0, "eni-a"], [10, "eni-a"]], from: 0, to: 100, moves: [] },
        { title: "a ping-pong counts every move", rows: [[0, "eni-a"], [10, "eni-b"], [20, "eni-a"], [30, "eni-b"]], from: 0, to: 100, moves: [10, 20, 30] },
        { title: "only moves inside the window count", rows: [[0, "eni-a"], [10, "eni-b"], [50, "eni-a"]], from: 20, to: 100, moves: [50] },
        { title: "unassociated counts as a move, and so does coming back", rows: [[0, "eni-a"], [10, ""], [20, "eni-a"]], from: 0, to: 100, moves: [10, 20] },
        { title: "samples arrive out of order", rows: [[20, "eni-a"], [0, "eni-a"], [10, "eni-b"]], from: 0, to: 100, moves: [10, 20] },
    ];
    for (const c of cases) {
        it(c.title, () => {
            expect(eipMoves(samples(c.rows), c.from, c.to).map((m) => m.at)).to.deep.equal(c.moves);
        });
    }

    it("eipAt: the last sample at or before the moment", () => {
        const s = samples([[10, "eni-b"], [0, "eni-a"]]);
        expect(eipAt(s, -1)).to.equal(undefined);
        expect(eipAt(s, 5)).to.equal("eni-a");
        expect(eipAt(s, 10)).to.equal("eni-b");
    });
});

describe("lab HA timeline: seconds until traffic flows again", () => {
    it("from the event to the first success after the first failure", () => {
        // In flight at the kill (start -50) completes; the outage starts with the request at +100.
        const r = stream([[-50, 20, true], [100, 1100, false], [150, 1150, false], [4000, 4020, true]]);
        expect(recoverySeconds(r, 0)).to.be.closeTo(4.02, 1e-9);
    });
    it("a success that was in flight before the first failure does not end the outage", () => {
        const r = stream([[0, 3000, true], [100, 1100, false], [3500, 3600, true]]);
        expect(recoverySeconds(r, 0)).to.be.closeTo(3.6, 1e-9);
    });
    it("no failure after the event: 0; never recovered: undefined", () => {
        expect(recoverySeconds(stream([[0, 10, true], [-500, 500, false]]), 0)).to.equal(0);
        expect(recoverySeconds(stream([[100, 1100, false], [200, 1200, false]]), 0)).to.equal(undefined);
    });
});
