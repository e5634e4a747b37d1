/**
 * Which input changes make Pulumi replace a resource rather than update it, for the resource types
 * the program creates. From the providers' schemas (the AWS provider's ForceNew arguments;
 * pulumi-command replaces a command when its `triggers` change). A path matches itself and
 * everything below it (`rootBlockDevice.encrypted` but not `rootBlockDevice.volumeSize`).
 */

export const REPLACE_ON: Readonly<Record<string, readonly string[]>> = {
    "aws:ec2/instance:Instance": [
        "ami", "associatePublicIpAddress", "availabilityZone", "cpuOptions", "ebsBlockDevices", "enclaveOptions",
        "ephemeralBlockDevices", "hibernation", "ipv6AddressCount", "ipv6Addresses", "keyName", "launchTemplate",
        "networkInterfaces", "placementGroup", "privateIp", "rootBlockDevice.encrypted", "rootBlockDevice.kmsKeyId",
        "securityGroups", "subnetId",
    ],
    "aws:ec2/route:Route": ["routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"],
    "aws:ec2/securityGroup:SecurityGroup": ["name", "namePrefix", "description", "vpcId"],
    "aws:ec2/eip:Eip": ["domain", "address", "customerOwnedIpv4Pool", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool"],
    "aws:ec2/eipAssociation:EipAssociation": ["allocationId", "instanceId", "networkInterfaceId", "privateIpAddress", "publicIp", "allowReassociation"],
    "command:remote:Command": ["triggers"],
};

/** What a change of a property means in practice, where that is more than the new value. */
const CHANGE_NOTES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
    "aws:ec2/instance:Instance": {
        instanceType: "in place, but AWS stops and starts the instance: the partner's tunnels drop until it is back",
    },
    "command:remote:Command": {
        triggers: "triggers hold the instance id and content hashes of what the command pushes: see the file diffs",
    },
};

function under(path: string, rule: string): boolean {
    return path === rule || path.startsWith(`${rule}.`) || path.startsWith(`${rule}[`);
}

export function forcesReplacement(type: string, path: string): boolean {
    return (REPLACE_ON[type] ?? []).some((rule) => under(path, rule));
}

/** The resource's own `replaceOnChanges` paths; `tags["a:b"]` is the flattened path `tags.a:b`. */
export function replacesOnChange(rules: readonly string[], path: string): boolean {
    return rules.some((rule) => under(path, rule.replace(/\["([^"]+)"\]/g, ".$1")));
}

export function isIgnored(ignoreChanges: readonly string[], path: string): boolean {
    return ignoreChanges.some((rule) => under(path, rule));
}

export function changeNote(type: string, path: string): string | undefined {
    const notes = CHANGE_NOTES[type] ?? {};
    const key = Object.keys(notes).find((rule) => under(path, rule));
    return key ? notes[key] : undefined;
}

/** What replacing a resource means in practice, beyond "delete and create". */
export function replacementNote(type: string, deleteBeforeReplace: boolean): string | undefined {
    if (type === "aws:ec2/instance:Instance") {
        return deleteBeforeReplace
            ? "deleteBeforeReplace: the old endpoint is terminated first (its private IP is fixed); the partner's tunnels are down until the new one is bootstrapped and applied"
            : "the new endpoint is created before the old one is terminated";
    }
    if (type === "command:remote:Command") return "the command runs again on the endpoint: the new create, then the old delete";
    if (type === "aws:ec2/eip:Eip") return "a new Elastic IP means a new address the partner must whitelist";
    return deleteBeforeReplace ? "deleteBeforeReplace: the old one is deleted first" : undefined;
}

/** What an in-place update means in practice, where it is more than new values in state. */
export function updateNote(type: string): string | undefined {
    if (type === "command:remote:Command") return "an update runs create again: the command has no update script";
    return undefined;
}
