/**
 * The EC2 side of an active/standby pair in the lab's moto_server (lab/moto.ts): a VPC with two
 * subnets, the two members' interfaces, the tunnel EIP associated with the primary's, and a route
 * table whose partner routes point at it, as `pulumi up` leaves them. Then the pair's role with the
 * failover policy the program renders, assumed as the instance profile would be.
 *
 * One moto 5.1 behaviour the lab adapts to, and says so: moto evaluates every EC2 request against
 * the resource `*` (it does not know EC2's resource ARNs), so a statement scoped to ARNs would
 * never match. The policy is loaded with each statement's Resource widened to `*`: moto proves the
 * list of actions (a call outside it is refused), the unit tests prove the resources.
 */
import type { IamPolicyDocument } from "../core/render/monitoring";
import { AWS_ENV, chrootScript, LAB_REGION, type AdminKey, type RoleCredentials } from "./moto";

export interface PairWorld {
    readonly admin: AdminKey;
    readonly allocationId: string;
    readonly routeTableId: string;
    /** The primary's and the standby's interface: id and MAC. */
    readonly members: readonly { readonly eni: string; readonly mac: string; readonly privateIp: string }[];
}

/** The pair's EC2 resources; the first three calls create the lab admin (moto's unauthenticated ones). */
export async function setUpPairWorld(root: string, ns: string, privateIps: readonly [string, string], partnerHosts: readonly string[]): Promise<PairWorld> {
    const routes = partnerHosts.map((h) => `aws $E ec2 create-route --route-table-id "$rtb" --destination-cidr-block ${h} --network-interface-id "$eni0" >/dev/null`).join("\n");
    const script = `${AWS_ENV}
aws $E iam create-user --user-name lab-admin >/dev/null
read -r id secret < <(aws $E iam create-access-key --user-name lab-admin --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
aws $E iam put-user-policy --user-name lab-admin --policy-name lab-admin --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
export AWS_ACCESS_KEY_ID=$id AWS_SECRET_ACCESS_KEY=$secret
vpc=$(aws $E ec2 create-vpc --cidr-block 172.16.0.0/16 --query Vpc.VpcId --output text)
s0=$(aws $E ec2 create-subnet --vpc-id "$vpc" --cidr-block 172.16.0.0/24 --query Subnet.SubnetId --output text)
s1=$(aws $E ec2 create-subnet --vpc-id "$vpc" --cidr-block 172.16.1.0/24 --query Subnet.SubnetId --output text)
read -r eni0 mac0 < <(aws $E ec2 create-network-interface --subnet-id "$s0" --private-ip-address ${privateIps[0]} --query 'NetworkInterface.[NetworkInterfaceId,MacAddress]' --output text)
read -r eni1 mac1 < <(aws $E ec2 create-network-interface --subnet-id "$s1" --private-ip-address ${privateIps[1]} --query 'NetworkInterface.[NetworkInterfaceId,MacAddress]' --output text)
alloc=$(aws $E ec2 allocate-address --domain vpc --query AllocationId --output text)
aws $E ec2 associate-address --allocation-id "$alloc" --network-interface-id "$eni0" >/dev/null
rtb=$(aws $E ec2 create-route-table --vpc-id "$vpc" --query RouteTable.RouteTableId --output text)
${routes}
printf '%s\\n' "$id" "$secret" "$alloc" "$rtb" "$eni0" "$mac0" "$eni1" "$mac1"
`;
    const [id, secret, allocationId, routeTableId, eni0, mac0, eni1, mac1] = (await chrootScript(root, ns, script)).trim().split("\n");
    return {
        admin: { id, secret }, allocationId, routeTableId,
        members: [{ eni: eni0, mac: mac0, privateIp: privateIps[0] }, { eni: eni1, mac: mac1, privateIp: privateIps[1] }],
    };
}

/** The policy as moto can evaluate it: every Resource widened to `*` (see the header). */
export function failoverPolicyForMoto(policy: IamPolicyDocument): IamPolicyDocument {
    return { ...policy, Statement: policy.Statement.map((s) => ({ ...s, Resource: "*" })) };
}

/** The pair's role with `policy`, assumed: the credentials IMDS hands both members. */
export async function assumePairRole(root: string, ns: string, admin: AdminKey, policy: IamPolicyDocument, trust: IamPolicyDocument, role: string): Promise<RoleCredentials> {
    const script = `${AWS_ENV}
export AWS_ACCESS_KEY_ID=${admin.id} AWS_SECRET_ACCESS_KEY=${admin.secret}
aws $E iam create-role --role-name ${role} --assume-role-policy-document '${JSON.stringify(trust)}' >/dev/null
aws $E iam put-role-policy --role-name ${role} --policy-name failover --policy-document '${JSON.stringify(policy)}'
arn=$(aws $E iam get-role --role-name ${role} --query Role.Arn --output text)
aws $E sts assume-role --role-arn "$arn" --role-session-name i-0123456789abcdef1 --query Credentials --output json
`;
    const c = JSON.parse(await chrootScript(root, ns, script)) as Omit<RoleCredentials, "role">;
    return { role, ...c };
}

export interface PairState {
    /** The interface the tunnel EIP is associated with (none: unassociated). */
    readonly eipEni?: string;
    /** Per route destination, the interface it points at. */
    readonly routes: Readonly<Record<string, string>>;
}

/** What moto holds now, read with the admin key. */
export async function readPairState(root: string, ns: string, world: PairWorld): Promise<PairState> {
    const script = `${AWS_ENV}
export AWS_ACCESS_KEY_ID=${world.admin.id} AWS_SECRET_ACCESS_KEY=${world.admin.secret}
aws $E ec2 describe-addresses --allocation-ids ${world.allocationId} --query 'Addresses[0].NetworkInterfaceId' --output text
aws $E ec2 describe-route-tables --route-table-ids ${world.routeTableId} --query 'RouteTables[0].Routes[?NetworkInterfaceId].[DestinationCidrBlock,NetworkInterfaceId]' --output text
`;
    // The first line is the EIP's interface: "None", or empty when the EIP is on no interface
    // (the CLI prints nothing for the absent key), so only the trailing newline is trimmed.
    const [eip, ...routes] = (await chrootScript(root, ns, script)).replace(/\n$/, "").split("\n");
    return {
        eipEni: eip === "None" || eip.trim() === "" ? undefined : eip.trim(),
        routes: Object.fromEntries(routes.filter(Boolean).map((l) => l.split(/\s+/) as [string, string])),
    };
}

/** Moves the tunnel EIP with the admin key (what the other member's claim would do). */
export async function associateAsAdmin(root: string, ns: string, world: PairWorld, eni: string): Promise<void> {
    await chrootScript(root, ns, `${AWS_ENV}
export AWS_ACCESS_KEY_ID=${world.admin.id} AWS_SECRET_ACCESS_KEY=${world.admin.secret}
aws $E ec2 associate-address --allocation-id ${world.allocationId} --network-interface-id ${eni} --allow-reassociation >/dev/null
`);
}

/** Leaves the tunnel EIP on no interface, with the admin key (a failed claim, or a terminated holder). */
export async function disassociateAsAdmin(root: string, ns: string, world: PairWorld): Promise<void> {
    await chrootScript(root, ns, `${AWS_ENV}
export AWS_ACCESS_KEY_ID=${world.admin.id} AWS_SECRET_ACCESS_KEY=${world.admin.secret}
association=$(aws $E ec2 describe-addresses --allocation-ids ${world.allocationId} --query 'Addresses[0].AssociationId' --output text)
[ "$association" = None ] || aws $E ec2 disassociate-address --association-id "$association" >/dev/null
`);
}

export { LAB_REGION };
