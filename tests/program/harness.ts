/**
 * Shared set-up for the mocked-program tests: stack files turned into runtime config with
 * recognisable secrets, evaluation through program/mocks.ts, and lookups on what was recorded.
 */
import { generateKeyPairSync } from "crypto";
import { readdirSync } from "fs";
import * as path from "path";
import { evaluateProgram, type Evaluation, type RecordedResource } from "../../program/mocks";
import { projectConfig, readStackFile, secretConfigValues } from "../../program/stackFile";

export const ROOT = path.join(__dirname, "..", "..");

/** Recognisable secrets: any occurrence outside a secret value is a leak. */
export const TEST_PSK_PREFIX = "LeakCanaryPsk";
export function testPsk(partner: string): string {
    return `${TEST_PSK_PREFIX}${partner.replace(/-/g, "")}x7Q2w9`.slice(0, 64);
}

let cachedKey: string | undefined;
/** A real RSA key, made once per run (never committed). */
export function testSshKey(): string {
    cachedKey ??= generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs1", format: "pem" },
        publicKeyEncoding: { type: "pkcs1", format: "pem" },
    }).privateKey;
    return cachedKey;
}

export function stackFiles(): string[] {
    return readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).sort();
}

export type Config = Record<string, string>;

/** Runtime config for a stack file, with a PSK for every partner and the SSH key. */
export function stackConfig(file: string): Config {
    const { values } = readStackFile(path.join(ROOT, file));
    return withSecrets(values);
}

export function withSecrets(values: Config): Config {
    const partners = (projectConfig(values).partners as { name: string }[] | undefined) ?? [];
    return {
        ...values,
        ...secretConfigValues({ psks: Object.fromEntries(partners.map((p) => [p.name, testPsk(p.name)])), sshPrivateKey: testSshKey() }),
    };
}

/** Edits the plain partner-vpn config of a runtime config map (JSON round trip). */
export function editConfig(config: Config, edit: (cfg: Record<string, unknown>) => void): Config {
    const cfg = projectConfig(config);
    edit(cfg);
    const out: Config = { ...config };
    for (const [k, v] of Object.entries(cfg)) out[`partner-vpn:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    return withSecrets(out);
}

export function evaluate(config: Config): Promise<Evaluation> {
    return evaluateProgram(config);
}

export function byType(ev: Evaluation, type: string): RecordedResource[] {
    return ev.resources.filter((r) => r.type === type);
}

export function one(ev: Evaluation, type: string, name: string): RecordedResource {
    const found = ev.resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
    return found[0];
}

export const T = {
    component: "partner-vpn:index:PartnerVpn",
    eip: "aws:ec2/eip:Eip",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    instance: "aws:ec2/instance:Instance",
    association: "aws:ec2/eipAssociation:EipAssociation",
    route: "aws:ec2/route:Route",
    command: "command:remote:Command",
} as const;

/** The files an apply script carries, decoded from its base64 here-documents, in order. */
export function embeddedFiles(script: string): string[] {
    const blocks = [...script.matchAll(/<<'PVPN_FILE_END'\n([\s\S]*?)\nPVPN_FILE_END/g)];
    return blocks.map((m) => Buffer.from(m[1].replace(/\n/g, ""), "base64").toString("utf8"));
}
