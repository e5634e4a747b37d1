/**
 * Benchmark: how long the program takes to evaluate (what `pulumi preview` pays before talking to
 * AWS) as the number of partners grows. Synthetic partners use documentation addresses behind the
 * lab switch; nothing is contacted, the mocks stand in for AWS.
 */
import { generateKeyPairSync } from "crypto";
import { performance } from "perf_hooks";
import { evaluateProgram } from "../program/mocks";
import { secretConfigValues } from "../program/stackFile";

export interface EvaluationRow {
    readonly partners: number;
    readonly runs: number;
    readonly medianSeconds: number;
    readonly minSeconds: number;
    readonly maxSeconds: number;
    readonly resources: number;
}

/** A vpc-routing stack with `count` partners (at most 250: one /24 of endpoint addresses). */
export function syntheticStack(count: number, sshPrivateKey: string): Record<string, string> {
    if (!Number.isInteger(count) || count < 1 || count > 250) throw new Error(`partner count ${count} is not from 1 to 250`);
    const partners = Array.from({ length: count }, (_, i) => ({
        name: `partner${i + 1}`,
        privateIp: `10.20.0.${i + 4}`,
        gatewayIp: `198.51.100.${i + 1}`,
        remoteHosts: [`203.0.113.${i + 1}`],
        ike: { version: i % 2 === 0 ? 2 : 1 },
        inbound: [{ target: "10.30.0.10" }],
    }));
    const psks = Object.fromEntries(partners.map((p) => [p.name, `BenchKey${p.name}Zq8Wx3Lm5Np7`]));
    return {
        // The alarms' EC2 recover action names the region, as every stack file sets it.
        "aws:region": "eu-west-1",
        "partner-vpn:mode": "vpc-routing",
        "partner-vpn:allowDocumentationAddresses": "true",
        "partner-vpn:network": JSON.stringify({
            vpcId: "vpc-0a1b2c3d4e5f60718", subnetId: "subnet-0a1b2c3d4e5f60718", subnetCidr: "10.20.0.0/24",
            internalCidrs: ["10.20.0.0/24", "10.30.0.0/24"], routeTableIds: ["rtb-0a1b2c3d4e5f60718"],
        }),
        "partner-vpn:endpoint": JSON.stringify({ adminCidrs: ["10.20.0.0/24"] }),
        "partner-vpn:partners": JSON.stringify(partners),
        ...secretConfigValues({ psks, sshPrivateKey }),
    };
}

export function benchSshKey(): string {
    return generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs1", format: "pem" },
        publicKeyEncoding: { type: "pkcs1", format: "pem" },
    }).privateKey;
}

function median(values: number[]): number {
    const s = [...values].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export async function benchEvaluation(counts: readonly number[], runs: number, log: (line: string) => void = () => undefined): Promise<EvaluationRow[]> {
    const key = benchSshKey();
    // One untimed run first: module loading and JIT warm-up are not per-partner cost.
    await evaluateProgram(syntheticStack(1, key));
    const rows: EvaluationRow[] = [];
    for (const count of counts) {
        const config = syntheticStack(count, key);
        const times: number[] = [];
        let resources = 0;
        for (let run = 0; run < runs; run++) {
            const start = performance.now();
            const ev = await evaluateProgram(config);
            times.push((performance.now() - start) / 1000);
            resources = ev.resources.length;
        }
        const row = { partners: count, runs, medianSeconds: median(times), minSeconds: Math.min(...times), maxSeconds: Math.max(...times), resources };
        log(`evaluated ${count} partner(s) ${runs}x: median ${row.medianSeconds.toFixed(3)} s, ${resources} resources`);
        rows.push(row);
    }
    return rows;
}
