/**
 * Kernel network objects for the lab: namespaces, veth pairs, bridges, addresses, sysctls.
 * Links are created directly inside lab namespaces (`ip -n NS link add ... peer ... netns OTHER`),
 * so no interface ever exists in the root namespace, not even for a moment.
 */
import { registerNamespace } from "./cleanup";
import { runSync } from "./exec";

/** argv that runs a command in a namespace (network only; the host's mounts). */
export function inNetns(ns: string, argv: readonly string[]): string[] {
    return ["ip", "netns", "exec", ns, ...argv];
}

/** `ip -n NS ...`, synchronously; throws with ip's message on failure. */
export function ipIn(ns: string, args: readonly string[]): string {
    return runSync(["ip", "-n", ns, ...args]);
}

export function sysctlIn(ns: string, key: string, value: string | number): void {
    runSync(inNetns(ns, ["sysctl", "-qw", `${key}=${value}`]));
}

/**
 * Creates a namespace with `lo` up and registers it for cleanup. Reverse-path filtering is off
 * (traffic leaves the libipsec TUN device with addresses no interface route explains) and ICMP
 * redirects are neither sent nor accepted: a redirect from the endpoint ("talk to the igw
 * directly") would be cached by an instance and silently bypass the endpoint afterwards.
 */
export function createNamespace(name: string, options: { forwarding?: boolean } = {}): void {
    registerNamespace(name); // refuses a name without a lab prefix
    runSync(["ip", "netns", "add", name]);
    ipIn(name, ["link", "set", "lo", "up"]);
    for (const scope of ["all", "default"]) {
        sysctlIn(name, `net.ipv4.conf.${scope}.rp_filter`, 0);
        sysctlIn(name, `net.ipv4.conf.${scope}.send_redirects`, 0);
        sysctlIn(name, `net.ipv4.conf.${scope}.accept_redirects`, 0);
    }
    sysctlIn(name, "net.ipv4.ip_forward", options.forwarding ? 1 : 0);
}

/** A bridge (a switch: no address, no filtering) inside a namespace. */
export function createBridge(ns: string, bridge: string): void {
    ipIn(ns, ["link", "add", bridge, "type", "bridge"]);
    ipIn(ns, ["link", "set", bridge, "up"]);
}

/**
 * Connects `node` to `bridge` in namespace `switchNs`: the node side is called `nodeIf`, the
 * switch side `portIf` (both at most 15 characters, unique in their namespace).
 */
export function connectToBridge(switchNs: string, bridge: string, portIf: string, nodeNs: string, nodeIf: string): void {
    for (const n of [portIf, nodeIf]) if (n.length > 15) throw new Error(`interface name ${n} longer than 15 characters`);
    ipIn(switchNs, ["link", "add", portIf, "type", "veth", "peer", "name", nodeIf, "netns", nodeNs]);
    ipIn(switchNs, ["link", "set", portIf, "master", bridge]);
    ipIn(switchNs, ["link", "set", portIf, "up"]);
    ipIn(nodeNs, ["link", "set", nodeIf, "up"]);
}

export function addAddress(ns: string, dev: string, cidr: string): void {
    ipIn(ns, ["addr", "add", cidr, "dev", dev]);
}

export function addRoute(ns: string, destination: string, via: string): void {
    ipIn(ns, ["route", "replace", destination, "via", via]);
}

/** A veth pair straight between two namespaces (no switch), each end up with its address. */
export function connectDirect(aNs: string, aIf: string, aCidr: string, bNs: string, bIf: string, bCidr: string): void {
    for (const n of [aIf, bIf]) if (n.length > 15) throw new Error(`interface name ${n} longer than 15 characters`);
    ipIn(aNs, ["link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", bNs]);
    for (const [ns, dev, cidr] of [[aNs, aIf, aCidr], [bNs, bIf, bCidr]]) {
        addAddress(ns, dev, cidr);
        ipIn(ns, ["link", "set", dev, "up"]);
    }
}
