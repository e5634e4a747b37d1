/**
 * The endpoint's operating system (`endpoint.os`, per partner `partners[].os`): which image the
 * instance boots and what the bootstrap must do for it. Pure data, no Pulumi.
 *
 * Debian 13 is the default because it is the OS the lab boots and provisions end to end (the
 * bootstrap over SSH+sudo against a local mirror, a real reboot); Debian 12 is booted in the lab
 * too; Ubuntu 24.04 is rendered and planned but never booted in the lab (no Ubuntu archive here).
 */

export type EndpointOs = "debian-13" | "debian-12" | "ubuntu-24.04";

export const ENDPOINT_OSES: readonly EndpointOs[] = ["debian-13", "debian-12", "ubuntu-24.04"];

export const DEFAULT_ENDPOINT_OS: EndpointOs = "debian-13";

export interface OsImage {
    /** The AWS account that publishes the official images. */
    readonly amiOwner: string;
    /** The newest image whose name matches this (amd64, HVM) is looked up once. */
    readonly amiNameFilter: string;
    /** The login user the official image creates for the EC2 key pair. */
    readonly sshUser: string;
    /** `/etc/os-release` ID and VERSION_ID: the bootstrap refuses to run on anything else. */
    readonly osReleaseId: string;
    readonly osReleaseVersion: string;
    /** Whether the lab boots this OS (debootstrap + systemd-nspawn). */
    readonly bootedInLab: boolean;
    /** The major version of the release's libreswan package (Debian 13: 5.2; Debian 12: 4.10;
     *  Ubuntu 24.04: 4.14): the Libreswan renderer writes only keywords that version reads. */
    readonly libreswanMajor: 4 | 5;
}

/** Debian's official cloud images are published by 136693071363, Canonical's by 099720109477. */
export const OS_IMAGES: Readonly<Record<EndpointOs, OsImage>> = {
    "debian-13": { amiOwner: "136693071363", amiNameFilter: "debian-13-amd64-*", sshUser: "admin", osReleaseId: "debian", osReleaseVersion: "13", bootedInLab: true, libreswanMajor: 5 },
    "debian-12": { amiOwner: "136693071363", amiNameFilter: "debian-12-amd64-*", sshUser: "admin", osReleaseId: "debian", osReleaseVersion: "12", bootedInLab: true, libreswanMajor: 4 },
    "ubuntu-24.04": { amiOwner: "099720109477", amiNameFilter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*", sshUser: "ubuntu", osReleaseId: "ubuntu", osReleaseVersion: "24.04", bootedInLab: false, libreswanMajor: 4 },
};
