/**
 * The lab's AWS API: Debian 13's moto_server (python3-moto, a widely used AWS implementation) in a
 * cached trixie chroot, started inside a lab namespace on that namespace's loopback. It checks
 * SigV4 and, after INITIAL_NO_AUTH_ACTION_COUNT unauthenticated calls, every caller's IAM policy.
 *
 * The setup creates a lab admin (the three unauthenticated calls), then with the admin the
 * endpoint's role carrying the policy the program renders, and assumes it: the temporary
 * credentials are what the lab's IMDS hands the endpoint, as EC2 does from an instance profile.
 *
 * Two moto 5.1 behaviours the lab adapts to, and says so in the check's report:
 * - moto names the IAM action after the SigV4 signing name (`monitoring:PutMetricData`), AWS after
 *   the IAM service prefix (`cloudwatch:PutMetricData`): the policy is loaded with that prefix
 *   translated, everything else unchanged;
 * - moto ignores IAM `Condition` blocks: the namespace condition is asserted by the unit tests.
 * Credentials travel only on stdin and in memory, never in a command line.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { IamPolicyDocument } from "../core/render/monitoring";
import { run, runOk, spawnLongRunning, waitFor, type LongRunning } from "./exec";
import { inNetns } from "./netns";

export const MOTO_ROOT = path.join(os.tmpdir(), "partner-vpn-moto-trixie");
const READY_MARK = ".partner-vpn-moto-ready";
const PACKAGES = ["python3-moto", "python3-flask", "python3-flask-cors", "awscli", "ca-certificates"];
const MIRROR = "http://deb.debian.org/debian";
export const MOTO_PORT = 5000;
export const LAB_REGION = "eu-west-1";

/** The cached chroot, built once (debootstrap + apt-get in it, a few minutes). */
export async function ensureMotoRoot(root = MOTO_ROOT): Promise<{ root: string } | { problem: string }> {
    if (fs.existsSync(path.join(root, READY_MARK))) return { root };
    if ((await run(["sh", "-c", "command -v debootstrap"])).code !== 0) return { problem: "debootstrap not found (apt-get install debootstrap)" };
    const partial = `${root}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    // --include cannot resolve virtual packages (python3-cryptography needs python3-cffi-backend-api-*):
    // a minimal base first, then apt-get inside it.
    const boot = await run(["debootstrap", "--variant=minbase", "trixie", partial, MIRROR], { timeoutMs: 900_000 });
    if (boot.code !== 0) return { problem: `debootstrap trixie failed: ${(boot.stderr || boot.stdout).trim().split("\n").slice(-3).join(" ")}` };
    const apt = await run(["chroot", partial, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends", ...PACKAGES], { timeoutMs: 900_000 });
    if (apt.code !== 0) return { problem: `apt-get install in the trixie chroot failed: ${(apt.stderr || apt.stdout).trim().split("\n").slice(-3).join(" ")}` };
    await runOk(["chroot", partial, "apt-get", "clean"]);
    fs.writeFileSync(path.join(partial, READY_MARK), `${PACKAGES.join(" ")}\n`);
    fs.rmSync(root, { recursive: true, force: true });
    fs.renameSync(partial, root);
    return { root };
}

/** argv that runs `command` in the chroot, inside the namespace, with its own /proc. */
function inChroot(root: string, ns: string, command: string): string[] {
    return inNetns(ns, ["unshare", "--mount", "--propagation", "private", "sh", "-c", `mount -t proc proc ${root}/proc && exec chroot ${root} ${command}`]);
}

export interface Moto {
    readonly url: string;
    readonly process: LongRunning;
    readonly version: string;
}

/** `host`: where it listens (default the namespace's loopback; a pair's lab serves two members). */
export async function startMoto(root: string, ns: string, initialNoAuthActions: number, host = "127.0.0.1"): Promise<Moto> {
    const proc = spawnLongRunning(inChroot(root, ns, `env INITIAL_NO_AUTH_ACTION_COUNT=${initialNoAuthActions} moto_server -H ${host} -p ${MOTO_PORT}`));
    // Readiness by the listening socket: an HTTP request would spend one of the unauthenticated calls.
    await waitFor("moto_server listening", async () => {
        if (proc.child.exitCode !== null) throw new Error(`moto_server exited: ${proc.output().slice(-1000)}`);
        const r = await run(inNetns(ns, ["ss", "-Htln", `sport = :${MOTO_PORT}`]));
        return r.stdout.includes(`:${MOTO_PORT}`) ? true : undefined;
    }, 60_000, 250);
    const version = (await run(["chroot", root, "dpkg-query", "-W", "-f", "${Version}", "python3-moto"])).stdout.trim();
    return { url: `http://127.0.0.1:${MOTO_PORT}/`, process: proc, version };
}

/** Temporary credentials of the assumed endpoint role, as IMDS serves them. */
export interface RoleCredentials {
    readonly role: string;
    readonly AccessKeyId: string;
    readonly SecretAccessKey: string;
    readonly SessionToken: string;
    readonly Expiration: string;
}

export interface AdminKey {
    readonly id: string;
    readonly secret: string;
}

/** The policy as moto evaluates actions: the IAM prefix `cloudwatch:` becomes the signing name `monitoring:`. */
export function policyForMoto(policy: IamPolicyDocument): IamPolicyDocument {
    const translate = (a: string) => a.replace(/^cloudwatch:/, "monitoring:");
    return {
        ...policy,
        Statement: policy.Statement.map((s) => ({ ...s, Action: typeof s.Action === "string" ? translate(s.Action) : s.Action.map(translate) })),
    };
}

/** Runs a bash script in the chroot with the script (and any credential in it) on stdin. */
export async function chrootScript(root: string, ns: string, script: string): Promise<string> {
    const r = await run(inChroot(root, ns, "bash -s"), { input: script, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`script in the moto chroot failed (exit ${r.code}): ${r.stderr.slice(-1500)}`);
    return r.stdout;
}

export const AWS_ENV = `set -euo pipefail\nexport AWS_DEFAULT_REGION=${LAB_REGION} AWS_PAGER="" AWS_ACCESS_KEY_ID=lab AWS_SECRET_ACCESS_KEY=lab\nE="--endpoint-url http://127.0.0.1:${MOTO_PORT}"\n`;

/** Admin (3 unauthenticated calls), the endpoint role with `policy`, and its assumed credentials. */
export async function setUpEndpointRole(root: string, ns: string, policy: IamPolicyDocument, trust: IamPolicyDocument, role: string): Promise<{ admin: AdminKey; creds: RoleCredentials }> {
    const script = `${AWS_ENV}
aws $E iam create-user --user-name lab-admin >/dev/null
read -r id secret < <(aws $E iam create-access-key --user-name lab-admin --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
aws $E iam put-user-policy --user-name lab-admin --policy-name lab-admin --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
export AWS_ACCESS_KEY_ID=$id AWS_SECRET_ACCESS_KEY=$secret
aws $E iam create-role --role-name ${role} --assume-role-policy-document '${JSON.stringify(trust)}' >/dev/null
aws $E iam put-role-policy --role-name ${role} --policy-name publish-metrics --policy-document '${JSON.stringify(policy)}'
arn=$(aws $E iam get-role --role-name ${role} --query Role.Arn --output text)
printf '%s %s\\n' "$id" "$secret"
aws $E sts assume-role --role-arn "$arn" --role-session-name i-0123456789abcdef0 --query Credentials --output json
`;
    const out = await chrootScript(root, ns, script);
    const newline = out.indexOf("\n");
    const [id, secret] = out.slice(0, newline).split(" ");
    const c = JSON.parse(out.slice(newline + 1)) as Omit<RoleCredentials, "role">;
    return { admin: { id, secret }, creds: { role, ...c } };
}

export interface Datapoint {
    readonly minimum: number;
    readonly maximum: number;
    readonly timestamp: string;
}

/**
 * Per query (metric name and dimensions), the data points moto holds between `since` and now,
 * read with the admin key (boto3 from the chroot; one process for all queries).
 */
export async function readMetrics(root: string, ns: string, admin: AdminKey, since: Date, period: number, queries: readonly { metric: string; dimensions: Record<string, string> }[]): Promise<Datapoint[][]> {
    const request = JSON.stringify({ admin, since: since.toISOString(), period, queries, url: `http://127.0.0.1:${MOTO_PORT}`, region: LAB_REGION });
    const script = `python3 - <<'PY'
import datetime, json, boto3
req = json.loads(${JSON.stringify(request)})
cw = boto3.client("cloudwatch", endpoint_url=req["url"], region_name=req["region"],
                  aws_access_key_id=req["admin"]["id"], aws_secret_access_key=req["admin"]["secret"])
since = datetime.datetime.fromisoformat(req["since"].replace("Z", "+00:00"))
now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
out = []
for q in req["queries"]:
    dims = [{"Name": k, "Value": v} for k, v in q["dimensions"].items()]
    r = cw.get_metric_statistics(Namespace="PartnerVpn", MetricName=q["metric"], Dimensions=dims, StartTime=since, EndTime=now,
                                 Period=req["period"], Statistics=["Minimum", "Maximum"])
    out.append(sorted([{"minimum": p["Minimum"], "maximum": p["Maximum"], "timestamp": p["Timestamp"].isoformat()} for p in r["Datapoints"]], key=lambda p: p["timestamp"]))
print(json.dumps(out))
PY
`;
    return JSON.parse(await chrootScript(root, ns, script)) as Datapoint[][];
}
