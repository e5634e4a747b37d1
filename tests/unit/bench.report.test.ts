/**
 * The bench table's verdicts for the lab's rollout part: the new host counts as answered only if
 * it then keeps answering (issue: one run in three answered once, then failed 13 times, and the
 * bench called it met).
 */
import { expect } from "chai";
import { labRows } from "../../bench/report";
import type { ChangeRun, LabBenchResult } from "../../bench/rollout";

function run(newHostFailedAfterFirstAnswer: number, repeat = 1): ChangeRun {
    return {
        way: "ours", repeat, requests: 280, failed: 0, rate: 20, secondsUntilNewHost: 1.2, newHostFailedAfterFirstAnswer,
        newHostFailureTimes: newHostFailedAfterFirstAnswer ? [3.1] : [], newHostPeers: { "192.0.2.23": 10 }, changeSeconds: 1,
    };
}

function lab(runs: ChangeRun[]): LabBenchResult {
    const none = { samples: [], median: null };
    return { fixture: "lab-vpc.yaml", partner: "bigcorp", natIp: "192.0.2.23", rate: 20, streamSeconds: 14, repeats: runs.length, runs, pushes: { unchanged: none, addHost: none, removeHost: none, sshOnly: none }, notes: [], seconds: 1 };
}

const newHostRow = (runs: ChangeRun[]) => labRows(lab(runs)).find((r) => /until the new host answers/.test(r.measure));

describe("bench report: the new host's verdict", () => {
    it("is met when every run's new host answered in time and never failed afterwards", () => {
        expect(newHostRow([run(0), run(0, 2), run(0, 3)])?.met).to.equal(true);
    });

    it("is NOT met when one run's new host failed after its first answer", () => {
        const row = newHostRow([run(0), run(13, 2), run(0, 3)]);
        expect(row?.met).to.equal(false);
        expect(row?.value).to.include("failed after its first answer: 0, 13, 0");
    });
});
